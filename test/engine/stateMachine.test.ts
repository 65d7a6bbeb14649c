import { createHash } from 'node:crypto';
import type { ReplicatedStateMachine } from '../../engine/stateMachine';
import { StoredLogError } from '../../engine/errors';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemorySafetyStorage, type NodeStorage } from '../../providers/storage';
import { openNodeStore, type NodeStore } from '../../storage/nodeStore';
import { TestCluster } from '../support/cluster';
import type { Ballot, Batch, Frame, Peer } from '../support/fixtures';
import type { ConsensusEngineConfig } from '../../engine/config';
import { advanceUntil, settleStores } from '../support/time';

/** The app's state: how many frames it applied and a hash chain over them, so any reordering or repeat shows. */
class Chain implements ReplicatedStateMachine<Frame> {
  count = 0;
  head = 'genesis';
  readonly applied: number[] = [];
  readonly restored: number[] = [];
  constructor(private readonly failAt: number | null = null) {}
  apply(value: Frame, index: number): void {
    if (index === this.failAt) throw new Error(`refusing entry ${index}`);
    this.applied.push(index);
    this.count += 1;
    this.head = createHash('sha256').update(`${this.head}|${value.hash}`).digest('hex');
  }
  snapshot(): unknown {
    return { count: this.count, head: this.head };
  }
  restore(data: unknown, index: number): void {
    const { count, head } = data as { count: number; head: string };
    if (typeof count !== 'number' || typeof head !== 'string') throw new Error('not a chain snapshot');
    this.restored.push(index);
    this.count = count;
    this.head = head;
  }
}

/** The chain a log's first `through` values make. */
function chainOf(values: Frame[], through: number): { count: number; head: string } {
  let head = 'genesis';
  for (const value of values.slice(0, through)) head = createHash('sha256').update(`${head}|${value.hash}`).digest('hex');
  return { count: through, head };
}

/** Three provers a rank, all heard from before voting: a rank commits in its first attempt. */
const PROMPT = { nodes: 4, provers: (h: number) => ['n0', 'n1', 'n2', 'n3'].map((_, i, all) => all[(i + h) % 4]).slice(0, 3), minimumProvers: 3 };

function clusterWith(machines: Map<string, Chain>, storages: Map<string, NodeStorage>, extra: Partial<ConsensusEngineConfig<Frame, Ballot, Peer, Batch>> = {}) {
  return new TestCluster({
    ...PROMPT,
    engineConfigFor: (name) => ({ stateMachine: machines.get(name)!, snapshotInterval: 5, storage: storages.get(name)!, ...extra }),
  });
}

describe("the app's state machine", () => {
  it('gets every committed value once, in order, a snapshot every interval kept in storage, and the same state on every node', async () => {
    const names = ['n0', 'n1', 'n2', 'n3'];
    const machines = new Map(names.map((name) => [name, new Chain()]));
    const storages = new Map(names.map((name) => [name, new InMemorySafetyStorage()]));
    const cluster = clusterWith(machines, storages);
    cluster.startAll();
    await advanceUntil(cluster.clock, () => cluster.minCommits() >= 23, 60_000);
    await cluster.stopAll();
    for (const name of names) {
      const engine = cluster.engine(name);
      const machine = machines.get(name)!;
      const tail = engine.log.tail()!.index;
      expect(machine.applied).toEqual(Array.from({ length: tail }, (_, i) => i + 1));
      expect(engine.getAppliedIndex()).toBe(tail);
      const values = engine.log.range(1, tail).map((entry) => entry.payload);
      expect({ count: machine.count, head: machine.head }).toEqual(chainOf(values, tail));
      const snapshot = engine.latestSnapshot()!;
      expect(snapshot.index).toBe(Math.floor(tail / 5) * 5);
      expect(JSON.parse(snapshot.data)).toEqual(chainOf(values, snapshot.index));
      expect(storages.get(name)!.readSnapshot()).toMatchObject({ index: snapshot.index, data: snapshot.data, valueDigest: engine.log.get(snapshot.index)!.valueDigest });
    }
    const heads = names.map((name) => chainOf(cluster.engine(name).log.range(1, 20).map((entry) => entry.payload), 20).head);
    expect(new Set(heads).size).toBe(1);
  });

  it.each(['memory', 'disk'] as const)('a restarted engine restores the stored snapshot and applies the stored log after it, though the log was compacted (storage in %s)', async (kind) => {
    const names = ['n0', 'n1', 'n2', 'n3'];
    const machines = new Map(names.map((name) => [name, new Chain()]));
    const root = kind === 'disk' ? mkdtempSync(join(tmpdir(), 'state-machine-')) : '';
    // On disk the restart is a new process's: each store is closed and its directory opened again.
    const open = async (): Promise<Map<string, NodeStorage>> =>
      kind === 'memory'
        ? new Map(names.map((name) => [name, new InMemorySafetyStorage()]))
        : new Map(await Promise.all(names.map(async (name) => [name, await openNodeStore(join(root, name))] as const)));
    let storages = await open();
    // A real disk's syncs take real time, which simulated time would race past: the clock waits for them.
    const settle = kind === 'disk' ? () => settleStores([...storages.values()] as NodeStore[]) : undefined;
    // A log that keeps 2 entries in memory, snapshots every 10: the store keeps what the last durable snapshot does not cover.
    const cluster = clusterWith(machines, storages, { logRetention: 2, snapshotInterval: 10 });
    cluster.startAll();
    await advanceUntil(cluster.clock, () => cluster.minCommits() >= 37, 60_000, 5, settle);
    await cluster.stopAll();
    const before = machines.get('n2')!;
    const storage = storages.get('n2')!;
    const snapshot = storage.readSnapshot()!;
    const stored = storage.readLog().map((entry) => entry.index);
    expect(stored[0]).toBeLessThanOrEqual(snapshot.index + 1);
    expect(stored[0]).toBeGreaterThan(1);

    if (kind === 'disk') {
      for (const store of storages.values()) await (store as NodeStore).close();
      storages = await open();
    }
    const again = new Map(names.map((name) => [name, new Chain()]));
    const restarted = clusterWith(again, storages, { logRetention: 2, snapshotInterval: 10 });
    const machine = again.get('n2')!;
    expect(machine.restored).toEqual([snapshot.index]);
    expect(machine.applied).toEqual(Array.from({ length: stored[stored.length - 1] - snapshot.index }, (_, i) => snapshot.index + 1 + i));
    expect({ count: machine.count, head: machine.head }).toEqual({ count: before.count, head: before.head });
    expect(restarted.engine('n2').getAppliedIndex()).toBe(cluster.engine('n2').getAppliedIndex());
    if (kind === 'disk') {
      for (const store of storages.values()) await (store as NodeStore).close();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('an apply that throws stops application at that entry; commits go on', async () => {
    const names = ['n0', 'n1', 'n2', 'n3'];
    const machines = new Map(names.map((name) => [name, new Chain(name === 'n1' ? 3 : null)]));
    const storages = new Map(names.map((name) => [name, new InMemorySafetyStorage()]));
    const errors: string[] = [];
    const cluster = new TestCluster({
      ...PROMPT,
      engineConfigFor: (name) => ({
        stateMachine: machines.get(name)!,
        storage: storages.get(name)!,
        traceLogger: { trace: () => undefined, error: (message) => void errors.push(`${name}: ${message}`) },
      }),
    });
    cluster.startAll();
    await advanceUntil(cluster.clock, () => cluster.minCommits() >= 6, 60_000);
    await cluster.stopAll();
    expect(cluster.engine('n1').getAppliedIndex()).toBe(2);
    expect(machines.get('n1')!.applied).toEqual([1, 2]);
    expect(errors).toEqual(['n1: the state machine threw applying entry 3; nothing more is applied']);
    expect(cluster.engine('n0').getAppliedIndex()).toBeGreaterThanOrEqual(6);
  });

  it('a stored snapshot the machine refuses stops the engine from being built with StoredLogError', async () => {
    const storage = new InMemorySafetyStorage();
    const names = ['n0', 'n1', 'n2', 'n3'];
    const machines = new Map(names.map((name) => [name, new Chain()]));
    const cluster = clusterWith(machines, new Map(names.map((name) => [name, name === 'n0' ? storage : new InMemorySafetyStorage()])));
    cluster.startAll();
    await advanceUntil(cluster.clock, () => cluster.minCommits() >= 6, 60_000);
    await cluster.stopAll();
    const kept = storage.readSnapshot()!;
    const holding = async (snapshot: typeof kept) => {
      const fresh = new InMemorySafetyStorage();
      await fresh.saveSnapshot(snapshot);
      return () => clusterWith(new Map(names.map((name) => [name, new Chain()])), new Map(names.map((name) => [name, fresh])));
    };
    // The machine refuses the data.
    expect(await holding({ ...kept, data: '"not a chain"' })).toThrow(/state machine refused the stored snapshot/);
    // The value is not the one committed at that index.
    expect(await holding({ ...kept, index: kept.index + 100 })).toThrow(StoredLogError);
    // The snapshot as kept restores.
    expect(await holding(kept)).not.toThrow();
  });
});
