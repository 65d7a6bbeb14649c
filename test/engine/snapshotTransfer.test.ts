import { createHash } from 'node:crypto';
import { payloadCluster, type Block, type PayloadCluster } from '../../bench/payloadCluster';
import type { ReplicatedStateMachine, Snapshot } from '../../engine/stateMachine';
import type { SnapshotChunk } from '../../providers/relay';
import { InMemorySafetyStorage } from '../../providers/storage';

/** A hash chain over every block applied, with its head after each index, so two nodes' states compare index by index. */
class Chain implements ReplicatedStateMachine<Block> {
  head = 'genesis';
  readonly heads = new Map<number, string>();
  readonly restored: number[] = [];
  apply(value: Block, index: number): void {
    this.head = createHash('sha256').update(`${this.head}|${value.identity()}`).digest('hex');
    this.heads.set(index, this.head);
  }
  snapshot(): unknown {
    return { head: this.head };
  }
  restore(data: unknown, index: number): void {
    this.head = (data as { head: string }).head;
    this.heads.set(index, this.head);
    this.restored.push(index);
  }
}

/** A chunk of `snapshot` as a member would send it: `length` characters of its data from `offset`. */
function chunkOf(snapshot: Snapshot<Block>, offset = 0, length = snapshot.data.length): SnapshotChunk<Block> {
  return {
    index: snapshot.index,
    state: snapshot.value,
    certificate: snapshot.certificate!,
    dataDigest: createHash('sha256').update(snapshot.data).digest('hex'),
    size: snapshot.data.length,
    offset,
    data: snapshot.data.slice(offset, offset + length),
  };
}

interface Laggard {
  cluster: PayloadCluster;
  chains: Map<string, Chain>;
  rejoin(): void;
}

/** The last member (n3 of four) is cut off while the others commit `entries`, keeping `retention` entries and snapshotting every `interval`. */
async function laggard(entries: number, interval: number, retention: number, sizes?: { maxSnapshotSize: number }, size = 4): Promise<Laggard> {
  let isolated = true;
  const late = `n${size - 1}`;
  const chains = new Map(Array.from({ length: size }, (_, i) => [`n${i}`, new Chain()]));
  const cluster = payloadCluster({
    size,
    syncFromPeers: true,
    cut: (from, to) => isolated && (from === late || to === late),
    engineConfig: (name) => ({
      stateMachine: chains.get(name)!,
      snapshotInterval: interval,
      logRetention: retention,
      storage: new InMemorySafetyStorage(),
      ...sizes,
    }),
  });
  for (const engine of cluster.engines.values()) engine.start();
  expect(await cluster.runUntil(() => cluster.engine('n0').getAppliedIndex() >= entries, Math.max(20_000, 60 * entries))).toBe(true);
  return {
    cluster,
    chains,
    rejoin() {
      isolated = false;
      cluster.engine(late).induceSync();
    },
  };
}

describe('snapshots to a node that fell behind', () => {
  let cluster: PayloadCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it('a node down while the others committed 5,000 entries catches up through a snapshot, and its state equals theirs', async () => {
    const run = await laggard(5000, 1000, 1000);
    cluster = run.cluster;
    const n0 = cluster.engine('n0');
    const n3 = cluster.engine('n3');
    // The others no longer hold the first entries: only a snapshot can bring n3's state machine past them.
    expect(n0.log.first).toBeGreaterThan(1);
    expect(n0.latestSnapshot()!.index).toBeGreaterThanOrEqual(4000);
    const chunksBefore = cluster.sent.get('snapshotChunk') ?? 0;
    expect(chunksBefore).toBe(0);
    run.rejoin();
    expect(await cluster.runUntil(() => n3.getAppliedIndex() > 5000 && n3.getAppliedIndex() <= n0.getAppliedIndex(), 30_000)).toBe(true);
    const chain3 = run.chains.get('n3')!;
    // It received a snapshot, restored it, and applied the log after it.
    expect(cluster.sent.get('snapshotChunk') ?? 0).toBeGreaterThan(0);
    expect(chain3.restored).toHaveLength(1);
    expect(chain3.restored[0]).toBeGreaterThanOrEqual(5000);
    expect(n3.latestSnapshot()!.index).toBeGreaterThanOrEqual(chain3.restored[0]);
    const at = n3.getAppliedIndex();
    expect(chain3.heads.get(at)).toBe(run.chains.get('n0')!.heads.get(at));
    expect(chain3.heads.get(at)).toBe(run.chains.get('n1')!.heads.get(at));
    // Nothing below the snapshot is still being fetched.
    expect(n3.log.missing()).toEqual([]);
  }, 300_000);

  it('a snapshot one member sends alone is kept, not restored: it takes more than the faulty weight', async () => {
    const run = await laggard(60, 20, 20);
    cluster = run.cluster;
    const n0 = cluster.engine('n0');
    const n3 = cluster.engine('n3');
    const snapshot = n0.latestSnapshot()!;
    const chunk = chunkOf(snapshot);
    expect(n3.receiveSnapshotChunk('n0', chunk)).toBe('kept');
    expect(n3.receiveSnapshotChunk('n0', chunk)).toBe('kept');
    expect(run.chains.get('n3')!.restored).toEqual([]);
    // A second member's matching copy makes f + 1.
    expect(n3.receiveSnapshotChunk('n1', chunk)).toBe('restored');
    expect(run.chains.get('n3')!.restored).toEqual([snapshot.index]);
    expect(n3.getAppliedIndex()).toBe(snapshot.index);
    // Older than what is applied now.
    expect(n3.receiveSnapshotChunk('n2', chunk)).toBe('ignored');
  });

  // f + 1 at sizes other than 3f + 1: f = 0, 1, 2 and 3, with quorums of 2 of 3, 3 of 5, 5 of 7 and 7 of 10.
  it.each([3, 5, 7, 10])('n = %i: a snapshot is restored only once f + 1 members sent it', async (size) => {
    const run = await laggard(40, 20, 20, undefined, size);
    cluster = run.cluster;
    const late = cluster.engine(`n${size - 1}`);
    const chunk = chunkOf(cluster.engine('n0').latestSnapshot()!);
    const f = Math.floor((size - 1) / 3);
    for (let sender = 0; sender < f; sender += 1) expect(late.receiveSnapshotChunk(`n${sender}`, chunk)).toBe('kept');
    expect(run.chains.get(`n${size - 1}`)!.restored).toEqual([]);
    expect(late.receiveSnapshotChunk(`n${f}`, chunk)).toBe('restored');
    expect(late.getAppliedIndex()).toBe(chunk.index);
  });

  it('refuses a chunk whose data does not hash to its digest, whose certificate does not verify, or that is too large, and keeps nothing', async () => {
    const run = await laggard(60, 20, 20, { maxSnapshotSize: 1000 });
    cluster = run.cluster;
    const n3 = cluster.engine('n3');
    const snapshot = cluster.engine('n0').latestSnapshot()!;
    const good = chunkOf(snapshot);
    const forged = JSON.stringify({ head: 'forged' });
    expect(() => n3.receiveSnapshotChunk('n0', { ...good, data: forged, size: forged.length })).toThrow(/does not hash/);
    const otherRank = cluster.engine('n0').log.get(snapshot.index - 1)!;
    expect(() => n3.receiveSnapshotChunk('n0', { ...good, certificate: otherRank.certificate! })).toThrow(/another rank or value/);
    const signatures = [...good.certificate.signatures].reverse();
    expect(() => n3.receiveSnapshotChunk('n0', { ...good, certificate: { ...good.certificate, signatures } })).toThrow();
    expect(() => n3.receiveSnapshotChunk('n0', { ...good, size: 5000 })).toThrow(/over the 1000/);
    expect(() => n3.receiveSnapshotChunk('n0', { ...good, extra: 1 } as typeof good)).toThrow();
    expect(() => n3.receiveSnapshotChunk('nobody', good)).toThrow();
    // None of them counted: one good copy is still only one member's.
    expect(n3.receiveSnapshotChunk('n0', good)).toBe('kept');
    expect(run.chains.get('n3')!.restored).toEqual([]);
  });

  it('assembles a snapshot sent in chunks, in order only', async () => {
    const run = await laggard(60, 20, 20);
    cluster = run.cluster;
    const n3 = cluster.engine('n3');
    const snapshot = cluster.engine('n0').latestSnapshot()!;
    const piece = (offset: number, length: number) => chunkOf(snapshot, offset, length);
    const half = Math.floor(snapshot.data.length / 2);
    // n0: the second half first is out of order and dropped.
    expect(n3.receiveSnapshotChunk('n0', piece(half, snapshot.data.length))).toBe('ignored');
    expect(n3.receiveSnapshotChunk('n0', piece(0, half))).toBe('kept');
    expect(n3.receiveSnapshotChunk('n0', piece(half, snapshot.data.length))).toBe('kept');
    expect(n3.receiveSnapshotChunk('n1', piece(0, half))).toBe('kept');
    expect(n3.receiveSnapshotChunk('n1', piece(half, snapshot.data.length))).toBe('restored');
  });
});
