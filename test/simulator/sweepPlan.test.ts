import { sweepPlan, SWEEP_SIZES } from '../../simulator/sweep';
import { BEHAVIOUR_OPTIONS } from '../../simulator/byzantine';
import { faultTolerance } from '../../examples/ledger/rules';
import { SWEEP_ROUNDS, SWEEP_RUNS } from './sweepCase';

/** The seeds of each sweep file: 1–100, 101–200, 201–300. */
const FILES = [1, 101, 201].map((first) => Array.from({ length: SWEEP_RUNS }, (_, i) => sweepPlan(first + i, SWEEP_ROUNDS)));
const plans = FILES.flat();
type Plan = (typeof plans)[number];
const count = (list: Plan[], keep: (plan: Plan) => boolean) => list.filter(keep).length;

describe('the sweep covers every size, behaviour and fault mix', () => {
  it('draws the same plan from the same seed', () => {
    expect(sweepPlan(77, 10)).toEqual(sweepPlan(77, 10));
    expect(sweepPlan(77, 10)).not.toEqual(sweepPlan(78, 10));
    expect(plans.map((plan) => plan.seed)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(plans.every((plan) => plan.rounds === SWEEP_ROUNDS)).toBe(true);
  });

  it('puts f Byzantine nodes in every run but one in nine, which has none', () => {
    for (const plan of plans) {
      expect(plan.byzantine).toBe(plan.seed! % 9 === 0 ? 0 : faultTolerance(plan.nodes!));
    }
    expect(count(plans, (p) => p.byzantine === 0)).toBe(33);
  });

  it('cycles every behaviour by seed, so each sweep file faces every behaviour on every cluster size', () => {
    for (const plan of plans) expect(plan.behaviour).toBe(BEHAVIOUR_OPTIONS[plan.seed! % BEHAVIOUR_OPTIONS.length]);
    expect(BEHAVIOUR_OPTIONS).toEqual(['equivocate', 'withhold', 'partial', 'invalid', 'garbage', 'flood', 'split-commit', 'mixed']);
    for (const file of FILES) {
      for (const behaviour of BEHAVIOUR_OPTIONS) {
        const facing = file.filter((p) => p.byzantine! > 0 && p.behaviour === behaviour);
        expect(facing.length).toBeGreaterThanOrEqual(10);
        expect(new Set(facing.map((p) => p.nodes))).toEqual(new Set(SWEEP_SIZES));
      }
    }
  });

  it('mixes n ∈ {4, 7, 10}, drops, duplicates, latencies, partitions and crash-restarts in every file', () => {
    expect(SWEEP_SIZES.map((n) => count(plans, (p) => p.nodes === n))).toEqual([100, 100, 100]);
    for (const file of FILES) {
      expect(count(file, (p) => p.dropRate! > 0)).toBeGreaterThanOrEqual(25);
      expect(count(file, (p) => p.duplicateRate! > 0)).toBeGreaterThanOrEqual(10);
      expect(new Set(file.map((p) => p.latency!.max))).toEqual(new Set([5, 10, 30]));
      expect(count(file, (p) => p.partitions!.length > 0)).toBeGreaterThanOrEqual(15);
      expect(count(file, (p) => p.crashes!.length > 0)).toBeGreaterThanOrEqual(15);
      expect(count(file, (p) => p.crashes!.length > 1)).toBeGreaterThan(0);
    }
    // Every crashed node comes back: the sweep checks liveness, so none stays down.
    expect(plans.every((p) => p.crashes!.every((c) => c.restartAt !== null && c.restartAt > c.at))).toBe(true);
    expect(plans.every((p) => p.crashes!.length <= faultTolerance(p.nodes!))).toBe(true);
  });
});
