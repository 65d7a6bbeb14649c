import { isFaultFree, mayStall, sweepPlan, SWEEP_SIZES } from '../../simulator/sweep';
import { BEHAVIOUR_OPTIONS } from '../../simulator/byzantine';
import { faultTolerance } from '../../examples/ledger/rules';
import { SWEEP_ROUNDS } from './sweepCase';

describe('the sweep covers every size, behaviour and fault mix', () => {
  const plans = Array.from({ length: 200 }, (_, i) => sweepPlan(i + 1, SWEEP_ROUNDS));
  const count = (keep: (plan: (typeof plans)[number]) => boolean) => plans.filter(keep).length;

  it('draws the same plan from the same seed', () => {
    expect(sweepPlan(77, 10)).toEqual(sweepPlan(77, 10));
    expect(sweepPlan(77, 10)).not.toEqual(sweepPlan(78, 10));
  });

  it('mixes n ∈ {4, 7, 10}, up to f Byzantine nodes of every behaviour, drops, duplicates, partitions and crash-restarts', () => {
    expect(SWEEP_SIZES.map((n) => count((p) => p.nodes === n))).toEqual([67, 66, 67]);
    expect(plans.every((p) => p.byzantine! <= faultTolerance(p.nodes!))).toBe(true);
    expect(count((p) => p.byzantine === faultTolerance(p.nodes!))).toBe(50);
    expect(BEHAVIOUR_OPTIONS.map((b) => count((p) => p.byzantine! > 0 && p.behaviour === b))).toEqual([8, 25, 22, 13, 24, 15]);
    expect(count((p) => p.dropRate! > 0)).toBe(100);
    expect(count((p) => p.duplicateRate! > 0)).toBe(62);
    expect(count((p) => p.partitions!.length > 0)).toBe(66);
    expect(count((p) => p.crashes!.length > 0)).toBe(51);
    expect(count((p) => p.crashes!.every((c) => c.restartAt !== null))).toBe(200);
    expect(count(isFaultFree)).toBe(16);
    expect(count(mayStall)).toBe(23);
  });
});
