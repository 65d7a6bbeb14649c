import { payloadCluster, type PayloadCluster } from '../../bench/payloadCluster';
import { DEFAULT_RANK_WINDOW } from '../../engine/config';
import { certificateProblems, changeIn, disagreements, idsOf, referenceMemberships, track, type Tracked } from './support';

const FOUNDERS = ['n0', 'n1', 'n2', 'n3'];
const W = DEFAULT_RANK_WINDOW;

describe('membership through the commit log: 4 → 5 → 4 under load, signed', () => {
  let cluster: PayloadCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it('switches quorums exactly at the effective ranks; the new node signs after joining, the removed one never after leaving; logs agree', async () => {
    const isolated = new Set<string>();
    const c: PayloadCluster = payloadCluster({
      size: 5,
      founders: 4,
      leaders: 'membership',
      syncFromPeers: true,
      cut: (from, to) => isolated.has(from) || isolated.has(to),
      engineConfig: () => ({ membershipChangeIn: changeIn((name) => c.publicKey(name)) }),
    });
    cluster = c;
    const engines = c.names.map((name) => c.engine(name));
    for (const engine of engines) engine.start();
    const proposed: Array<{ payload: string; outcome: Tracked }> = [];
    let counter = 0;
    let proposers = ['n0', 'n1', 'n2'];
    /** Runs the cluster with a payload from each proposer every 10 ms until `done`. */
    const runUnderLoad = async (done: () => boolean, limit = 30_000) => {
      for (let elapsed = 0; elapsed < limit; elapsed += 10) {
        if (done()) return true;
        for (const name of proposers) {
          const payload = `p${counter++}-${name}`;
          proposed.push({ payload, outcome: track(c.engine(name).propose(payload)) });
        }
        await c.runUntil(() => false, 10);
      }
      return done();
    };
    const committedAt = (outcome: Tracked) => (outcome.value?.outcome === 'committed' ? outcome.value.index : null);

    expect(await runUnderLoad(() => c.engine('n0').getActiveRank() >= 5)).toBe(true);
    const add = track(c.engine('n0').propose('member:add:n4'));
    expect(await runUnderLoad(() => committedAt(add) !== null)).toBe(true);
    const added = committedAt(add)!;
    const joined = added + W + 1;
    expect(await runUnderLoad(() => engines.every((engine) => engine.getActiveRank() >= added))).toBe(true);
    for (const engine of engines) {
      expect(idsOf(engine.getMembershipAt(joined - 1))).toEqual(FOUNDERS);
      expect(engine.getMembershipAt(joined - 1)?.quorum).toBe(3);
      expect(idsOf(engine.getMembershipAt(joined))).toEqual([...FOUNDERS, 'n4']);
      expect(engine.getMembershipAt(joined)?.quorum).toBe(4);
    }

    // Past the effective rank, with n1 cut off, every quorum of five needs the new member.
    expect(await runUnderLoad(() => c.engine('n0').getActiveRank() >= joined + 2)).toBe(true);
    isolated.add('n1');
    proposers = ['n0', 'n2', 'n4'];
    const cutAt = c.engine('n0').getActiveRank();
    expect(await runUnderLoad(() => c.engine('n0').getActiveRank() >= cutAt + 8)).toBe(true);
    isolated.delete('n1');
    // Back, it syncs to the others' state and fetches the entries it missed before it votes again.
    c.engine('n1').induceSync();
    proposers = ['n0', 'n1', 'n2', 'n4'];

    const remove = track(c.engine('n2').propose('member:remove:n3'));
    expect(await runUnderLoad(() => committedAt(remove) !== null)).toBe(true);
    const removed = committedAt(remove)!;
    const left = removed + W + 1;
    expect(removed).toBeGreaterThanOrEqual(joined);
    const reached = await runUnderLoad(() => engines.every((engine) => engine.getActiveRank() >= left + 8));
    expect(reached).toBe(true);
    // Let what is in flight settle, with no new load.
    proposers = [];
    expect(await runUnderLoad(() => proposed.every(({ outcome }) => outcome.done), 20_000)).toBe(true);
    const top = Math.min(...engines.map((engine) => engine.getActiveRank()));

    for (const engine of engines) {
      expect(idsOf(engine.getMembershipAt(left - 1))).toEqual([...FOUNDERS, 'n4']);
      expect(engine.getMembershipAt(left - 1)?.quorum).toBe(4);
      expect(idsOf(engine.getMembershipAt(left))).toEqual(['n0', 'n1', 'n2', 'n4']);
      expect(engine.getMembershipAt(left)?.quorum).toBe(3);
      expect(idsOf(engine.getMembership())).toEqual(['n0', 'n1', 'n2', 'n4']);
    }
    expect(disagreements(engines)).toEqual([]);
    // Every acknowledged proposal is in every log, once.
    const acknowledged = proposed.filter(({ outcome }) => committedAt(outcome) !== null);
    expect(proposed.filter(({ outcome }) => committedAt(outcome) === null).map(({ payload, outcome }) => [payload, outcome])).toEqual([]);
    // Load on both sides of both switches.
    const phases = [0, joined, left, Infinity];
    for (let i = 0; i + 1 < phases.length; i += 1) {
      expect(acknowledged.filter(({ outcome }) => committedAt(outcome)! >= phases[i] && committedAt(outcome)! < phases[i + 1]).length).toBeGreaterThan(10);
    }
    for (const engine of engines) {
      const counts = new Map<string, number>();
      for (const entry of engine.log.range(1, top)) for (const payload of entry.payload.payloads) counts.set(payload, (counts.get(payload) ?? 0) + 1);
      const wrong = acknowledged.filter(({ payload, outcome }) => committedAt(outcome)! <= top && counts.get(payload) !== 1);
      expect({ node: engine.id.name, wrong: wrong.map(({ payload }) => payload) }).toEqual({ node: engine.id.name, wrong: [] });
    }
    // Certificates: n4 signs only from `joined` on (and does, with n1 away), n3 never from `left` on.
    const log = c.engine('n0').log;
    const signersAt = (rank: number) => log.get(rank)?.certificate?.signers ?? [];
    const ranks = Array.from({ length: top }, (_, i) => i + 1);
    expect(ranks.filter((rank) => rank < joined && signersAt(rank).includes('n4'))).toEqual([]);
    expect(ranks.filter((rank) => rank >= joined && signersAt(rank).includes('n4')).length).toBeGreaterThan(0);
    expect(ranks.filter((rank) => rank >= left && signersAt(rank).includes('n3'))).toEqual([]);
    // Every certificate of every log verifies with the membership the rule gives its rank, computed from the log alone.
    const reference = referenceMemberships(log, top, FOUNDERS, W);
    expect(certificateProblems(c, engines, reference)).toEqual([]);
  });
});
