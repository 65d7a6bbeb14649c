import type { Duplex } from 'node:stream';

// A frame on the wire is a 4-byte big-endian unsigned length followed by that
// many payload bytes. Payloads handed to `onFrame` are views into received
// chunks: a consumer that keeps one past the callback must copy it, or it
// keeps the whole chunk alive.

export const FRAME_HEADER_BYTES = 4;
/** The default bound on one frame's payload. */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;
const MAX_UINT32 = 0xffffffff;

/** One frame holding `parts` back to back, in one buffer: a small message costs one write, not two. */
export function encodeFrame(...parts: Uint8Array[]): Buffer {
  let length = 0;
  for (const part of parts) length += part.length;
  if (length > MAX_UINT32) throw new RangeError(`a frame payload of ${length} bytes does not fit a 4-byte length`);
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
  out.writeUInt32BE(length, 0);
  let offset = FRAME_HEADER_BYTES;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export interface FrameDecoderOptions {
  /** Payloads longer than this are refused when their header arrives. Changeable later through `maxFrameBytes`. */
  maxFrameBytes?: number;
  onFrame(payload: Buffer): void;
  /** A header announced `length` bytes, more than `max`: the decoder has stopped and dropped what it held. */
  onOversize(length: number, max: number): void;
}

/**
 * Cuts a byte stream into frames. Chunks are kept apart until a whole frame
 * is there, so a large frame arriving in many reads is copied once, not once
 * per read. What it holds is bounded by the header plus `maxFrameBytes`
 * plus one read: a length above the bound is refused before its body is
 * waited for.
 */
export class FrameDecoder {
  maxFrameBytes: number;
  private chunks: Buffer[] = [];
  private have = 0;
  private need = FRAME_HEADER_BYTES;
  private stopped = false;

  constructor(private readonly options: FrameDecoderOptions) {
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /** Bytes received and not yet delivered as frames. */
  get buffered(): number {
    return this.have;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Delivers nothing more, and lets go of what it held. */
  stop(): void {
    this.stopped = true;
    this.chunks = [];
    this.have = 0;
  }

  push(chunk: Buffer): void {
    if (this.stopped || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.have += chunk.length;
    if (this.have < this.need) return;
    const buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.have);
    let offset = 0;
    this.need = FRAME_HEADER_BYTES;
    while (buf.length - offset >= FRAME_HEADER_BYTES) {
      const length = buf.readUInt32BE(offset);
      if (length > this.maxFrameBytes) {
        const max = this.maxFrameBytes;
        this.stop();
        this.options.onOversize(length, max);
        return;
      }
      if (buf.length - offset - FRAME_HEADER_BYTES < length) {
        this.need = FRAME_HEADER_BYTES + length;
        break;
      }
      const start = offset + FRAME_HEADER_BYTES;
      offset = start + length;
      this.options.onFrame(buf.subarray(start, offset));
      // The consumer may have ended the connection from inside the callback.
      if (this.stopped) return;
    }
    const rest = offset === buf.length ? null : buf.subarray(offset);
    this.chunks = rest ? [rest] : [];
    this.have = rest ? rest.length : 0;
  }
}

export interface FrameReaderOptions extends FrameDecoderOptions {
  /** A callback threw: the socket is destroyed with that error, since an exception out of a 'data' listener would end the process. */
  onError?(error: unknown): void;
}

/**
 * Reads frames from `socket`. A peer announcing an oversize frame is
 * disconnected at once. Returns the decoder, whose `maxFrameBytes` may be
 * changed between frames (a handshake allows less than what follows it).
 */
export function readFrames(socket: Duplex, options: FrameReaderOptions): FrameDecoder {
  const decoder = new FrameDecoder({
    maxFrameBytes: options.maxFrameBytes,
    onFrame: options.onFrame,
    onOversize: (length, max) => {
      options.onOversize(length, max);
      socket.destroy();
    },
  });
  socket.on('data', (chunk: Buffer) => {
    try {
      decoder.push(chunk);
    } catch (error) {
      decoder.stop();
      socket.destroy();
      options.onError?.(error);
    }
  });
  socket.once('close', () => decoder.stop());
  return decoder;
}

/** Anything `createFrameWriter` can cork: a `net.Socket` or a `tls.TLSSocket`. */
export interface CorkableStream {
  cork(): void;
  uncork(): void;
  write(chunk: Uint8Array): boolean;
  readonly writableCorked: number;
}

/**
 * A writer of already-encoded frames that corks `stream` until the end of
 * the tick: Node makes one syscall per write on a socket, and a burst of
 * sends in one tick becomes one writev. Returns what `write` returns: false
 * when the socket's buffer is over its high-water mark.
 */
export function createFrameWriter(stream: CorkableStream): (frame: Uint8Array) => boolean {
  const uncork = () => stream.uncork();
  return (frame) => {
    if (stream.writableCorked === 0) {
      stream.cork();
      process.nextTick(uncork);
    }
    return stream.write(frame);
  };
}
