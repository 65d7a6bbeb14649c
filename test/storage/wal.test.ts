import { chmodSync, closeSync, ftruncateSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FRAME_BYTES, HEADER_BYTES, segmentName } from '../../storage/segment';
import { nodeWalFs, openWal, WalClosedError, WalCorruptionError, WalWriteError, type Wal, type WalFs, type WalOptions } from '../../storage/wal';
import { payloadFor } from './records';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wal-test-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) {
    chmodSync(dir, 0o700);
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Opens the log and collects every record it gives back. */
async function openAndRead(dir: string, options: WalOptions = {}): Promise<{ wal: Wal; records: Array<[number, Buffer]> }> {
  const records: Array<[number, Buffer]> = [];
  const wal = await openWal(dir, { ...options, onRecord: (seq, payload) => void records.push([seq, Buffer.from(payload)]) });
  return { wal, records };
}

/** The records a fresh open gives back; the log is closed again. */
async function recordsIn(dir: string, options: WalOptions = {}): Promise<Array<[number, Buffer]>> {
  const { wal, records } = await openAndRead(dir, options);
  await wal.close();
  return records;
}

/** Appends records 1..count, ten at a time (a sync costs milliseconds here). */
async function writeLog(dir: string, count: number, options: WalOptions = {}): Promise<void> {
  const wal = await openWal(dir, options);
  for (let seq = 1; seq <= count; seq += 10) {
    await Promise.all(Array.from({ length: Math.min(10, count - seq + 1) }, (_, i) => wal.append(payloadFor(seq + i))));
  }
  await wal.close();
}

/** Sequence numbers from..to: what `served` gives for records from..to with the payloads they were written with. */
const expected = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
/** Each record's number, or what is wrong with its payload (Jest compares arrays of numbers much faster than of buffers). */
const served = (records: Array<[number, Buffer]>): Array<number | string> =>
  records.map(([seq, payload]) => (payload.equals(payloadFor(seq)) ? seq : `record ${seq} has the wrong payload`));
const segments = (dir: string) => readdirSync(dir).filter((name) => name.endsWith('.wal')).sort();
/** Start offset of every record in a segment file, and its end. */
function recordOffsets(file: string): number[] {
  const bytes = readFileSync(file);
  const offsets = [];
  for (let at = HEADER_BYTES; at < bytes.length; at += FRAME_BYTES + bytes.readUInt32LE(at)) offsets.push(at);
  return [...offsets, bytes.length];
}
/**
 * Puts `bytes` in `file` in place. (Not writeFileSync: ext4 flushes a file
 * emptied and rewritten when it is closed, milliseconds each time.)
 */
function rewrite(file: string, bytes: Uint8Array): void {
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, 0);
    ftruncateSync(fd, bytes.length);
  } finally {
    closeSync(fd);
  }
}
function flipByte(file: string, offset: number): void {
  const bytes = readFileSync(file);
  bytes[offset] ^= 0x5a;
  rewrite(file, bytes);
}
/** Syncs that do nothing, for the tests of what recovery makes of a file: a sync costs milliseconds here, and they open hundreds. */
const unsynced: WalFs = { ...nodeWalFs, fdatasync: async () => undefined, fsync: async () => undefined };
const ioError = (code: string) => Object.assign(new Error(`${code}: injected`), { code });

/** A file system that counts data syncs and can hold them or fail them. */
function instrumentedFs(overrides: Partial<WalFs> = {}) {
  const counts = { fdatasync: 0, write: 0 };
  const fs: WalFs = {
    ...nodeWalFs,
    write: (...args) => {
      counts.write += 1;
      return nodeWalFs.write(...args);
    },
    fdatasync: (fd) => {
      counts.fdatasync += 1;
      return nodeWalFs.fdatasync(fd);
    },
    ...overrides,
  };
  return { fs, counts };
}

describe('the write-ahead log', () => {
  it('gives back what was appended, numbered from 1, across a close and reopen', async () => {
    const dir = tempDir();
    const wal = await openWal(dir);
    expect(wal.recovery).toMatchObject({ segments: 0, records: 0, firstSeq: 1, lastSeq: 0, truncatedBytes: 0, droppedRecords: 0, tornAt: null });
    expect(await wal.append(new Uint8Array(0))).toBe(1);
    expect(await wal.append(Buffer.from('two'))).toBe(2);
    const reused = Buffer.from('three');
    const third = wal.append(reused);
    // The payload was copied by append: the caller may reuse its buffer at once.
    reused.fill(0);
    expect(await third).toBe(3);
    expect([wal.lastSeq, wal.durableSeq]).toEqual([3, 3]);
    await wal.close();
    expect(segments(dir)).toEqual(['0000000000000001.wal']);

    const { wal: reopened, records } = await openAndRead(dir);
    expect(records.map(([seq, payload]) => [seq, payload.toString()])).toEqual([[1, ''], [2, 'two'], [3, 'three']]);
    expect(reopened.recovery).toMatchObject({ segments: 1, records: 3, firstSeq: 1, lastSeq: 3, truncatedBytes: 0, tornAt: null });
    expect(await reopened.append(Buffer.from('four'))).toBe(4);
    await reopened.close();
    expect((await recordsIn(dir)).map(([seq]) => seq)).toEqual([1, 2, 3, 4]);
  });

  it('rolls to a new segment past segmentBytes; names sort in log order; each segment is read back in order', async () => {
    const dir = tempDir();
    const segmentBytes = 1024;
    await writeLog(dir, 150, { segmentBytes });
    const names = segments(dir);
    expect(names.length).toBeGreaterThan(25);
    expect(names[0]).toBe(segmentName(1));
    let next = 1;
    for (const name of names) {
      expect(Number(name.slice(0, 16))).toBe(next);
      const offsets = recordOffsets(join(dir, name));
      next += offsets.length - 1;
      // Only a record too big to share a segment takes one past the limit, alone.
      if (statSync(join(dir, name)).size > segmentBytes) expect(offsets).toHaveLength(2);
    }
    expect(next).toBe(151);
    const { wal, records } = await openAndRead(dir, { segmentBytes });
    expect(served(records)).toEqual(expected(1, 150));
    expect(wal.recovery).toMatchObject({ segments: names.length, records: 150 });
    // A record larger than a segment gets one of its own.
    expect(await wal.append(Buffer.alloc(3 * segmentBytes, 7))).toBe(151);
    expect(await wal.append(payloadFor(152))).toBe(152);
    await wal.close();
    expect(segments(dir).slice(-2)).toEqual([segmentName(151), segmentName(152)]);
    expect(statSync(join(dir, segmentName(151))).size).toBe(HEADER_BYTES + FRAME_BYTES + 3 * segmentBytes);
  });

  it('gives onRecord only the records from fromSeq on, after checking all of them', async () => {
    const dir = tempDir();
    await writeLog(dir, 20, { segmentBytes: 512 });
    const { wal, records } = await openAndRead(dir, { fromSeq: 15 });
    expect(served(records)).toEqual(expected(15, 20));
    expect(wal.recovery.records).toBe(20);
    await wal.close();
  });

  it('group commit: many concurrent appends share a few syncs, each resolving with its own number', async () => {
    const dir = tempDir();
    const { fs, counts } = instrumentedFs();
    const wal = await openWal(dir, { fs });
    const syncsAtOpen = counts.fdatasync;
    const seqs = await Promise.all(Array.from({ length: 500 }, (_, i) => wal.append(payloadFor(i + 1))));
    expect(seqs).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect(counts.fdatasync - syncsAtOpen).toBeLessThanOrEqual(2);
    await wal.close();
    expect(served(await recordsIn(dir))).toEqual(expected(1, 500));
  });

  it('resolves an append only after the sync that covers it; appends made during a sync share the next one', async () => {
    const dir = tempDir();
    let holding = false;
    const held: Array<() => void> = [];
    const { fs, counts } = instrumentedFs({
      fdatasync: async (fd) => {
        counts.fdatasync += 1;
        if (holding) await new Promise<void>((release) => held.push(release));
        return nodeWalFs.fdatasync(fd);
      },
    });
    const wal = await openWal(dir, { fs });
    holding = true;
    const syncsAtOpen = counts.fdatasync;
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    // The write before the sync is real I/O: on a busy disk it outlasts any number of event-loop turns.
    const untilHeld = async () => {
      const until = Date.now() + 10_000;
      for (let i = 0; i < 10_000 && held.length === 0 && Date.now() < until; i += 1) await new Promise((resolve) => setTimeout(resolve, 1));
      expect(held).toHaveLength(1);
    };
    const resolved: number[] = [];
    const track = (promise: Promise<number>) => promise.then((seq) => void resolved.push(seq));
    const first = track(wal.append(payloadFor(1)));
    await untilHeld();
    const later = Array.from({ length: 40 }, (_, i) => track(wal.append(payloadFor(i + 2))));
    for (let i = 0; i < 5; i += 1) await turn();
    expect(resolved).toEqual([]);
    expect(wal.durableSeq).toBe(0);
    held.shift()!();
    await first;
    expect(resolved).toEqual([1]);
    await untilHeld();
    expect(resolved).toEqual([1]);
    held.shift()!();
    await Promise.all(later);
    expect(resolved).toEqual(Array.from({ length: 41 }, (_, i) => i + 1));
    expect(counts.fdatasync - syncsAtOpen).toBe(2);
    expect(wal.durableSeq).toBe(41);
    holding = false;
    await wal.close();
  });

  it('writes everything when the file system writes a few bytes at a time', async () => {
    const dir = tempDir();
    const fs: WalFs = { ...nodeWalFs, write: (fd, buffer, offset, length, position) => nodeWalFs.write(fd, buffer, offset, Math.min(length, 3), position) };
    await writeLog(dir, 30, { fs, segmentBytes: 600 });
    expect(served(await recordsIn(dir))).toEqual(expected(1, 30));
  });

  describe('a torn tail', () => {
    it('cut at every byte of the last two records: never an error, never a partial record, and the report says what was dropped', async () => {
      const dir = tempDir();
      await writeLog(dir, 6);
      const file = join(dir, segmentName(1));
      const whole = readFileSync(file);
      const offsets = recordOffsets(file);
      for (let length = offsets[offsets.length - 3]; length <= whole.length; length += 1) {
        rewrite(file, whole.subarray(0, length));
        const kept = offsets.filter((end) => end <= length).length - 1;
        const boundary = offsets[kept];
        const { wal, records } = await openAndRead(dir, { fs: unsynced });
        expect([length, served(records)]).toEqual([length, expected(1, kept)]);
        expect([length, wal.recovery]).toEqual([
          length,
          expect.objectContaining({
            lastSeq: kept,
            truncatedBytes: length - boundary,
            droppedRecords: length > boundary ? 1 : 0,
            tornAt: length > boundary ? { file, offset: boundary } : null,
          }),
        ]);
        expect(statSync(file).size).toBe(boundary);
        // The log goes on from the last whole record.
        expect(await wal.append(payloadFor(kept + 1))).toBe(kept + 1);
        await wal.close();
        const reopened = await openAndRead(dir, { fs: unsynced });
        expect(served(reopened.records)).toEqual(expected(1, kept + 1));
        await reopened.wal.close();
      }
    });

    it('zeros where records should be (a file extended but never written, after a power cut) are cut and are not counted as records', async () => {
      const dir = tempDir();
      await writeLog(dir, 4);
      const file = join(dir, segmentName(1));
      const whole = readFileSync(file);
      const offsets = recordOffsets(file);
      const last = offsets[offsets.length - 2];
      // Zeros after the last record, then zeros after half of it.
      for (const [kept, length, dropped] of [[4, whole.length, 0], [3, last + (whole.length - last) / 2, 1]]) {
        rewrite(file, Buffer.concat([whole.subarray(0, Math.floor(length)), Buffer.alloc(4096)]));
        const { wal, records } = await openAndRead(dir, { fs: unsynced });
        expect(served(records)).toEqual(expected(1, kept));
        const boundary = offsets[kept];
        expect(wal.recovery).toMatchObject({ truncatedBytes: Math.floor(length) + 4096 - boundary, droppedRecords: dropped, tornAt: { file, offset: boundary } });
        await wal.close();
      }
    });

    it('a flipped byte anywhere in the last record is a torn tail: that record is dropped, the rest served', async () => {
      const dir = tempDir();
      await writeLog(dir, 5);
      const file = join(dir, segmentName(1));
      const whole = readFileSync(file);
      const offsets = recordOffsets(file);
      const last = offsets[offsets.length - 2];
      for (let at = last; at < whole.length; at += 1) {
        rewrite(file, whole);
        flipByte(file, at);
        const { wal, records } = await openAndRead(dir, { fs: unsynced });
        expect([at, served(records)]).toEqual([at, expected(1, 4)]);
        expect(wal.recovery.tornAt).toEqual({ file, offset: last });
        expect(wal.recovery.truncatedBytes).toBe(whole.length - last);
        expect(wal.recovery.droppedRecords).toBeGreaterThanOrEqual(1);
        await wal.close();
      }
    });
  });

  describe('corruption', () => {
    it('a flipped byte anywhere in a record with valid records after it is a WalCorruptionError naming the file and the offset', async () => {
      const dir = tempDir();
      await writeLog(dir, 5);
      const file = join(dir, segmentName(1));
      const whole = readFileSync(file);
      const [, second, third] = recordOffsets(file);
      // The length field included: a damaged length must not pass for a torn tail.
      for (let at = second; at < third; at += 1) {
        rewrite(file, whole);
        flipByte(file, at);
        const seen: number[] = [];
        const error = await openWal(dir, { fs: unsynced, onRecord: (seq) => void seen.push(seq) }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(WalCorruptionError);
        expect(error).toMatchObject({ file, offset: second });
        expect((error as Error).message).toContain(`${file} byte ${second}`);
        // Only the records before the damage were served.
        expect(seen).toEqual([1]);
        // Nothing was cut: the damage is left for an operator to look at.
        expect(readFileSync(file).length).toBe(whole.length);
      }
    });

    it('a bad record at the end of a segment that is not the last is corruption, not a torn tail', async () => {
      const dir = tempDir();
      await writeLog(dir, 20, { segmentBytes: 700 });
      const [first] = segments(dir);
      const file = join(dir, first);
      const offsets = recordOffsets(file);
      const last = offsets[offsets.length - 2];
      flipByte(file, offsets[offsets.length - 1] - 1);
      await expect(openWal(dir)).rejects.toMatchObject({ name: 'WalCorruptionError', file, offset: last });
      // A segment cut short is the same.
      writeFileSync(file, readFileSync(file).subarray(0, last + 3));
      await expect(openWal(dir)).rejects.toMatchObject({ name: 'WalCorruptionError', file, offset: last });
    });

    it('a damaged segment header, a header that disagrees with its name, or a missing segment is corruption at byte 0', async () => {
      const dir = tempDir();
      await writeLog(dir, 20, { segmentBytes: 700 });
      const names = segments(dir);
      expect(names.length).toBeGreaterThanOrEqual(3);
      const file = join(dir, names[1]);
      const whole = readFileSync(file);
      for (let at = 0; at < HEADER_BYTES; at += 1) {
        rewrite(file, whole);
        flipByte(file, at);
        const error = await openWal(dir, { fs: unsynced }).catch((e: unknown) => e);
        expect([at, error]).toEqual([at, expect.any(WalCorruptionError)]);
        expect(error).toMatchObject({ file, offset: 0 });
      }
      rewrite(file, whole.subarray(0, HEADER_BYTES - 1));
      await expect(openWal(dir)).rejects.toMatchObject({ file, offset: 0, reason: expect.stringMatching(/header is 19 bytes/) });
      rewrite(file, whole);
      const lastFile = join(dir, names[names.length - 1]);
      const renamed = join(dir, segmentName(1_000_000));
      renameSync(lastFile, renamed);
      await expect(openWal(dir)).rejects.toMatchObject({ file: renamed, offset: 0, reason: expect.stringMatching(/its name says 1000000/) });
      renameSync(renamed, lastFile);
      rmSync(file);
      await expect(openWal(dir)).rejects.toMatchObject({ file: join(dir, names[2]), offset: 0, reason: expect.stringMatching(/records are missing/) });
    });

    it('a segment whose creation a crash interrupted (never renamed into place) is deleted', async () => {
      const dir = tempDir();
      await writeLog(dir, 3);
      writeFileSync(join(dir, `${segmentName(4)}.tmp`), Buffer.alloc(7));
      const { wal, records } = await openAndRead(dir);
      expect(served(records)).toEqual(expected(1, 3));
      expect(wal.recovery.removedTempFiles).toBe(1);
      expect(readdirSync(dir)).toEqual([segmentName(1)]);
      await wal.close();
    });
  });

  describe('a failed write or sync', () => {
    async function expectFailedState(dir: string, wal: Wal, waiting: Array<Promise<number>>, operation: string, fs: { calls: number }) {
      const outcomes = await Promise.allSettled(waiting);
      for (const outcome of outcomes) {
        expect(outcome.status).toBe('rejected');
        expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(WalWriteError);
      }
      expect(wal.failure).toBeInstanceOf(WalWriteError);
      expect(wal.failure).toMatchObject({ operation });
      // Refused at once: the file system is not even asked.
      const calls = fs.calls;
      await expect(wal.append(payloadFor(99))).rejects.toBe(wal.failure);
      expect(fs.calls).toBe(calls);
      await wal.close();
      // What was durable before the failure is all there on reopening.
      const { wal: reopened, records } = await openAndRead(dir);
      expect(served(records).slice(0, 3)).toEqual(expected(1, 3));
      await reopened.close();
    }

    it('an fsync error rejects every waiting append with WalWriteError (those queued behind the sync too) and every later one at once', async () => {
      const dir = tempDir();
      let failing = false;
      let failSync: (() => void) | null = null;
      const tally = { calls: 0 };
      const fs: WalFs = {
        ...nodeWalFs,
        write: (...args) => {
          tally.calls += 1;
          return nodeWalFs.write(...args);
        },
        fdatasync: (fd) => {
          tally.calls += 1;
          if (!failing) return nodeWalFs.fdatasync(fd);
          return new Promise((_, reject) => (failSync = () => reject(ioError('EIO'))));
        },
      };
      const wal = await openWal(dir, { fs });
      for (let seq = 1; seq <= 3; seq += 1) await wal.append(payloadFor(seq));
      failing = true;
      const waiting = Array.from({ length: 10 }, (_, i) => wal.append(payloadFor(i + 4)));
      // Real I/O comes first: wait for the sync by time, not by event-loop turns.
      const until = Date.now() + 10_000;
      for (let i = 0; i < 10_000 && failSync === null && Date.now() < until; i += 1) await new Promise((resolve) => setTimeout(resolve, 1));
      expect(failSync).not.toBeNull();
      waiting.push(...Array.from({ length: 5 }, (_, i) => wal.append(payloadFor(i + 14))));
      failSync!();
      await expectFailedState(dir, wal, waiting, 'fdatasync', tally);
      expect((wal.failure!.cause as { code: string }).code).toBe('EIO');
    });

    it('a write error (a full disk) does the same', async () => {
      const dir = tempDir();
      let failing = false;
      const tally = { calls: 0 };
      const fs: WalFs = {
        ...nodeWalFs,
        write: (...args) => {
          tally.calls += 1;
          return failing ? Promise.reject(ioError('ENOSPC')) : nodeWalFs.write(...args);
        },
      };
      const wal = await openWal(dir, { fs });
      for (let seq = 1; seq <= 3; seq += 1) await wal.append(payloadFor(seq));
      failing = true;
      await expectFailedState(dir, wal, [wal.append(payloadFor(4)), wal.append(payloadFor(5))], 'write', tally);
    });

    it('a directory made read-only under a running log: the next segment cannot be created, the log stops', async () => {
      const dir = tempDir();
      chmodSync(dir, 0o500);
      let readOnly = true;
      try {
        writeFileSync(join(dir, 'probe'), '');
        rmSync(join(dir, 'probe'));
        readOnly = false;
      } catch {
        // EACCES: permissions hold for this user.
      }
      chmodSync(dir, 0o700);
      const tally = { calls: 0 };
      let blocked = false;
      // Permissions do not stop root: then the file system says what a read-only directory would.
      const fs: WalFs = {
        ...nodeWalFs,
        open: (path, flags) => {
          tally.calls += 1;
          return !readOnly && flags === 'wx' && blocked ? Promise.reject(ioError('EACCES')) : nodeWalFs.open(path, flags);
        },
      };
      const wal = await openWal(dir, { fs, segmentBytes: 1024 });
      for (let seq = 1; seq <= 3; seq += 1) await wal.append(payloadFor(seq));
      chmodSync(dir, 0o500);
      blocked = true;
      const waiting = Array.from({ length: 20 }, (_, i) => wal.append(payloadFor(i + 4)));
      try {
        await expectFailedState(dir, wal, waiting, 'create', tally);
      } finally {
        chmodSync(dir, 0o700);
      }
      expect((wal.failure!.cause as { code: string }).code).toBe('EACCES');
    });
  });

  it('truncateBefore deletes whole segments below a sequence number, never the one being written', async () => {
    const dir = tempDir();
    // Room for three records or more in each segment.
    const segmentBytes = 2000;
    const wal = await openWal(dir, { segmentBytes });
    for (let seq = 1; seq <= 60; seq += 1) await wal.append(payloadFor(seq));
    const before = segments(dir).map((name) => Number(name.slice(0, 16)));
    const cut = before[3] + 1;
    expect(await wal.truncateBefore(cut)).toBe(3);
    // The segment holding cut - 1 stays: it holds records from cut on too.
    expect(segments(dir).map((name) => Number(name.slice(0, 16)))).toEqual(before.slice(3));
    expect(wal.firstSeq).toBe(before[3]);
    expect(await wal.truncateBefore(cut)).toBe(0);
    expect(await wal.truncateBefore(1_000)).toBe(before.length - 4);
    expect(segments(dir)).toEqual([segmentName(before[before.length - 1])]);
    expect(await wal.append(payloadFor(61))).toBe(61);
    await wal.close();
    const { wal: reopened, records } = await openAndRead(dir, { segmentBytes });
    expect(reopened.recovery.firstSeq).toBe(before[before.length - 1]);
    expect(served(records)).toEqual(expected(before[before.length - 1], 61));
    await reopened.close();
  });

  it('close waits for the appends already made; later ones are refused', async () => {
    const dir = tempDir();
    const wal = await openWal(dir);
    const made = [wal.append(payloadFor(1)), wal.append(payloadFor(2))];
    await wal.close();
    expect(await Promise.all(made)).toEqual([1, 2]);
    await expect(wal.append(payloadFor(3))).rejects.toBeInstanceOf(WalClosedError);
    await expect(wal.truncateBefore(1)).rejects.toBeInstanceOf(WalClosedError);
    expect(served(await recordsIn(dir))).toEqual(expected(1, 2));
  });
});
