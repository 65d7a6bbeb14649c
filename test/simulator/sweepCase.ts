import { attemptHistogram, sweepReport } from '../../cli/render';
import { BEHAVIOUR_OPTIONS } from '../../simulator/byzantine';
import { runSweep, type SweepSummary } from '../../simulator/sweep';

/** Heights per sweep run: short runs, many of them. */
export const SWEEP_ROUNDS = 10;
/** Seeds per sweep file; the files split the sweep so jest can run them in parallel. */
export const SWEEP_RUNS = 100;
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
  // Every behaviour was faced by some run of this file (the plan cycles them by seed).
  const faced = new Set(summary.results.filter((run) => run.byzantine > 0).map((run) => run.behaviour));
  expect([...faced].sort()).toEqual([...BEHAVIOUR_OPTIONS].sort());
  // The distribution covers every rank an honest node committed, and round change was needed and worked.
  const committed = summary.results.reduce((sum, run) => sum + run.attempts.committed, 0);
  expect(Object.values(summary.attemptsPerRank).reduce((a, b) => a + b, 0)).toBe(committed);
  expect(committed).toBeGreaterThanOrEqual(SWEEP_RUNS * SWEEP_ROUNDS);
  expect(ranksNeedingRoundChange(summary)).toBeGreaterThan(0);
  return summary;
}
