import { sweepPlan, SWEEP_SIZES } from '../../simulator/sweep';
import { BEHAVIOUR_OPTIONS } from '../../simulator/byzantine';
import { faultTolerance } from '../../examples/ledger/rules';
import { SWEEP_ROUNDS } from './sweepCase';

/** The sweep's seeds by hundreds, 1–100, 101–200, 201–300: the plan's cycle (the files split them further). */
const HUNDREDS = [1, 101, 201].map((first) => Array.from({ length: 100 }, (_, i) => sweepPlan(first + i, SWEEP_ROUNDS)));
const plans = HUNDREDS.flat();
type Plan = (typeof plans)[number];
const count = (list: Plan[], keep: (plan: Plan) => boolean) => list.filter(keep).length;

describe('the sweep covers every size, behaviour and fault mix', () => {
  it('draws the same plan from the same seed', () => {
    expect(sweepPlan(77, 10)).toEqual(sweepPlan(77, 10));
    expect(sweepPlan(77, 10)).not.toEqual(sweepPlan(78, 10));
    expect(plans.map((plan) => plan.seed)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(plans.every((plan) => plan.rounds === SWEEP_ROUNDS)).toBe(true);
  });

  it('puts f = ⌊(n − 1)/3⌋ Byzantine nodes in every run but one block of ten in each hundred seeds', () => {
    for (const plan of plans) {
      const block = Math.floor((plan.seed! - 1) / 10) % 10;
      expect(plan.byzantine).toBe(block === 9 ? 0 : faultTolerance(plan.nodes!));
    }
    expect(count(plans, (p) => p.byzantine! > 0)).toBe(3 * 9 * 7);
  });

  it('every hundred seeds meet every size from 1 to 10 under every behaviour (Byzantine nodes from n = 4 on)', () => {
    expect(BEHAVIOUR_OPTIONS).toEqual(['equivocate', 'withhold', 'partial', 'invalid', 'garbage', 'flood', 'split-commit', 'shape-shift', 'mixed']);
    expect([...SWEEP_SIZES]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (const file of HUNDREDS) {
      for (const nodes of SWEEP_SIZES) expect(count(file, (p) => p.nodes === nodes)).toBe(10);
      for (const behaviour of BEHAVIOUR_OPTIONS) {
        const facing = file.filter((p) => p.byzantine! > 0 && p.behaviour === behaviour);
        expect(new Set(facing.map((p) => p.nodes))).toEqual(new Set([4, 5, 6, 7, 8, 9, 10]));
      }
      // The clusters without Byzantine nodes: n ≤ 3 always, and one block of every size.
      expect(count(file, (p) => p.byzantine === 0)).toBe(3 * 10 + 7);
    }
  });

  it('every hundred seeds mix drops, duplicates, latencies, partitions, crash-restarts, slow disks and single provers', () => {
    for (const file of HUNDREDS) {
      expect(count(file, (p) => p.dropRate! > 0)).toBeGreaterThanOrEqual(25);
      expect(count(file, (p) => p.duplicateRate! > 0)).toBeGreaterThanOrEqual(10);
      expect(new Set(file.map((p) => p.latency!.max))).toEqual(new Set([5, 10, 30]));
      expect(count(file, (p) => p.partitions!.length > 0)).toBeGreaterThanOrEqual(15);
      expect(count(file, (p) => p.crashes!.length > 0)).toBeGreaterThanOrEqual(15);
      expect(count(file, (p) => p.crashes!.length > 1)).toBeGreaterThan(0);
    }
    for (const file of HUNDREDS) {
      expect(count(file, (p) => p.storageMs!.max > 0)).toBeGreaterThanOrEqual(15);
      expect(count(file, (p) => p.proversPerRank === 1)).toBeGreaterThanOrEqual(15);
      expect(count(file, (p) => p.crashes!.length === p.nodes && p.nodes! > 1)).toBeGreaterThanOrEqual(3);
    }
    // Every crashed node comes back: the sweep checks liveness, so none stays down.
    expect(plans.every((p) => p.crashes!.every((c) => c.restartAt !== null && c.restartAt > c.at))).toBe(true);
    // Crashes overlap for at most f nodes: a rolling restart takes one node at a time.
    for (const plan of plans) {
      const crashes = plan.crashes!;
      const overlapping = Math.max(0, ...crashes.map((c) => crashes.filter((d) => d.at <= c.at && c.at < d.restartAt!).length));
      expect(overlapping).toBeLessThanOrEqual(Math.max(1, faultTolerance(plan.nodes!)));
    }
    // A lone node cannot be partitioned; it still crashes and restarts.
    expect(plans.every((p) => p.nodes !== 1 || p.partitions!.length === 0)).toBe(true);
    expect(count(plans, (p) => p.nodes === 1 && p.crashes!.length > 0)).toBeGreaterThan(0);
  });
});
