import { appendFileSync, chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { RoundSafetyRecord, StoredLogEntry } from '../../providers/storage';
import { DirectoryLockedError } from '../../storage/dirLock';
import { openNodeStore, StoreFormatError, type NodeStore } from '../../storage/nodeStore';
import { openWal, WalWriteError } from '../../storage/wal';
import { diskThatFills } from './failingDisk';

const dirs: string[] = [];
const open: NodeStore[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'node-store-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  for (const store of open.splice(0)) await store.close().catch(() => undefined);
  for (const dir of dirs.splice(0)) {
    chmodSync(dir, 0o700);
    rmSync(dir, { recursive: true, force: true });
  }
});
async function opened(dir: string, options: Parameters<typeof openNodeStore>[1] = {}): Promise<NodeStore> {
  const store = await openNodeStore(dir, options);
  open.push(store);
  return store;
}
async function reopened(store: NodeStore, options: Parameters<typeof openNodeStore>[1] = {}): Promise<NodeStore> {
  await store.close();
  return opened(store.dir, options);
}

const entry = (index: number, payload: unknown = { n: index }): StoredLogEntry => ({
  index,
  rank: index,
  attempt: 0,
  term: 1,
  valueDigest: 'ab'.repeat(32),
  proposer: 'n1',
  certificate: null,
  payload,
});
const safety = (rank: number, votedAttempt: number): RoundSafetyRecord => ({
  rank,
  votedAttempt,
  confirmedAttempt: -1,
  lock: null,
  valid: null,
  proposal: null,
});

describe('a node store on disk', () => {
  it('gives back term, vote, the round record and the log after a reopen, each the last saved', async () => {
    const store = await opened(tempDir());
    expect(await store.loadHardState()).toBeNull();
    expect(await store.loadRoundSafety()).toBeNull();
    expect(store.readLog()).toEqual([]);
    await Promise.all([
      store.saveHardState({ term: 1, votedFor: 'n1' }),
      store.saveHardState({ term: 2, votedFor: null }),
      store.saveRoundSafety(safety(3, 0)),
      store.saveRoundSafety(safety(4, 1)),
      store.appendLogEntry(entry(1)),
      store.appendLogEntry(entry(2)),
      store.appendLogEntry(entry(3, { text: 'é✓' })),
    ]);
    const again = await reopened(store);
    expect(await again.loadHardState()).toEqual({ term: 2, votedFor: null });
    expect(await again.loadRoundSafety()).toEqual(safety(4, 1));
    expect(again.readLog()).toEqual([entry(1), entry(2), entry(3, { text: 'é✓' })]);
  });

  it('says it is busy while a save is on its way, and settles once every save is durable', async () => {
    const store = await opened(tempDir());
    expect(store.busy).toBe(false);
    let durable = 0;
    const saves = Array.from({ length: 20 }, (_, i) => store.appendLogEntry(entry(i + 1)).then(() => (durable += 1)));
    expect(store.busy).toBe(true);
    await store.settled();
    expect(store.busy).toBe(false);
    await Promise.resolve();
    expect(durable).toBe(20);
    await Promise.all(saves);
    await store.settled();
  });

  it('fills a missing place below the tail in order, and refuses an index it holds, changing nothing', async () => {
    const store = await opened(tempDir());
    await store.appendLogEntry(entry(5));
    await store.appendLogEntry(entry(2));
    await expect(store.appendLogEntry(entry(5))).rejects.toThrow(RangeError);
    await expect(store.appendLogEntry(entry(2))).rejects.toThrow(RangeError);
    await store.appendLogEntry(entry(3));
    expect(store.readLog().map((e) => e.index)).toEqual([2, 3, 5]);
    expect((await reopened(store)).readLog()).toEqual([entry(2), entry(3), entry(5)]);
  });

  it('forgets entries below a compaction, across a reopen', async () => {
    const store = await opened(tempDir());
    for (let index = 1; index <= 10; index += 1) await store.appendLogEntry(entry(index));
    await store.compactLog(8);
    expect(store.readLog().map((e) => e.index)).toEqual([8, 9, 10]);
    expect((await reopened(store)).readLog().map((e) => e.index)).toEqual([8, 9, 10]);
  });

  it('checkpoints: the log on disk stays bounded while term, round record and the kept entries survive', async () => {
    const dir = tempDir();
    let store = await opened(dir, { segmentBytes: 64 * 1024 });
    const payload = 'x'.repeat(200);
    for (let index = 1; index <= 6000; index += 1) {
      const writes = [store.appendLogEntry(entry(index, payload)), store.saveRoundSafety(safety(index + 1, 0)), store.saveHardState({ term: index, votedFor: 'n2' })];
      if (index % 100 === 0) writes.push(store.compactLog(index - 200));
      await Promise.all(writes);
    }
    // 18,000 records of about 300 bytes were written: without checkpoints, over 5 MB.
    const segments = readdirSync(dir).filter((name) => name.endsWith('.wal'));
    expect(segments.length * 64 * 1024).toBeLessThan(1.5 * 1024 * 1024);
    store = await reopened(store, { segmentBytes: 64 * 1024 });
    expect(await store.loadHardState()).toEqual({ term: 6000, votedFor: 'n2' });
    expect(await store.loadRoundSafety()).toEqual(safety(6001, 0));
    const indices = store.readLog().map((e) => e.index);
    expect(indices[indices.length - 1]).toBe(6000);
    expect(indices[0]).toBe(5800);
    expect(indices).toEqual(Array.from({ length: 201 }, (_, i) => 5800 + i));
  });

  it('keeps the newest snapshot across reopens and checkpoints; an older one changes nothing', async () => {
    const dir = tempDir();
    let store = await opened(dir, { segmentBytes: 16 * 1024 });
    const snapshot = (index: number) => ({ index, valueDigest: 'cd'.repeat(32), certificate: null, value: { n: index }, data: JSON.stringify({ upTo: index }) });
    await store.saveSnapshot(snapshot(10));
    await store.saveSnapshot(snapshot(5));
    expect(store.readSnapshot()).toEqual(snapshot(10));
    // Enough records for checkpoints to delete the segment the snapshot was written in.
    for (let index = 1; index <= 3000; index += 1) await store.saveHardState({ term: index, votedFor: null });
    expect(readdirSync(dir).filter((name) => name.endsWith('.wal')).length).toBeLessThan(10);
    store = await reopened(store, { segmentBytes: 16 * 1024 });
    expect(store.readSnapshot()).toEqual(snapshot(10));
    expect(await store.loadHardState()).toEqual({ term: 3000, votedFor: null });
  });

  it('a torn tail is cut off and reported; what was acknowledged is there', async () => {
    const store = await opened(tempDir());
    await store.appendLogEntry(entry(1));
    await store.saveHardState({ term: 3, votedFor: 'n3' });
    await store.close();
    const segment = join(store.dir, readdirSync(store.dir).find((name) => name.endsWith('.wal'))!);
    appendFileSync(segment, Buffer.from([200, 0, 0, 0, 1, 2, 3]));
    const again = await opened(store.dir);
    expect(again.recovery.truncatedBytes).toBe(7);
    expect(again.readLog()).toEqual([entry(1)]);
    expect(await again.loadHardState()).toEqual({ term: 3, votedFor: 'n3' });
  });

  it('a record it does not know stops the open with StoreFormatError naming the record', async () => {
    const dir = tempDir();
    const wal = await openWal(dir);
    await wal.append(new TextEncoder().encode('{"k":"hard","v":{"term":1,"votedFor":null}}'));
    await wal.append(new TextEncoder().encode('{"k":"mystery"}'));
    await wal.close();
    await expect(openNodeStore(dir)).rejects.toThrow(StoreFormatError);
    await expect(openNodeStore(dir)).rejects.toThrow(/record 2 /);
  });

  it('a failing sync fails that save and every later one, and the store keeps only what was durable', async () => {
    const disk = diskThatFills();
    const store = await opened(tempDir(), { fs: disk.fs });
    await store.saveHardState({ term: 1, votedFor: 'n1' });
    disk.full = true;
    await expect(store.saveHardState({ term: 2, votedFor: 'n2' })).rejects.toThrow(WalWriteError);
    expect(store.failure).toBeInstanceOf(WalWriteError);
    disk.full = false;
    // The disk came back, the store did not: a node must not vote on a record it may have lost.
    await expect(store.saveRoundSafety(safety(1, 0))).rejects.toThrow(WalWriteError);
    await expect(store.appendLogEntry(entry(1))).rejects.toThrow(WalWriteError);
    expect(store.readLog()).toEqual([]);
    expect(await store.loadRoundSafety()).toBeNull();
    expect(await store.loadHardState()).toEqual({ term: 1, votedFor: 'n1' });
    expect((await reopened(store)).failure).toBeNull();
  });

  it('a read-only directory is a clear error at open, before anything is served', async () => {
    if (process.getuid?.() === 0) {
      // Root writes through file modes; check with a file where the directory should be instead.
      const parent = tempDir();
      writeFileSync(join(parent, 'store'), 'not a directory');
      await expect(openNodeStore(join(parent, 'store'))).rejects.toThrow(/EEXIST|ENOTDIR/);
      return;
    }
    const dir = tempDir();
    chmodSync(dir, 0o500);
    await expect(openNodeStore(join(dir, 'store'))).rejects.toThrow(/EACCES/);
  });

  it('one process at a time: a second open is refused while the first holds the directory, and a dead holder is taken over', async () => {
    const dir = tempDir();
    const store = await opened(dir);
    await expect(openNodeStore(dir)).rejects.toThrow(DirectoryLockedError);
    await store.close();
    // A lock left by a process that is gone (as after SIGKILL).
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(join(dir, 'LOCK'), `${gone.stdout}\n`);
    const again = await opened(dir);
    expect(await again.loadHardState()).toBeNull();
  });
});
