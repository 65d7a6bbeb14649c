import { ELECTION_SWEEP_SIZES, electionSweepPlan, leaderDistribution } from '../../simulator/electionSweep';
import { LEADER } from '../../simulator/options';
import type { LeaderWindow } from '../../simulator/LeaderLiveness';

describe('the election sweep plans (every n from 1 to 10, partitions, loss, crash-restarts)', () => {
  const plans = Array.from({ length: 500 }, (_, i) => electionSweepPlan(i + 1));
  const count = (keep: (plan: (typeof plans)[number]) => boolean) => plans.filter(keep).length;

  it('draws the same plan from the same seed, and another from another', () => {
    expect(electionSweepPlan(77)).toEqual(electionSweepPlan(77));
    expect(electionSweepPlan(77)).not.toEqual(electionSweepPlan(78));
  });

  it('are election-only crash-fault runs of every size, with loss, duplication, partitions and crash-restarts, the leader included', () => {
    expect(plans.every((p) => p.rounds === 0 && p.byzantine === 0)).toBe(true);
    expect([...ELECTION_SWEEP_SIZES]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(ELECTION_SWEEP_SIZES.map((n) => count((p) => p.nodes === n))).toEqual(Array(10).fill(50));
    expect(count((p) => p.dropRate! > 0)).toBe(375);
    expect(count((p) => p.duplicateRate! > 0)).toBe(167);
    expect(count((p) => p.partitions!.length > 0)).toBe(381);
    expect(count((p) => p.partitions!.some((partition) => partition.groups.length === 3))).toBe(97);
    expect(count((p) => p.crashes!.length > 0)).toBe(442);
    expect(count((p) => p.crashes!.some((crash) => crash.node === LEADER))).toBe(294);
    // A lone node is never partitioned; groups are never empty.
    expect(plans.every((p) => p.nodes !== 1 || p.partitions!.length === 0)).toBe(true);
    expect(plans.every((p) => p.partitions!.every((partition) => partition.groups.every((group) => group.length > 0)))).toBe(true);
    expect(plans.every((p) => p.crashes!.every((crash) => crash.restartAt !== null))).toBe(true);
  });

  it('space every fault episode at least one bound (600 ms) after the previous one ended, the first after the boot', () => {
    for (const plan of plans) {
      const episodes = [
        ...plan.partitions!.map((p) => ({ from: p.from, to: p.to })),
        ...plan.crashes!.map((c) => ({ from: c.at, to: c.restartAt! })),
      ].sort((a, b) => a.from - b.from);
      // A crash inside a partition belongs to its episode; otherwise an episode starts a bound after the last ended.
      let end = 0;
      for (const { from, to } of episodes) {
        expect(from >= end + 600 || from < end).toBe(true);
        end = Math.max(end, to);
      }
    }
  });
});

describe('leader distributions', () => {
  const window = (ms: number | null, extra: Partial<LeaderWindow> = {}): LeaderWindow => ({
    kind: 'heal',
    at: 0,
    leaderBefore: null,
    leaderAfter: ms === null ? null : 'n0',
    term: 1,
    ms,
    withinBound: ms !== null && ms <= 600,
    quorum: true,
    outcome: ms === null ? 'late' : 'converged',
    cause: null,
    ...extra,
  });

  it('takes nearest-rank percentiles, counts a late window as slower than all, and leaves out windows without quorum or cut short', () => {
    const windows = [
      ...[10, 20, 30, 40, 50, 60, 70, 80, 700].map((ms) => window(ms)),
      window(null),
      window(5, { quorum: false }),
      window(null, { outcome: 'interrupted' }),
    ];
    expect(leaderDistribution(windows, 600)).toEqual({
      counted: 10,
      withinBound: 8,
      fraction: 0.8,
      p50: 50,
      p99: null,
      max: null,
      late: 1,
      noQuorum: 1,
      cutShort: 1,
    });
    expect(leaderDistribution(windows.slice(0, 9), 600)).toMatchObject({ p50: 50, p99: 700, max: 700, fraction: 8 / 9 });
  });
});
