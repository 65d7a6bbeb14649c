import { electionSweepPlan, formatLeaderDistribution, runElectionSweep, type ElectionSweepSummary } from '../../simulator/electionSweep';

/** Wall time one half of the election sweep may take on a slow CI core (it takes about 20 s). */
export const ELECTION_SWEEP_TIMEOUT_MS = 300_000;

/**
 * Runs election-sweep seeds [first, first + runs) and checks SPEC §3 over
 * them: no election-safety or vote-fencing violation (nor any other), and
 * after ≥ 99 % of heals every connected honest node follows one leader within
 * 2 × the maximum election timeout. Prints the heal, failover and restart
 * distributions. On failure the message lists each failing seed with its replay.
 */
export async function expectElectionSweepHolds(first: number, runs: number): Promise<ElectionSweepSummary> {
  const summary = await runElectionSweep(first, runs);
  const { boundMs } = summary;
  process.stdout.write(
    [
      `election sweep, seeds ${first}–${first + runs - 1} (${runs} runs, ${(summary.wallMs / 1000).toFixed(1)} s wall):`,
      formatLeaderDistribution('  heal → one leader', summary.heals, boundMs),
      formatLeaderDistribution('  leader crash → new leader', summary.failovers, boundMs),
      formatLeaderDistribution('  restart → one leader', summary.restarts, boundMs),
    ].join('\n') + '\n',
  );
  const violations = summary.results
    .filter((run) => run.violations.length > 0)
    .map((run) => `seed ${run.seed}: ${run.violations[0].kind}: ${run.violations[0].detail} — ${run.replay}`);
  expect(violations).toEqual([]);
  expect(summary.violations).toBe(0);

  // Each partition heals once, and the plans space faults a bound apart, so every heal window is measured to its end.
  const planned = Array.from({ length: runs }, (_, i) => electionSweepPlan(first + i).partitions!.length).reduce((a, b) => a + b, 0);
  expect(summary.heals.counted + summary.heals.noQuorum).toBe(planned);
  expect(summary.heals.cutShort).toBe(0);
  const slow = summary.results.flatMap((run) =>
    run.windows
      .filter((window) => window.kind === 'heal' && window.quorum && !window.withinBound)
      .map((window) => `  seed ${run.seed}: heal at ${window.at} ms took ${window.ms ?? 'ever'} ms — ${run.replay}\n`),
  );
  if (slow.length > 0) process.stdout.write(`heals over the bound:\n${slow.join('')}`);
  expect(summary.heals.withinBound).toBeGreaterThanOrEqual(Math.ceil(0.99 * summary.heals.counted));
  return summary;
}
