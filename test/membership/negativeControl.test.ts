// The rule under test: a change committed at c takes effect at c + rankWindow + 1.
// The negative control breaks it (only in this file, by replacing the
// engine's effectiveRank) to switch right after the commit, and the check
// the other tests rely on, every certificate verified with the membership
// the documented rule gives its rank, must catch it.
import { payloadCluster, type PayloadCluster } from '../../bench/payloadCluster';
import { DEFAULT_RANK_WINDOW } from '../../engine/config';
import { certificateProblems, changeIn, disagreements, referenceMemberships, track } from './support';

type Rule = 'engine' | 'switch at the commit';
let mockRule: Rule = 'engine';

jest.mock('../../engine/membership/effectiveRank', () => {
  const actual = jest.requireActual('../../engine/membership/effectiveRank');
  return {
    ...actual,
    effectiveRank: (committedAt: number, rankWindow: number): number =>
      mockRule === 'switch at the commit' ? committedAt + 1 : actual.effectiveRank(committedAt, rankWindow),
  };
});

const FOUNDERS = ['n0', 'n1', 'n2', 'n3'];

/** Adds n4, then cuts n1 off, so that every quorum of five needs n4; returns what the reference check finds. */
async function addUnderRule(rule: Rule): Promise<{ problems: string[]; disagreements: string[]; added: number }> {
  mockRule = rule;
  const isolated = new Set<string>();
  const c: PayloadCluster = payloadCluster({
    size: 5,
    founders: 4,
    leaders: 'membership',
    cut: (from, to) => isolated.has(from) || isolated.has(to),
    engineConfig: () => ({ membershipChangeIn: changeIn((name) => c.publicKey(name)) }),
  });
  try {
    const engines = c.names.map((name) => c.engine(name));
    for (const engine of engines) engine.start();
    expect(await c.runUntil(() => c.engine('n0').getActiveRank() >= 3)).toBe(true);
    const add = track(c.engine('n0').propose('member:add:n4'));
    expect(await c.runUntil(() => add.done)).toBe(true);
    const added = add.value?.outcome === 'committed' ? add.value.index : NaN;
    isolated.add('n1');
    const live = engines.filter((engine) => engine.id.name !== 'n1');
    await c.runUntil(() => live.every((engine) => engine.getActiveRank() >= added + DEFAULT_RANK_WINDOW + 8), 20_000);
    const top = Math.min(...live.map((engine) => engine.getActiveRank()));
    const reference = referenceMemberships(c.engine('n0').log, top, FOUNDERS, DEFAULT_RANK_WINDOW);
    return { problems: certificateProblems(c, live, reference), disagreements: disagreements(live), added };
  } finally {
    await c.stop();
    mockRule = 'engine';
  }
}

describe('negative control: the effective rank (c + rankWindow + 1) is what the certificate check holds the cluster to', () => {
  it('with the engine rule, every certificate verifies with the membership of its rank', async () => {
    const { problems, disagreements: differ } = await addUnderRule('engine');
    expect(differ).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('switching right after the commit is caught: certificates signed by the new member where it is not one yet', async () => {
    const { problems, added } = await addUnderRule('switch at the commit');
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.some((problem) => /n4 is not a member/.test(problem))).toBe(true);
    // Every rank it is caught at is one the rule keeps for the old membership.
    for (const problem of problems) {
      const rank = Number(/rank (\d+)/.exec(problem)?.[1]);
      expect(rank).toBeGreaterThan(added);
      expect(rank).toBeLessThanOrEqual(added + DEFAULT_RANK_WINDOW);
    }
  });
});
