import { runSweep, type SweepSummary } from '../../simulator/sweep';

/** Heights per sweep run: short runs, many of them. */
export const SWEEP_ROUNDS = 10;
/** Wall time one half of the sweep may take on a slow CI core. */
export const SWEEP_TIMEOUT_MS = 300_000;

/**
 * Runs seeds [first, first + runs) and checks SPEC §6 over them: zero safety
 * violations, every fault-free run at its target, and no stall except where
 * an equivocating node may cause one (round change, SPEC §2.8, is a later
 * issue). On failure the message lists each failing seed with its replay.
 */
export async function expectSweepHolds(first: number, runs: number): Promise<SweepSummary> {
  const summary = await runSweep(first, runs, SWEEP_ROUNDS);
  const failures = summary.results
    .filter((run) => run.violations.length > 0 || (run.stalled && !run.mayStall) || (run.faultFree && !run.reachedTarget))
    .map((run) => `seed ${run.seed}: ${run.violations[0]?.detail ?? run.stallReason} — ${run.replay}`);
  expect(failures).toEqual([]);
  expect(summary.violations).toBe(0);
  expect(summary.unexpectedStalls).toBe(0);
  expect(summary.faultFreeReached).toBe(summary.faultFreeRuns);
  return summary;
}
