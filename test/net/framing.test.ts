import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { createFrameWriter, encodeFrame, FrameDecoder, readFrames } from '../../net/framing';

/** Polls `condition` every 10 ms until it holds; fails after `timeoutMs`. */
async function waitFor(condition: () => boolean, { timeoutMs = 5000 } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function collector(max?: number) {
  const frames: string[] = [];
  const oversize: Array<[number, number]> = [];
  const decoder = new FrameDecoder({
    maxFrameBytes: max,
    onFrame: (payload) => frames.push(payload.toString('utf8')),
    onOversize: (length, limit) => oversize.push([length, limit]),
  });
  return { frames, oversize, decoder };
}

describe('encodeFrame', () => {
  it('is a 4-byte big-endian length then the parts back to back', () => {
    expect([...encodeFrame(Buffer.from('ab'), Uint8Array.of(1))]).toEqual([0, 0, 0, 3, 0x61, 0x62, 1]);
    expect([...encodeFrame()]).toEqual([0, 0, 0, 0]);
    expect(encodeFrame(Buffer.alloc(70000)).readUInt32BE(0)).toBe(70000);
  });
});

describe('FrameDecoder', () => {
  const messages = ['', 'a', 'hello', 'x'.repeat(300), 'é ünïcode', 'last'];
  const stream = Buffer.concat(messages.map((m) => encodeFrame(Buffer.from(m, 'utf8'))));

  it('reassembles frames fed one byte at a time', () => {
    const { frames, decoder } = collector();
    for (let i = 0; i < stream.length; i += 1) decoder.push(stream.subarray(i, i + 1));
    expect(frames).toEqual(messages);
    expect(decoder.buffered).toBe(0);
  });

  it('splits many frames out of one chunk', () => {
    const { frames, decoder } = collector();
    decoder.push(stream);
    expect(frames).toEqual(messages);
  });

  it('handles every split point of a two-chunk delivery', () => {
    for (let cut = 0; cut <= stream.length; cut += 1) {
      const { frames, decoder } = collector();
      decoder.push(stream.subarray(0, cut));
      decoder.push(stream.subarray(cut));
      expect(frames).toEqual(messages);
    }
  });

  it('accepts a frame of exactly the limit', () => {
    const { frames, oversize, decoder } = collector(8);
    decoder.push(encodeFrame(Buffer.from('12345678')));
    expect(frames).toEqual(['12345678']);
    expect(oversize).toEqual([]);
  });

  it('refuses an oversize header before its body arrives, and delivers nothing after', () => {
    const { frames, oversize, decoder } = collector(8);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(0xfffffff0, 0);
    decoder.push(Buffer.concat([encodeFrame(Buffer.from('ok')), header, Buffer.from('body')]));
    expect(frames).toEqual(['ok']);
    expect(oversize).toEqual([[0xfffffff0, 8]]);
    expect(decoder.isStopped).toBe(true);
    expect(decoder.buffered).toBe(0);
    decoder.push(encodeFrame(Buffer.from('later')));
    expect(frames).toEqual(['ok']);
  });

  it('holds no more than the header while waiting for a length it will refuse', () => {
    const { oversize, decoder } = collector(8);
    decoder.push(Buffer.from([0, 0]));
    expect(decoder.buffered).toBe(2);
    decoder.push(Buffer.from([0, 9]));
    expect(oversize).toEqual([[9, 8]]);
    expect(decoder.buffered).toBe(0);
  });

  it('applies a limit changed between frames', () => {
    const { frames, oversize, decoder } = collector(4);
    decoder.maxFrameBytes = 16;
    decoder.push(encodeFrame(Buffer.from('0123456789')));
    expect(frames).toEqual(['0123456789']);
    expect(oversize).toEqual([]);
  });

  it('stops delivering when a frame callback stops it', () => {
    const seen: string[] = [];
    const decoder: FrameDecoder = new FrameDecoder({
      onFrame: (payload) => {
        seen.push(payload.toString());
        if (seen.length === 2) decoder.stop();
      },
      onOversize: () => undefined,
    });
    decoder.push(Buffer.concat(['a', 'b', 'c'].map((m) => encodeFrame(Buffer.from(m)))));
    expect(seen).toEqual(['a', 'b']);
  });
});

describe('frames over a socket', () => {
  let server: Server;
  let client: Socket | null = null;
  const accepted: Socket[] = [];

  beforeEach(async () => {
    server = createServer((socket) => accepted.push(socket));
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  });

  afterEach(async () => {
    client?.destroy();
    for (const socket of accepted.splice(0)) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function dial(): Promise<Socket> {
    const { port } = server.address() as AddressInfo;
    const socket = connect({ host: '127.0.0.1', port });
    client = socket;
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    await waitFor(() => accepted.length === 1);
    return socket;
  }

  it('delivers a burst written in one tick, in order, the socket corked until the tick ends', async () => {
    const socket = await dial();
    const received: number[] = [];
    readFrames(accepted[0], { onFrame: (payload) => received.push(payload.readUInt32BE(0)), onOversize: () => undefined });
    const write = createFrameWriter(socket);
    for (let i = 0; i < 2000; i += 1) {
      const payload = Buffer.alloc(4 + (i % 97));
      payload.writeUInt32BE(i, 0);
      write(encodeFrame(payload));
    }
    // Corked until the end of this tick: nothing has reached the kernel yet.
    expect(socket.writableCorked).toBe(1);
    await waitFor(() => received.length === 2000);
    expect(socket.writableCorked).toBe(0);
    expect(received).toEqual(Array.from({ length: 2000 }, (_, i) => i));
  });

  it('disconnects a peer announcing an oversize frame without buffering its body', async () => {
    const socket = await dial();
    const oversize: number[] = [];
    const frames: string[] = [];
    const decoder = readFrames(accepted[0], {
      maxFrameBytes: 1024,
      onFrame: (payload) => frames.push(payload.toString()),
      onOversize: (length) => oversize.push(length),
    });
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1024 * 1024 * 1024, 0);
    socket.write(Buffer.concat([encodeFrame(Buffer.from('fine')), header]));
    socket.write(Buffer.alloc(4096, 7));
    await waitFor(() => accepted[0].destroyed);
    expect(frames).toEqual(['fine']);
    expect(oversize).toEqual([1024 * 1024 * 1024]);
    expect(decoder.buffered).toBe(0);
    await new Promise<void>((resolve) => (socket.closed ? resolve() : socket.once('close', () => resolve())));
  });

  it('ends the connection, not the process, when a frame callback throws', async () => {
    const socket = await dial();
    const errors: unknown[] = [];
    readFrames(accepted[0], {
      onFrame: () => {
        throw new Error('handler bug');
      },
      onOversize: () => undefined,
      onError: (error) => errors.push(error),
    });
    socket.write(encodeFrame(Buffer.from('x')));
    await waitFor(() => accepted[0].destroyed);
    expect(errors).toHaveLength(1);
  });
});
