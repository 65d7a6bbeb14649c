import { join } from 'node:path';
import { WalClosedError, WalError, WalWriteError } from './errors';
import { nodeWalFs, type WalFs } from './fs';
import { recover, type RecordCallback, type RecoveryReport, type Segment } from './recovery';
import { encodeHeader, encodeRecord, FRAME_BYTES, HEADER_BYTES, MAX_PAYLOAD_BYTES, segmentName, TEMP_SUFFIX } from './segment';

export { WalClosedError, WalCorruptionError, WalError, WalWriteError } from './errors';
export { nodeWalFs, type WalFs } from './fs';
export type { RecordCallback, RecoveryReport } from './recovery';

/**
 * A crash-safe, segmented, append-only log of opaque records on disk, after
 * etcd's WAL. Records are numbered 1, 2, 3, … with no gaps; an append
 * resolves with its record's number once the record is durable.
 *
 * One log per directory, opened by one process at a time: nothing locks the
 * directory, and two writers would interleave their records.
 */
export interface Wal {
  readonly dir: string;
  /** What opening found and repaired. */
  readonly recovery: RecoveryReport;
  /** The lowest sequence number held: 1, or past what `truncateBefore` removed. */
  readonly firstSeq: number;
  /** The sequence number of the last append made (durable or not yet). */
  readonly lastSeq: number;
  /** Every record up to this sequence number is durable. */
  readonly durableSeq: number;
  /** The write or sync failure that stopped the log, or null. */
  readonly failure: WalWriteError | null;
  /**
   * Appends one record; resolves with its sequence number once it is durable
   * (written and fdatasync'ed). Appends made while a sync is in flight, or in
   * the same turn of the event loop, share one write and one sync. Rejects
   * with `WalWriteError` if the write or sync fails, and from then on at once.
   * The payload is copied before `append` returns: the caller may reuse it.
   */
  append(payload: Uint8Array): Promise<number>;
  /**
   * Deletes the oldest segments whose every record is below `seq` (after a
   * snapshot covers them); the segment being written is never deleted.
   * Resolves with the number of segments deleted.
   */
  truncateBefore(seq: number): Promise<number>;
  /** Whether an append is queued or being written. */
  readonly busy: boolean;
  /** Resolves once nothing is queued, written or deleted. */
  settled(): Promise<void>;
  /** Waits for the appends already made to be durable (or to fail), then closes the file. */
  close(): Promise<void>;
}

export interface WalOptions {
  /** A segment is closed and a new one begun once the next record would take it past this size. Default 64 MiB. */
  segmentBytes?: number;
  /**
   * Called with each record read at open, in order, before `openWal`
   * resolves; a promise it returns is awaited. The payload is the caller's to
   * keep. Records are not kept in memory otherwise. If opening then fails
   * (corruption later in the log), the records already given are valid but
   * the caller should not act on a log that did not open.
   */
  onRecord?: RecordCallback;
  /** Records below this sequence number are checked but not given to `onRecord` (a snapshot covers them). */
  fromSeq?: number;
  /** The file operations; `node:fs` unless a test replaces them. */
  fs?: WalFs;
}

export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
/** One write carries at most this much; a larger group commit is written in several. */
const MAX_WRITE_BYTES = 4 * 1024 * 1024;

interface Pending {
  seq: number;
  frame: Buffer;
  resolve: (seq: number) => void;
  reject: (error: unknown) => void;
}

/**
 * Opens (creating if needed) the log in `dir`: reads and checks every
 * segment, cuts a torn tail off the last one, and resolves with a log that
 * appends after the last valid record. Rejects with `WalCorruptionError` if
 * the log is damaged anywhere but its tail.
 */
export async function openWal(dir: string, options: WalOptions = {}): Promise<Wal> {
  const fs = options.fs ?? nodeWalFs;
  const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  if (!Number.isSafeInteger(segmentBytes) || segmentBytes <= HEADER_BYTES) {
    throw new RangeError(`segmentBytes must be an integer above ${HEADER_BYTES}, got ${segmentBytes}`);
  }
  const recovered = await recover(fs, dir, options.fromSeq ?? 0, options.onRecord);
  const wal = new WriteAheadLog(fs, dir, segmentBytes, recovered.report, recovered.segments);
  if (recovered.lastFd !== null) wal.resume(recovered.lastFd, recovered.size);
  else await wal.begin();
  return wal;
}

class WriteAheadLog implements Wal {
  private fd: number | null = null;
  private size = 0;
  private nextSeq: number;
  private synced: number;
  private queue: Pending[] = [];
  private scheduled: ReturnType<typeof setImmediate> | null = null;
  private flushing: Promise<void> | null = null;
  private compaction: Promise<unknown> = Promise.resolve();
  private closed = false;
  private closing: Promise<void> | null = null;
  failure: WalWriteError | null = null;

  constructor(
    private readonly fs: WalFs,
    readonly dir: string,
    private readonly segmentBytes: number,
    readonly recovery: RecoveryReport,
    private readonly segments: Segment[],
  ) {
    this.nextSeq = recovery.lastSeq + 1;
    this.synced = recovery.lastSeq;
  }

  get firstSeq(): number {
    return this.segments[0].firstSeq;
  }

  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  get durableSeq(): number {
    return this.synced;
  }

  resume(fd: number, size: number): void {
    this.fd = fd;
    this.size = size;
  }

  async begin(): Promise<void> {
    this.fd = await this.createSegment(this.nextSeq);
    this.size = HEADER_BYTES;
  }

  append(payload: Uint8Array): Promise<number> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new WalClosedError());
    // Not instanceof: a Uint8Array made in another realm (a vm context, a worker's transfer) is one too.
    if (Object.prototype.toString.call(payload) !== '[object Uint8Array]') return Promise.reject(new TypeError('a record is a Uint8Array'));
    if (payload.length > MAX_PAYLOAD_BYTES) return Promise.reject(new RangeError(`a record holds at most ${MAX_PAYLOAD_BYTES} bytes`));
    const frame = Buffer.allocUnsafe(FRAME_BYTES + payload.length);
    encodeRecord(payload, frame, 0);
    const seq = this.nextSeq;
    this.nextSeq += 1;
    return new Promise((resolve, reject) => {
      this.queue.push({ seq, frame, resolve, reject });
      // While a flush runs it takes what queued during its sync; otherwise wait
      // out this turn of the event loop, so a burst of appends shares one sync.
      if (this.flushing === null && this.scheduled === null) this.scheduled = setImmediate(() => this.startFlush());
    });
  }

  private startFlush(): void {
    this.scheduled = null;
    if (this.flushing !== null) return;
    // Set before flush() runs: a flush with nothing to do ends (and clears it) at once.
    let finished!: () => void;
    this.flushing = new Promise<void>((resolve) => (finished = resolve));
    void this.flush().finally(finished);
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0 && this.failure === null) {
        let bytes = 0;
        let count = 0;
        while (count < this.queue.length && (count === 0 || bytes + this.queue[count].frame.length <= MAX_WRITE_BYTES)) {
          bytes += this.queue[count].frame.length;
          count += 1;
        }
        const batch = this.queue.splice(0, count);
        try {
          await this.write(batch);
        } catch (error) {
          this.fail(error, batch);
          return;
        }
        this.synced = batch[batch.length - 1].seq;
        for (const pending of batch) pending.resolve(pending.seq);
      }
    } finally {
      // In the same step as the loop's last look at the queue: an append made
      // by a caller just resolved comes after it and starts a new flush.
      this.flushing = null;
    }
  }

  /** Writes the batch, rolling to new segments as they fill, then syncs the segment written last. */
  private async write(batch: Pending[]): Promise<void> {
    let i = 0;
    while (i < batch.length) {
      if (this.size > HEADER_BYTES && this.size + batch[i].frame.length > this.segmentBytes) await this.roll(batch[i].seq);
      let j = i + 1;
      let bytes = batch[i].frame.length;
      while (j < batch.length && this.size + bytes + batch[j].frame.length <= this.segmentBytes) {
        bytes += batch[j].frame.length;
        j += 1;
      }
      const buffer = j === i + 1 ? batch[i].frame : Buffer.concat(batch.slice(i, j).map((pending) => pending.frame), bytes);
      await this.writeAll(buffer, this.size);
      this.size += bytes;
      i = j;
    }
    await this.guard('fdatasync', this.currentFile(), () => this.fs.fdatasync(this.fd!));
  }

  private async writeAll(buffer: Buffer, position: number): Promise<void> {
    const file = this.currentFile();
    let done = 0;
    while (done < buffer.length) {
      const written = await this.guard('write', file, () => this.fs.write(this.fd!, buffer, done, buffer.length - done, position + done));
      if (written <= 0) throw new WalWriteError('write', file, new Error('no bytes written'));
      done += written;
    }
  }

  /**
   * The segment being closed is synced before the next one exists, so only
   * the last segment can ever hold a torn tail: damage in any other is
   * corruption, never a crash's leftovers.
   */
  private async roll(firstSeq: number): Promise<void> {
    const file = this.currentFile();
    await this.guard('fdatasync', file, () => this.fs.fdatasync(this.fd!));
    const fd = this.fd!;
    this.fd = null;
    await this.guard('close', file, () => this.fs.close(fd));
    this.fd = await this.createSegment(firstSeq);
    this.size = HEADER_BYTES;
  }

  /**
   * A segment is written and synced under a temporary name and renamed into
   * place, and the directory synced: a segment file that exists has its whole
   * header, so a bad header is always corruption. A crash before the rename
   * leaves a temporary file that the next open deletes.
   */
  private async createSegment(firstSeq: number): Promise<number> {
    const file = join(this.dir, segmentName(firstSeq));
    const temp = `${file}${TEMP_SUFFIX}`;
    const fd = await this.guard('create', temp, () => this.fs.open(temp, 'wx'));
    try {
      const header = encodeHeader(firstSeq);
      let done = 0;
      while (done < header.length) {
        const written = await this.guard('write', temp, () => this.fs.write(fd, header, done, header.length - done, done));
        if (written <= 0) throw new WalWriteError('write', temp, new Error('no bytes written'));
        done += written;
      }
      await this.guard('fdatasync', temp, () => this.fs.fdatasync(fd));
      await this.guard('rename', temp, () => this.fs.rename(temp, file));
      await this.syncDirectory();
    } catch (error) {
      await this.fs.close(fd).catch(() => undefined);
      throw error;
    }
    this.segments.push({ firstSeq, file });
    return fd;
  }

  /** Makes the directory's entries (a created, renamed or deleted segment) durable. */
  private async syncDirectory(): Promise<void> {
    // Windows cannot open a directory as a file; NTFS journals its entries itself.
    if (process.platform === 'win32') return;
    const fd = await this.guard('open directory', this.dir, () => this.fs.open(this.dir, 'r'));
    try {
      await this.guard('fsync directory', this.dir, () => this.fs.fsync(fd));
    } finally {
      await this.fs.close(fd).catch(() => undefined);
    }
  }

  private async guard<T>(operation: string, file: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw error instanceof WalError ? error : new WalWriteError(operation, file, error);
    }
  }

  private currentFile(): string {
    return this.segments[this.segments.length - 1].file;
  }

  /**
   * A failed write or sync is final: retrying an fsync can report success
   * for pages the kernel already dropped, so nothing after it is trusted.
   */
  private fail(error: unknown, batch: Pending[]): void {
    this.failure = error instanceof WalWriteError ? error : new WalWriteError('write', this.currentFile(), error);
    const waiting = [...batch, ...this.queue];
    this.queue = [];
    for (const pending of waiting) pending.reject(this.failure);
  }

  /** Whether an append is queued or being written. */
  get busy(): boolean {
    return this.queue.length > 0 || this.flushing !== null || this.scheduled !== null;
  }

  /**
   * Resolves once nothing is queued, written or deleted: what a caller that
   * steps a clock of its own (a test, a simulation) waits for, so time does
   * not run ahead of the disk.
   */
  async settled(): Promise<void> {
    do {
      await Promise.all([this.flushing ?? new Promise<void>((resolve) => setImmediate(resolve)), this.compaction]);
    } while (this.busy);
  }

  truncateBefore(seq: number): Promise<number> {
    if (this.closed) return Promise.reject(new WalClosedError());
    const run = this.compaction.then(async () => {
      let removed = 0;
      while (this.segments.length > 1 && this.segments[1].firstSeq <= seq) {
        const { file } = this.segments[0];
        await this.guard('unlink', file, () => this.fs.unlink(file));
        this.segments.shift();
        removed += 1;
        // One directory sync per deletion keeps them in order on disk: a crash
        // leaves the oldest segments gone, never a hole in the middle of the log.
        await this.syncDirectory();
      }
      return removed;
    });
    this.compaction = run.catch(() => undefined);
    return run;
  }

  close(): Promise<void> {
    this.closing ??= this.shut();
    return this.closing;
  }

  private async shut(): Promise<void> {
    this.closed = true;
    if (this.scheduled !== null) {
      clearImmediate(this.scheduled);
      this.startFlush();
    }
    await this.flushing;
    await this.compaction;
    if (this.fd !== null) {
      const fd = this.fd;
      this.fd = null;
      await this.fs.close(fd).catch(() => undefined);
    }
  }
}
