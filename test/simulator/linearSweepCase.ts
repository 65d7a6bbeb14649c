import { BEHAVIOUR_OPTIONS } from '../../simulator/byzantine';
import { runSweep, sweepPlan, SWEEP_SIZES } from '../../simulator/sweep';
import { SWEEP_ROUNDS } from './sweepCase';

/**
 * Seeds of the ordinary sweep plan (`sweepPlan`), run with linear messaging.
 * The plan gives seed s the size SWEEP_SIZES[(s − 1) mod 10] and, by blocks
 * of ten seeds, one behaviour after another (block 9 without Byzantine
 * nodes): one seed per size across the blocks, and sizes 4, 7 and 10 (f ≥ 1)
 * in every block that has Byzantine nodes, so every behaviour is faced.
 */
const ONE_PER_SIZE = SWEEP_SIZES.map((_, block) => block * 10 + block + 1);
const BYZANTINE_BLOCKS = [0, 1, 2, 3, 4, 5, 6, 7, 8];
const FAULTY_SIZES = BYZANTINE_BLOCKS.flatMap((block) => [4, 7, 10].map((size) => block * 10 + size));
export const LINEAR_SWEEP_SEEDS = [...new Set([...ONE_PER_SIZE, ...FAULTY_SIZES])].sort((a, b) => a - b);

/** The seeds' plans face every size, every behaviour, and each kind of fault (checked before running any). */
export function expectLinearSeedsCoverThePlan(): void {
  const plans = LINEAR_SWEEP_SEEDS.map((seed) => sweepPlan(seed, SWEEP_ROUNDS));
  expect(new Set(plans.map((plan) => plan.nodes))).toEqual(new Set(SWEEP_SIZES));
  expect(new Set(plans.filter((plan) => plan.byzantine! > 0).map((plan) => plan.behaviour))).toEqual(new Set(BEHAVIOUR_OPTIONS));
  expect(plans.some((plan) => plan.partitions!.length > 0)).toBe(true);
  expect(plans.some((plan) => plan.crashes!.some((crash) => crash.restartAt !== null))).toBe(true);
  expect(plans.some((plan) => plan.dropRate! > 0)).toBe(true);
}

/** Runs `seeds` with linear messaging: no safety violation, logs matching, every run at its target. */
export async function expectLinearSweepHolds(seeds: readonly number[]): Promise<void> {
  const results = [];
  for (const seed of seeds) {
    const summary = await runSweep(seed, 1, SWEEP_ROUNDS, { overrides: { messaging: 'linear' } });
    results.push(...summary.results);
  }
  const failures = results
    .filter((run) => run.violations.length > 0 || !run.reachedTarget)
    .map((run) => `seed ${run.seed}: ${run.violations[0]?.detail ?? run.stallReason} — ${run.replay}`);
  expect(failures).toEqual([]);
  expect(results.every((run) => run.replay.includes('--messaging linear'))).toBe(true);
  // Log matching checked every honest node's certificates, and round change was needed and worked.
  expect(results.reduce((sum, run) => sum + run.logMatching.certificatesVerified, 0)).toBeGreaterThan(0);
  expect(results.some((run) => Object.keys(run.attempts.perRank).some((needed) => Number(needed) > 1))).toBe(true);
  console.log(`linear sweep: ${results.length} seeds (${seeds.join(', ')}), ${results.reduce((sum, run) => sum + run.attempts.committed, 0)} ranks committed`);
}
