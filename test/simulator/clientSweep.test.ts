import { runSimulation, type SimulationReport } from '../../simulator/runSimulation';
import { sweepPlan } from '../../simulator/sweep';
import { SWEEP_ROUNDS, SWEEP_TIMEOUT_MS } from './sweepCase';

/**
 * The sweep's shapes (1 to 10 nodes, every Byzantine behaviour, partitions,
 * crash-restarts, loss) with clients: every honest node keeps 1 to 6 of its
 * own entries proposed through `engine.propose`, forwarded to every member,
 * batched into frames, and each outcome checked against the log (a
 * `committed` whose log entry does not carry the payload is a violation).
 */
describe('seeded sweep with clients proposing, seeds 1–20', () => {
  it(
    'keeps every safety property, reaches every target, and commits the clients\' proposals',
    async () => {
      const reports: SimulationReport[] = [];
      for (let seed = 1; seed <= 20; seed += 1) reports.push(await runSimulation({ ...sweepPlan(seed, SWEEP_ROUNDS), clients: 1 + (seed % 6) }));
      const failures = reports
        .filter((run) => run.violations.length > 0 || !run.reachedTarget)
        .map((run) => `seed ${run.seed}: ${run.violations[0]?.detail ?? run.stallReason} — ${run.replay}`);
      expect(failures).toEqual([]);
      const committed = reports.reduce((sum, run) => sum + (run.proposals?.committed ?? 0), 0);
      // Each run commits at least its target's worth of heights, most of them carrying client entries.
      expect(committed).toBeGreaterThan(20 * SWEEP_ROUNDS);
      expect(reports.every((run) => run.proposals !== undefined && run.proposals.aborted === 0)).toBe(true);
    },
    SWEEP_TIMEOUT_MS,
  );

  it(
    'a node an attempt ahead of the others at the capped timeout waits once and joins their vote (seed 27, 4 clients)',
    async () => {
      // Without the wait, height 2 went through attempts for 9 s: n0 left each attempt as the others arrived in it.
      const report = await runSimulation({ ...sweepPlan(27, SWEEP_ROUNDS), clients: 4 });
      expect(report.violations).toEqual([]);
      expect(report.stalled).toBe(false);
      expect(report.reachedTarget).toBe(true);
    },
    SWEEP_TIMEOUT_MS,
  );
});
