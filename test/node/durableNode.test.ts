import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoredLogError } from '../../engine/errors';
import { openNode } from '../../node/openNode';
import { DirectoryLockedError } from '../../storage/dirLock';
import { openNodeStore, type NodeStore } from '../../storage/nodeStore';
import { WalWriteError } from '../../storage/wal';
import { diskThatFills } from '../storage/failingDisk';
import { settleStores } from '../support/time';
import { NodeCluster } from './nodeCluster';

jest.setTimeout(60_000);

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});
function tempRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'durable-node-'));
  roots.push(root);
  return root;
}

/** What a node's log holds, as (index, digest) pairs. */
const logOf = (cluster: NodeCluster, name: string) =>
  cluster
    .node(name)
    .log.range(0, Number.MAX_SAFE_INTEGER)
    .map((entry) => [entry.index, entry.valueDigest]);

describe('a node restarts where it left off', () => {
  it('in memory: the restarted engine holds its log and resumes at its tail, then commits past it in agreement', async () => {
    const cluster = new NodeCluster({ seed: 11, size: 4 });
    cluster.bootAll();
    await cluster.advanceUntil(() => cluster.minCommits() >= 6, 20_000);
    const before = logOf(cluster, 'n3');
    const tail = cluster.node('n3').getActiveRank();
    // The app here has no sync: a node restarted at genesis could never rejoin, one restarted at its tail does.
    cluster.crash('n3');
    await cluster.advance(3);
    const restarted = cluster.boot('n3');
    // Before a single message: its own log, and its last committed value as the active state.
    expect(logOf(cluster, 'n3')).toEqual(before);
    expect(restarted.getActiveRank()).toBe(tail);
    expect(restarted.getActiveState().identity()).toBe(cluster.node('n1').log.get(tail)!.payload.identity());
    const target = cluster.node('n1').getActiveRank() + 3;
    await cluster.advanceUntil(() => restarted.getActiveRank() >= target, 30_000);
    for (let index = 1; index <= target; index += 1) {
      const mine = restarted.log.get(index);
      if (mine !== undefined) expect(mine.valueDigest).toBe(cluster.node('n1').log.get(index)!.valueDigest);
    }
    await cluster.stopAll();
  });

  it('on disk: openNode resumes term, vote, lock and log from its data directory', async () => {
    const root = tempRoot();
    const stores = new Map<string, NodeStore>();
    const dataDir = (name: string) => join(root, name);
    const names = ['n1', 'n2', 'n3', 'n4'];
    for (const name of names) stores.set(name, await openNodeStore(join(dataDir(name), 'store')));
    // Real syncs take real time: the clock waits for them, so no timer fires while a save is on its way.
    const writing = new Set<NodeStore>(stores.values());
    const cluster = new NodeCluster({ seed: 5, size: 4, storeFor: (name) => stores.get(name)!, settle: () => settleStores(writing) });
    cluster.bootAll();
    await cluster.advanceUntil(() => cluster.minCommits() >= 6, 20_000);
    const name = 'n2';
    const before = logOf(cluster, name);
    const hard = await stores.get(name)!.loadHardState();
    const safety = await stores.get(name)!.loadRoundSafety();
    const rank = cluster.node(name).getActiveRank();
    cluster.crash(name);
    // Opening the directory again while its store is open is refused: one process at a time.
    await expect(openNode({ ...cluster.configFor(name), dataDir: dataDir(name) })).rejects.toThrow(DirectoryLockedError);
    writing.delete(stores.get(name)!);
    await stores.get(name)!.close();

    const node = await openNode({ ...cluster.configFor(name), dataDir: dataDir(name) });
    writing.add(node.store);
    expect(hard).not.toBeNull();
    expect(await node.store.loadHardState()).toEqual(hard);
    expect(await node.store.loadRoundSafety()).toEqual(safety);
    expect(node.log.range(0, Number.MAX_SAFE_INTEGER).map((entry) => [entry.index, entry.valueDigest])).toEqual(before);
    expect(node.getActiveRank()).toBe(rank);
    cluster.attach(name, node);
    await cluster.advance(5);
    expect(node.getTerm()).toBeGreaterThanOrEqual(hard!.term);
    const target = cluster.node('n1').getActiveRank() + 2;
    await cluster.advanceUntil(() => node.getActiveRank() >= target, 30_000);
    await node.close();
    cluster.crash(name);
    for (const other of names.filter((n) => n !== name)) await stores.get(other)!.close();
  });

  it('a node whose disk fails stops: it votes and confirms nothing it could not save, and the others elect another leader and go on', async () => {
    const root = tempRoot();
    const disk = diskThatFills();
    const names = ['n1', 'n2', 'n3', 'n4'];
    const stores = new Map<string, NodeStore>();
    for (const name of names.filter((n) => n !== 'n2')) stores.set(name, await openNodeStore(join(root, name)));
    const writing = new Set<NodeStore>(stores.values());
    const cluster = new NodeCluster({ seed: 9, size: 4, storeFor: (name) => stores.get(name)!, settle: () => settleStores(writing) });
    const config = cluster.configFor('n2');
    const sent: string[] = [];
    const errors: string[] = [];
    const voting = config.providers.voting;
    const node = await openNode({
      ...config,
      dataDir: join(root, 'n2'),
      store: { fs: disk.fs },
      traceLogger: { trace: () => undefined, error: (message) => void errors.push(message) },
      providers: {
        ...config.providers,
        voting: {
          ...voting,
          decideAndSendVote: (proposals, signal, position) => {
            sent.push(`vote ${position.rank}`);
            return voting.decideAndSendVote!(proposals, signal, position);
          },
          sendConfirmation: (state, signal, position) => {
            sent.push(`confirmation ${position.rank}`);
            return voting.sendConfirmation(state, signal, position);
          },
        },
      },
    });
    writing.add(node.store);
    cluster.attach('n2', node);
    for (const name of names.filter((n) => n !== 'n2')) cluster.boot(name);
    await cluster.advanceUntil(() => cluster.minCommits() >= 3, 20_000);
    expect(sent.length).toBeGreaterThan(0);
    disk.full = true;
    const rank = node.getActiveRank();
    const others = ['n1', 'n3', 'n4'];
    await cluster.advanceUntil(() => others.every((name) => cluster.node(name).getActiveRank() >= rank + 5), 30_000);
    expect(node.store.failure).toBeInstanceOf(WalWriteError);
    expect(errors.filter((message) => message.includes('the node stops'))).toHaveLength(1);
    expect(node.actor.getSnapshot().value).toBe('stopped');
    // Nothing past the rank under way when the disk failed.
    expect(sent.filter((line) => Number(line.split(' ')[1]) > rank + 1)).toEqual([]);
    expect(others.map((name) => cluster.node(name).getLeader()?.identity())).not.toContain('n2');
    for (const name of others) await cluster.node(name).stop();
    for (const store of [...stores.values(), node.store]) await store.close().catch(() => undefined);
  });

  it('a log the app cannot read back stops openNode with StoredLogError, and the directory is free again', async () => {
    const root = tempRoot();
    const store = await openNodeStore(join(root, 'store'));
    await store.appendLogEntry({ index: 1, rank: 1, attempt: 0, term: 1, valueDigest: '00'.repeat(32), proposer: 'n1', certificate: null, payload: { not: 'a frame' } });
    await store.close();
    const cluster = new NodeCluster({ seed: 1, size: 4 });
    await expect(openNode({ ...cluster.configFor('n1'), dataDir: root })).rejects.toThrow(StoredLogError);
    // Not locked by the failed open.
    writeFileSync(join(root, 'probe'), '');
    const again = await openNodeStore(join(root, 'store'));
    await again.close();
  });
});
