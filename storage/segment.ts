import { crc32c } from './crc32c';

/**
 * The on-disk format.
 *
 * A segment is one file, `<first sequence number, 16 digits>.wal`, so that
 * names sort in log order. It starts with a header:
 *
 *   0  magic "SCWL"       4  version (u16)   6  zero (u16)
 *   8  first sequence number of the segment (u64)
 *  16  CRC-32C of bytes 0–15 (u32)
 *
 * then records, back to back, each framed as
 *
 *   0  payload length (u32)   4  CRC-32C of bytes 0–3 and the payload (u32)   8  payload
 *
 * All integers little-endian. A record's sequence number is not stored: it
 * is the segment's first plus the record's index in it, so the sequence
 * numbers of a log are gapless by construction. The CRC covers the length so
 * that a damaged length never passes for a shorter or longer valid record.
 */

const MAGIC = 0x4c574353; // "SCWL" read as a little-endian u32
export const FORMAT_VERSION = 1;
export const HEADER_BYTES = 20;
export const FRAME_BYTES = 8;
/** The largest payload a length field holds. */
export const MAX_PAYLOAD_BYTES = 0xffffffff;

const NAME = /^(\d{16})\.wal$/;
export const TEMP_SUFFIX = '.tmp';

export function segmentName(firstSeq: number): string {
  return `${String(firstSeq).padStart(16, '0')}.wal`;
}

/** The first sequence number a segment's name gives, or null for a file that is not a segment. */
export function parseSegmentName(name: string): number | null {
  const match = NAME.exec(name);
  return match === null ? null : Number(match[1]);
}

export function encodeHeader(firstSeq: number): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32LE(MAGIC, 0);
  header.writeUInt16LE(FORMAT_VERSION, 4);
  header.writeBigUInt64LE(BigInt(firstSeq), 8);
  header.writeUInt32LE(crc32c(header, 0, 0, 16), 16);
  return header;
}

/** The header's first sequence number, or why the header is not one this code wrote. */
export function decodeHeader(header: Buffer): { firstSeq: number } | { problem: string } {
  if (header.length < HEADER_BYTES) return { problem: `header is ${header.length} bytes, expected ${HEADER_BYTES}` };
  if (header.readUInt32LE(16) !== crc32c(header, 0, 0, 16)) return { problem: 'header checksum mismatch' };
  if (header.readUInt32LE(0) !== MAGIC) return { problem: 'not a write-ahead log segment (bad magic)' };
  const version = header.readUInt16LE(4);
  if (version !== FORMAT_VERSION) return { problem: `format version ${version}, this code reads ${FORMAT_VERSION}` };
  const firstSeq = header.readBigUInt64LE(8);
  if (firstSeq < 1n || firstSeq > BigInt(Number.MAX_SAFE_INTEGER)) return { problem: `first sequence number ${firstSeq} out of range` };
  return { firstSeq: Number(firstSeq) };
}

/** Writes the frame of `payload` into `target` at `at`; returns the offset past it. */
export function encodeRecord(payload: Uint8Array, target: Buffer, at: number): number {
  target.writeUInt32LE(payload.length, at);
  target.writeUInt32LE(crc32c(payload, crc32c(target, 0, at, at + 4)), at + 4);
  target.set(payload, at + FRAME_BYTES);
  return at + FRAME_BYTES + payload.length;
}

/**
 * Whether a valid record starts at `at` in `bytes[…end)`: its whole frame is
 * there and its checksum holds. Returns its payload length, or -1.
 */
export function validRecordAt(bytes: Buffer, at: number, end: number): number {
  if (end - at < FRAME_BYTES) return -1;
  const length = bytes.readUInt32LE(at);
  if (length > end - at - FRAME_BYTES) return -1;
  const crc = crc32c(bytes, crc32c(bytes, 0, at, at + 4), at + FRAME_BYTES, at + FRAME_BYTES + length);
  return crc === bytes.readUInt32LE(at + 4) ? length : -1;
}
