import { createHash } from 'node:crypto';
import { payloadCluster, type Block, type PayloadCluster } from '../../bench/payloadCluster';
import { DEFAULT_RANK_WINDOW } from '../../engine/config';
import type { ReplicatedStateMachine } from '../../engine/stateMachine';
import { InMemorySafetyStorage } from '../../providers/storage';
import { certificateProblems, changeIn, disagreements, idsOf, referenceMemberships, track } from './support';

const W = DEFAULT_RANK_WINDOW;
const FOUNDERS = ['n0', 'n1', 'n2', 'n3'];

/** A hash chain over the blocks applied. */
class Chain implements ReplicatedStateMachine<Block> {
  head = 'genesis';
  apply(value: Block): void {
    this.head = createHash('sha256').update(`${this.head}|${value.identity()}`).digest('hex');
  }
  snapshot(): unknown {
    return { head: this.head };
  }
  restore(data: unknown): void {
    this.head = (data as { head: string }).head;
  }
}

/**
 * Five nodes (four founders), each over its own storage; n4 is added, then a
 * node restarts over its storage with the configuration it was first given.
 */
async function addThenRestart(name: string, options: { snapshots: boolean }) {
  const storages = new Map<string, InMemorySafetyStorage>();
  const chains = new Map<string, Chain>();
  const c: PayloadCluster = payloadCluster({
    size: 5,
    founders: 4,
    leaders: 'membership',
    engineConfig: (node) => {
      if (!storages.has(node)) storages.set(node, new InMemorySafetyStorage());
      chains.set(node, new Chain());
      return {
        membershipChangeIn: changeIn((id) => c.publicKey(id)),
        storage: storages.get(node)!,
        ...(options.snapshots ? { stateMachine: chains.get(node)!, snapshotInterval: 10, logRetention: 10 } : {}),
      };
    },
  });
  for (const engine of c.engines.values()) engine.start();
  const add = track(c.engine('n0').propose('member:add:n4'));
  expect(await c.runUntil(() => add.done)).toBe(true);
  const added = add.value?.outcome === 'committed' ? add.value.index : NaN;
  const joined = added + W + 1;
  expect(await c.runUntil(() => [...c.engines.values()].every((engine) => engine.getActiveRank() >= joined + 25))).toBe(true);
  const restarted = await c.restart(name);
  return { cluster: c, added, joined, restarted, storage: storages.get(name)! };
}

describe('a restarted node keeps the membership the log changed', () => {
  let cluster: PayloadCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it.each([
    ['n2', 'a founder'],
    ['n4', 'the member the log added (configured without itself)'],
  ])('%s, %s, reads it back from its stored log, and votes on with the new quorum', async (name) => {
    const run = await addThenRestart(name, { snapshots: false });
    cluster = run.cluster;
    const { restarted, joined } = run;
    // The whole log is kept in storage when no snapshot carries the membership.
    expect(run.storage.readLog()[0].index).toBe(1);
    expect(idsOf(restarted.getMembershipAt(joined - 1))).toEqual(FOUNDERS);
    expect(idsOf(restarted.getMembershipAt(joined))).toEqual([...FOUNDERS, 'n4']);
    expect(idsOf(restarted.getMembership())).toEqual([...FOUNDERS, 'n4']);
    restarted.start();
    const from = restarted.getActiveRank();
    const engines = cluster.names.map((node) => cluster!.engine(node));
    expect(await cluster.runUntil(() => engines.every((engine) => engine.getActiveRank() >= from + 10))).toBe(true);
    expect(disagreements(engines)).toEqual([]);
    const signed = Array.from({ length: 10 }, (_, i) => from + 1 + i).filter((rank) => restarted.log.get(rank)?.certificate?.signers.includes(name));
    expect(signed.length).toBeGreaterThan(0);
  });

  it('a node whose stored log was compacted past the change reads it from its stored snapshot', async () => {
    const run = await addThenRestart('n2', { snapshots: true });
    cluster = run.cluster;
    const { restarted, joined, added } = run;
    expect(run.storage.readLog()[0].index).toBeGreaterThan(added);
    expect(run.storage.readSnapshot()?.membership).toBeDefined();
    expect(idsOf(restarted.getMembership())).toEqual([...FOUNDERS, 'n4']);
    expect(restarted.getMembershipAt(joined)?.quorum).toBe(4);
    restarted.start();
    const from = restarted.getActiveRank();
    const engines = cluster.names.map((node) => cluster!.engine(node));
    expect(await cluster.runUntil(() => engines.every((engine) => engine.getActiveRank() >= from + 12))).toBe(true);
    expect(disagreements(engines)).toEqual([]);
    const top = Math.min(...engines.map((engine) => engine.getActiveRank()));
    // Checked from the restart on (older entries are compacted away), all past the change.
    const reference = referenceMemberships(cluster.engine('n0').log, top, [...FOUNDERS, 'n4'], W);
    const recent = certificateProblems(cluster, [restarted], reference).filter((problem) => Number(/rank (\d+)/.exec(problem)?.[1]) > from);
    expect(recent).toEqual([]);
  });
});
