import { attemptHistogram, sweepReport } from '../../cli/render';
import { runSweep, sweepPlan, type SweepSummary } from '../../simulator/sweep';

/** Heights per sweep run: short runs, many of them. */
export const SWEEP_ROUNDS = 10;
/** Seeds per sweep file; the files split the sweep so jest can run them in parallel. */
export const SWEEP_RUNS = 30;
/** Wall time one sweep file may take on a slow CI core. */
export const SWEEP_TIMEOUT_MS = 300_000;

/** Ranks committed in a later attempt than the first, over every run of the sweep. */
export function ranksNeedingRoundChange(summary: SweepSummary): number {
  return Object.entries(summary.attemptsPerRank)
    .filter(([needed]) => Number(needed) > 1)
    .reduce((sum, [, ranks]) => sum + ranks, 0);
}

/**
 * Runs seeds [first, first + SWEEP_RUNS) and checks SPEC §6 over them: zero
 * safety violations and every run at its target, whatever its Byzantine
 * nodes do (round change, SPEC §2.8, gets past every behaviour). Prints the
 * sweep's summary line, attempts per rank included; on failure the message
 * lists each failing seed with its replay command.
 */
export async function expectSweepHolds(first: number): Promise<SweepSummary> {
  const summary = await runSweep(first, SWEEP_RUNS, SWEEP_ROUNDS);
  console.log(
    `sweep seeds ${first}–${first + SWEEP_RUNS - 1}: attempts per rank ${attemptHistogram(summary.attemptsPerRank)} ` +
      `(${ranksNeedingRoundChange(summary)} ranks needed round change)\n${sweepReport(summary)}`,
  );
  const failures = summary.results
    .filter((run) => run.violations.length > 0 || !run.reachedTarget)
    .map((run) => `seed ${run.seed}: ${run.violations[0]?.detail ?? run.stallReason} — ${run.replay}`);
  expect(failures).toEqual([]);
  expect(summary.runs).toBe(SWEEP_RUNS);
  expect(summary.violations).toBe(0);
  expect(summary.stalls).toBe(0);
  expect(summary.reachedTarget).toBe(SWEEP_RUNS);
  // Every behaviour the plan gives these seeds was faced (the plan test checks that every hundred seeds give them all).
  const faced = new Set(summary.results.filter((run) => run.byzantine > 0).map((run) => run.behaviour));
  const planned = new Set(
    summary.results.map((run) => sweepPlan(run.seed, SWEEP_ROUNDS)).filter((plan) => plan.byzantine! > 0).map((plan) => plan.behaviour),
  );
  expect([...faced].sort()).toEqual([...planned].sort());
  expect(faced.size).toBeGreaterThanOrEqual(2);
  // The distribution covers every rank an honest node committed, and round change was needed and worked.
  const committed = summary.results.reduce((sum, run) => sum + run.attempts.committed, 0);
  expect(Object.values(summary.attemptsPerRank).reduce((a, b) => a + b, 0)).toBe(committed);
  expect(committed).toBeGreaterThanOrEqual(SWEEP_RUNS * SWEEP_ROUNDS);
  expect(ranksNeedingRoundChange(summary)).toBeGreaterThan(0);
  return summary;
}
