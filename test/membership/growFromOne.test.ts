import { payloadCluster, type PayloadCluster } from '../../bench/payloadCluster';
import { DEFAULT_RANK_WINDOW } from '../../engine/config';
import { changeIn, disagreements, idsOf, track } from './support';

const W = DEFAULT_RANK_WINDOW;

/**
 * From one founder to two members, every quorum after the change needs the
 * joiner's vote: a joiner that reaches the first rank it votes in before it
 * has read the change that admits it, and never learns that rank's provers,
 * stalls the whole cluster.
 */
describe('a lone founder joined by a second member', () => {
  let cluster: PayloadCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  function grow(size: number): PayloadCluster {
    const c: PayloadCluster = payloadCluster({
      size,
      founders: 1,
      leaders: 'membership',
      syncFromPeers: true,
      engineConfig: () => ({ membershipChangeIn: changeIn((id) => c.publicKey(id)) }),
    });
    cluster = c;
    return c;
  }

  async function commit(c: PayloadCluster, on: string, payload: string): Promise<number> {
    const outcome = track(c.engine(on).propose(payload));
    expect(await c.runUntil(() => outcome.done)).toBe(true);
    expect(outcome.value).toEqual(expect.objectContaining({ outcome: 'committed' }));
    return outcome.value?.outcome === 'committed' ? outcome.value.index : NaN;
  }

  it('goes on past the change when the joiner runs from the start', async () => {
    const c = grow(2);
    c.engine('n0').start();
    c.engine('n1').start();
    const joined = (await commit(c, 'n0', 'member:add:n1')) + W + 1;
    expect(await c.runUntil(() => c.engine('n0').getActiveRank() >= joined + 20)).toBe(true);
    const signed = c.engine('n0').log.range(joined, joined + 20).map((entry) => entry.certificate?.signers.slice().sort());
    expect(signed.every((signers) => JSON.stringify(signers) === JSON.stringify(['n0', 'n1']))).toBe(true);
    expect(disagreements([c.engine('n0'), c.engine('n1')])).toEqual([]);
  });

  it('goes on once a joiner that starts after the change took effect has read it, fetched its provers and voted', async () => {
    const c = grow(2);
    const founder = c.engine('n0');
    founder.start();
    const joined = (await commit(c, 'n0', 'member:add:n1')) + W + 1;
    // Alone, the founder cannot decide the first rank of two members.
    expect(await c.runUntil(() => founder.getActiveRank() >= joined, 20_000)).toBe(false);
    expect(founder.getActiveRank()).toBe(joined - 1);
    const joiner = c.engine('n1');
    joiner.start();
    expect(await c.runUntil(() => founder.getActiveRank() >= joined + 10 && joiner.getActiveRank() >= joined + 10)).toBe(true);
    expect(idsOf(joiner.getMembershipAt(joined))).toEqual(['n0', 'n1']);
    expect(disagreements([founder, joiner])).toEqual([]);
  });

  it('lets a joiner whose founders have all left catch up from members it has not read of yet', async () => {
    const c = grow(3);
    const [n0, n1, n2] = ['n0', 'n1', 'n2'].map((name) => c.engine(name));
    n0.start();
    n1.start();
    const joined = (await commit(c, 'n0', 'member:add:n1')) + W + 1;
    expect(await c.runUntil(() => n0.getActiveRank() >= joined)).toBe(true);
    const left = (await commit(c, 'n1', 'member:remove:n0')) + W + 1;
    expect(await c.runUntil(() => n1.getActiveRank() >= left + 5)).toBe(true);
    await n0.stop();
    const admitted = (await commit(c, 'n1', 'member:add:n2')) + W + 1;
    // n1 alone decides until n2 is a member; from then on every rank needs n2, which knows only n0 as a member.
    expect(await c.runUntil(() => n1.getActiveRank() >= admitted - 1)).toBe(true);
    n2.start();
    expect(await c.runUntil(() => n1.getActiveRank() >= admitted + 10 && n2.getActiveRank() >= admitted + 10)).toBe(true);
    expect(idsOf(n2.getMembershipAt(admitted))).toEqual(['n1', 'n2']);
    expect(n2.log.missing()).toEqual([]);
    expect(disagreements([n1, n2])).toEqual([]);
  });
});
