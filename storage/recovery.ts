import { join } from 'node:path';
import { WalCorruptionError, WalWriteError } from './errors';
import type { WalFs } from './fs';
import { decodeHeader, FRAME_BYTES, HEADER_BYTES, parseSegmentName, TEMP_SUFFIX, validRecordAt } from './segment';

/** What opening the log found and what it repaired. */
export interface RecoveryReport {
  /** Segment files read. */
  segments: number;
  /** The lowest sequence number the log holds (records below it were compacted away). */
  firstSeq: number;
  /** The highest sequence number the log holds; `firstSeq - 1` when it holds none. */
  lastSeq: number;
  /** Valid records read. */
  records: number;
  /** Bytes cut from the end of the last segment: a torn tail. 0 when the log ended cleanly. */
  truncatedBytes: number;
  /** Records begun in those bytes (as their length fields describe them), none of them whole and valid. */
  droppedRecords: number;
  /** Where the torn tail began, or null. */
  tornAt: { file: string; offset: number } | null;
  /** Segment files whose creation a crash interrupted (never renamed into place), deleted. */
  removedTempFiles: number;
}

export type RecordCallback = (seq: number, payload: Uint8Array) => void | Promise<void>;

export interface Segment {
  firstSeq: number;
  file: string;
}

/** The state the log continues from: its segments and the end of the last one. */
export interface Recovered {
  segments: Segment[];
  report: RecoveryReport;
  /** Open for writing; positioned by `size`. Null when the directory held no segment. */
  lastFd: number | null;
  size: number;
}

const CHUNK_BYTES = 1 << 20;

async function readFully(fs: WalFs, fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const read = await fs.read(fd, buffer, offset + done, length - done, position + done);
    if (read === 0) break;
    done += read;
  }
  return done;
}

/**
 * Reads a segment's records from `start`, one chunk at a time so a segment
 * is never all in memory; a chunk grows only to hold one record larger than it.
 * Resolves with the offset of the first byte that is not part of a valid
 * record, or `size` if every byte is.
 */
async function readRecords(
  fs: WalFs,
  fd: number,
  size: number,
  start: number,
  onRecord: (payload: Buffer) => void | Promise<void>,
): Promise<number> {
  let chunk = Buffer.alloc(Math.min(CHUNK_BYTES, Math.max(size - start, FRAME_BYTES)));
  let chunkPos = start;
  let filled = 0;
  let at = 0;
  const fill = async (needed: number) => {
    chunk.copyWithin(0, at, filled);
    chunkPos += at;
    filled -= at;
    at = 0;
    if (needed > chunk.length) {
      const bigger = Buffer.alloc(Math.max(needed, chunk.length * 2));
      chunk.copy(bigger, 0, 0, filled);
      chunk = bigger;
    }
    const want = Math.min(chunk.length - filled, size - chunkPos - filled);
    filled += await readFully(fs, fd, chunk, filled, want, chunkPos + filled);
  };
  for (;;) {
    const position = chunkPos + at;
    if (position >= size) return size;
    if (filled - at < FRAME_BYTES) await fill(FRAME_BYTES);
    if (filled - at < FRAME_BYTES) return position;
    const length = chunk.readUInt32LE(at);
    if (length > size - position - FRAME_BYTES) return position;
    if (filled - at < FRAME_BYTES + length) await fill(FRAME_BYTES + length);
    if (filled - at < FRAME_BYTES + length || validRecordAt(chunk, at, filled) !== length) return position;
    // A copy: the chunk is reused, and a caller may keep the payload.
    await onRecord(Buffer.from(chunk.subarray(at + FRAME_BYTES, at + FRAME_BYTES + length)));
    at += FRAME_BYTES + length;
  }
}

/**
 * What follows the first bad record of the last segment decides what it is.
 * If no valid record starts anywhere after it, the bytes are the remains of a
 * write a crash interrupted (or of a last record damaged where nothing later
 * can vouch for it): a torn tail. A valid record after it means the damage is
 * in the middle of the log, which no crash mid-append produces. The bad
 * record's own length field is not trusted for the search: a damaged length
 * could jump over valid records and turn lost data into a silent truncation.
 */
function classifyTail(rest: Buffer): { validAt: number } | { dropped: number } {
  for (let p = 1; p + FRAME_BYTES <= rest.length; p += 1) {
    if (validRecordAt(rest, p, rest.length) >= 0) return { validAt: p };
  }
  // Zeros are space a file system extended the file by but never wrote (after
  // a power cut): not records. Where they start, the count stops.
  let written = rest.length;
  while (written > 0 && rest[written - 1] === 0) written -= 1;
  let dropped = 0;
  for (let p = 0; p < written; dropped += 1) {
    if (rest.length - p < FRAME_BYTES) {
      dropped += 1;
      break;
    }
    p += FRAME_BYTES + rest.readUInt32LE(p);
  }
  return { dropped };
}

/**
 * Reads every segment of `dir` in order, checking each header, each record's
 * checksum and that sequence numbers run on from one segment to the next;
 * cuts a torn tail off the last segment (and makes the cut durable);
 * throws `WalCorruptionError` for damage anywhere else.
 */
export async function recover(fs: WalFs, dir: string, fromSeq: number, onRecord: RecordCallback | undefined): Promise<Recovered> {
  await fs.mkdir(dir);
  const names = await fs.readdir(dir);
  let removedTempFiles = 0;
  for (const name of names) {
    if (name.endsWith(`.wal${TEMP_SUFFIX}`)) {
      await fs.unlink(join(dir, name));
      removedTempFiles += 1;
    }
  }
  const segments: Segment[] = names
    .map((name) => ({ firstSeq: parseSegmentName(name), file: join(dir, name) }))
    .filter((segment): segment is Segment => segment.firstSeq !== null)
    .sort((a, b) => a.firstSeq - b.firstSeq);
  const report: RecoveryReport = {
    segments: segments.length,
    firstSeq: segments[0]?.firstSeq ?? 1,
    lastSeq: (segments[0]?.firstSeq ?? 1) - 1,
    records: 0,
    truncatedBytes: 0,
    droppedRecords: 0,
    tornAt: null,
    removedTempFiles,
  };
  let lastFd: number | null = null;
  let size = 0;
  for (const [index, segment] of segments.entries()) {
    const last = index === segments.length - 1;
    const fd = await fs.open(segment.file, last ? 'r+' : 'r');
    try {
      size = await fs.size(fd);
      const header = Buffer.alloc(HEADER_BYTES);
      const headerRead = await readFully(fs, fd, header, 0, HEADER_BYTES, 0);
      const decoded = decodeHeader(header.subarray(0, headerRead));
      if ('problem' in decoded) throw new WalCorruptionError(segment.file, 0, decoded.problem);
      if (decoded.firstSeq !== segment.firstSeq) {
        throw new WalCorruptionError(segment.file, 0, `header says the segment starts at sequence number ${decoded.firstSeq}, its name says ${segment.firstSeq}`);
      }
      if (index > 0 && segment.firstSeq !== report.lastSeq + 1) {
        throw new WalCorruptionError(
          segment.file,
          0,
          `segment starts at sequence number ${segment.firstSeq} but the one before it ends at ${report.lastSeq}: records are missing`,
        );
      }
      let seq = segment.firstSeq;
      const end = await readRecords(fs, fd, size, HEADER_BYTES, async (payload) => {
        if (seq >= fromSeq && onRecord !== undefined) await onRecord(seq, payload);
        seq += 1;
      });
      report.records += seq - segment.firstSeq;
      report.lastSeq = seq - 1;
      if (end < size) {
        if (!last) throw new WalCorruptionError(segment.file, end, 'record incomplete or failing its checksum in a segment that is not the last');
        const rest = Buffer.alloc(size - end);
        await readFully(fs, fd, rest, 0, rest.length, end);
        const tail = classifyTail(rest);
        if ('validAt' in tail) {
          throw new WalCorruptionError(segment.file, end, `record fails its checksum; a valid record follows at byte ${end + tail.validAt}`);
        }
        try {
          await fs.ftruncate(fd, end);
          await fs.fdatasync(fd);
        } catch (error) {
          throw new WalWriteError('truncating a torn tail', segment.file, error);
        }
        report.truncatedBytes = size - end;
        report.droppedRecords = tail.dropped;
        report.tornAt = { file: segment.file, offset: end };
        size = end;
      }
    } catch (error) {
      await fs.close(fd).catch(() => undefined);
      throw error;
    }
    if (last) lastFd = fd;
    else await fs.close(fd);
  }
  return { segments, report, lastFd, size };
}
