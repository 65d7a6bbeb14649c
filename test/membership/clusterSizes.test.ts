import { payloadCluster, type PayloadCluster } from '../../bench/payloadCluster';
import { DEFAULT_RANK_WINDOW } from '../../engine/config';
import { maxFaultTolerance, quorumThreshold } from '../../guards/quorum';
import { certificateProblems, changeIn, disagreements, idsOf, referenceMemberships, track } from './support';

const W = DEFAULT_RANK_WINDOW;

describe('every cluster size from 1 to 7 adds a member, then removes one', () => {
  let cluster: PayloadCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it.each([1, 2, 3, 4, 5, 6, 7])('%i members → one more → one fewer (the first founder leaves)', async (n) => {
    const c: PayloadCluster = payloadCluster({
      size: n + 1,
      founders: n,
      leaders: 'membership',
      engineConfig: () => ({ membershipChangeIn: changeIn((name) => c.publicKey(name)) }),
    });
    cluster = c;
    const founders = c.names.slice(0, n);
    const joiner = c.names[n];
    const engines = c.names.map((name) => c.engine(name));
    for (const engine of engines) engine.start();
    const commit = async (through: string, payload: string) => {
      const outcome = track(c.engine(through).propose(payload));
      expect(await c.runUntil(() => outcome.done)).toBe(true);
      expect(outcome.value?.outcome).toBe('committed');
      return outcome.value!.outcome === 'committed' ? outcome.value!.index : NaN;
    };
    const added = await commit('n0', `member:add:${joiner}`);
    const joined = added + W + 1;
    expect(await c.runUntil(() => engines.every((engine) => engine.getActiveRank() >= joined + 2))).toBe(true);
    // The first founder leaves; the proposal goes through the joiner, a member now.
    const removed = await commit(joiner, 'member:remove:n0');
    const left = removed + W + 1;
    expect(await c.runUntil(() => engines.every((engine) => engine.getActiveRank() >= left + 3))).toBe(true);
    // Still live for the ones that stay.
    expect(await commit(joiner, 'after')).toBeGreaterThan(left);

    const quorum = (size: number) => quorumThreshold(size, maxFaultTolerance(size));
    for (const engine of engines) {
      expect(idsOf(engine.getMembershipAt(joined - 1))).toEqual(founders);
      expect(engine.getMembershipAt(joined)?.quorum).toBe(quorum(n + 1));
      expect(idsOf(engine.getMembershipAt(left))).toEqual([...founders.slice(1), joiner]);
      expect(engine.getMembershipAt(left)?.quorum).toBe(quorum(n));
    }
    expect(disagreements(engines)).toEqual([]);
    const top = Math.min(...engines.map((engine) => engine.getActiveRank()));
    expect(certificateProblems(c, engines, referenceMemberships(c.engine(joiner).log, top, founders, W))).toEqual([]);
    const signers = (rank: number) => c.engine(joiner).log.get(rank)?.certificate?.signers ?? [];
    const ranks = Array.from({ length: top }, (_, i) => i + 1);
    expect(ranks.some((rank) => rank >= joined && signers(rank).includes(joiner))).toBe(true);
    expect(ranks.filter((rank) => rank >= left && signers(rank).includes('n0'))).toEqual([]);
  });
});

describe('without keys (crash faults only)', () => {
  let cluster: PayloadCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it('4 members → 5 → 4: the quorum follows the membership, no key needed for the new member', async () => {
    const c: PayloadCluster = payloadCluster({
      size: 5,
      founders: 4,
      signed: false,
      leaders: 'membership',
      engineConfig: () => ({ membershipChangeIn: changeIn(() => '', false) }),
    });
    cluster = c;
    const engines = c.names.map((name) => c.engine(name));
    for (const engine of engines) engine.start();
    const commit = async (payload: string) => {
      const outcome = track(c.engine('n1').propose(payload));
      expect(await c.runUntil(() => outcome.done)).toBe(true);
      return outcome.value!.outcome === 'committed' ? outcome.value!.index : NaN;
    };
    const added = await commit('member:add:n4');
    expect(await c.runUntil(() => engines.every((engine) => engine.getActiveRank() >= added + W + 3))).toBe(true);
    const removed = await commit('member:remove:n0');
    expect(await c.runUntil(() => engines.every((engine) => engine.getActiveRank() >= removed + W + 3))).toBe(true);
    for (const engine of engines) {
      expect(engine.getMembershipAt(added + W + 1)?.quorum).toBe(4);
      expect(idsOf(engine.getMembershipAt(removed + W + 1))).toEqual(['n1', 'n2', 'n3', 'n4']);
    }
    expect(disagreements(engines)).toEqual([]);
  });
});
