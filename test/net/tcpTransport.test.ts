import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { keyPairFromSeed, privateKeyObject, publicKeyObject, type KeyPairHex } from '../../engine/signing/keys';
import { encodeFrame, FrameDecoder } from '../../net/framing';
import { HandshakeSession } from '../../net/handshake';
import { TransportConfigError, type TcpTransportOptions } from '../../net/tcpOptions';
import { createTcpTransport, type TcpTransport } from '../../net/tcpTransport';

async function waitFor(condition: () => boolean, { timeoutMs = 5000 } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const CLUSTER = 'transport-test';
const IDS = ['a', 'b', 'c', 'd'];
const keys: Record<string, KeyPairHex> = Object.fromEntries(IDS.map((id) => [id, keyPairFromSeed(createHash('sha256').update(`net-tcp-${id}`).digest('hex'))]));
const publicKeyOf = (id: string) => (IDS.includes(id) ? publicKeyObject(keys[id].publicKey) : undefined);
/** Short enough for tests to see every timer fire, long enough for a loaded machine. */
const FAST = { heartbeatMs: 40, deadAfterMs: 400, backoff: { baseMs: 10, capMs: 80 }, handshakeTimeoutMs: 1000 };

type Node = { id: string; transport: TcpTransport<string>; inbox: Array<[string, string]> };
const running: Node[] = [];

async function start(id: string, overrides: Partial<TcpTransportOptions<string>> = {}, port = 0): Promise<Node> {
  const transport = await createTcpTransport<string>({
    self: id,
    clusterId: CLUSTER,
    privateKey: keys[id].privateKey,
    members: IDS.map((member) => ({ id: member, publicKey: keys[member].publicKey, host: '127.0.0.1', port: member === id ? port : 0 })),
    encode: (message) => message,
    decode: (bytes) => bytes.toString('utf8'),
    ...FAST,
    ...overrides,
  });
  const node: Node = { id, transport, inbox: [] };
  transport.onMessage((from, message) => node.inbox.push([from, message]));
  running.push(node);
  return node;
}

/** Tells every node where every other listens. */
function introduce(nodes: Node[]): void {
  for (const node of nodes) for (const other of nodes) if (other !== node) node.transport.setAddress(other.id, '127.0.0.1', other.transport.address().port);
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((node) => node.transport.close()));
});

describe('a cluster of TCP transports', () => {
  it('connects every pair over exactly one connection, dialed by the lower id, and carries messages both ways in order', async () => {
    const nodes = await Promise.all(IDS.map((id) => start(id)));
    introduce(nodes);
    await waitFor(() => nodes.every((node) => node.transport.connectedPeers().length === 3));
    for (const node of nodes) for (const other of nodes) if (other !== node) for (let i = 0; i < 50; i += 1) expect(node.transport.send(other.id, `${node.id}>${other.id}#${i}`)).toBe(true);
    await waitFor(() => nodes.every((node) => node.inbox.length === 150));
    for (const node of nodes) {
      for (const other of nodes) {
        if (other === node) continue;
        const fromOther = node.inbox.filter(([from]) => from === other.id).map(([, message]) => message);
        expect(fromOther).toEqual(Array.from({ length: 50 }, (_, i) => `${other.id}>${node.id}#${i}`));
      }
    }
    const stats = nodes.map((node) => node.transport.stats());
    expect(stats.map((s) => [s.connectionsDialed, s.connectionsAccepted])).toEqual([[3, 0], [2, 1], [1, 2], [0, 3]]);
    for (const s of stats) {
      expect(s.refused.duplicate).toBe(0);
      expect(s.connectionsReplaced).toBe(0);
      expect(s.reconnects).toBe(0);
      expect(s.messagesSent).toBe(150);
      expect(s.messagesReceived).toBe(150);
    }
    // Idle for several dead-after periods: heartbeats alone keep every connection.
    await sleep(3 * FAST.deadAfterMs);
    for (const node of nodes) {
      const s = node.transport.stats();
      expect(node.transport.connectedPeers()).toEqual(IDS.filter((id) => id !== node.id));
      expect(s.heartbeatTimeouts).toBe(0);
      expect(s.heartbeatsSent).toBeGreaterThan(0);
      expect(s.heartbeatsReceived).toBeGreaterThan(0);
      expect(s.connectionsDialed + s.connectionsAccepted).toBe(3);
    }
  });

  it('delivers a burst larger than the socket buffer whole: messages queued behind a full buffer go out once it drains', async () => {
    const [a, b] = await Promise.all([start('a'), start('b')]);
    introduce([a, b]);
    await waitFor(() => a.transport.connectedPeers().includes('b') && b.transport.connectedPeers().includes('a'));
    // One tick of sends fills the socket's buffer long before the last one: the rest wait in the queue.
    const burst = Array.from({ length: 600 }, (_, i) => `${i}:${'x'.repeat(8 * 1024)}`);
    for (const message of burst) expect(a.transport.send('b', message)).toBe(true);
    await waitFor(() => b.inbox.length === burst.length);
    expect(b.inbox.map(([, message]) => message)).toEqual(burst);
    expect(a.transport.stats().queued).toBe(0);
  });

  it('refuses what it cannot send, and never throws from send', async () => {
    const a = await start('a', { maxFrameBytes: 64, encode: (m) => { if (m === 'boom') throw new Error('no'); return m; } });
    expect(a.transport.send('zed', 'x')).toBe(false);
    expect(a.transport.send('a', 'x')).toBe(false);
    expect(a.transport.send('b', 'y'.repeat(64))).toBe(false);
    expect(a.transport.send('b', 'y'.repeat(63))).toBe(true);
    expect(a.transport.send('b', 'boom')).toBe(false);
    await a.transport.close();
    expect(a.transport.send('b', 'late')).toBe(false);
    expect(a.transport.stats().dropped).toEqual({ queue_full: 0, oversize: 1, encode_error: 1, unknown_peer: 2, closed: 1 });
  });

  it('rejects a configuration it cannot run, listing every problem', async () => {
    const bad = createTcpTransport<string>({
      self: 'a',
      clusterId: CLUSTER,
      privateKey: keys.b.privateKey,
      members: [{ id: 'a', publicKey: keys.a.publicKey, host: '127.0.0.1', port: 0 }, { id: 'a', publicKey: 'zz', host: '', port: 70000 }],
      encode: (m) => m,
      decode: (b) => b.toString(),
      heartbeatMs: 500,
      deadAfterMs: 100,
    });
    await expect(bad).rejects.toBeInstanceOf(TransportConfigError);
    await expect(bad).rejects.toThrow(/listed twice.*64 hex.*host.*port.*does not match.*deadAfterMs/);
  });
});

describe('queues and reconnection', () => {
  it('holds messages while a peer is unreachable, dropping the oldest beyond the bound, and delivers the rest once it can', async () => {
    const a = await start('a', { queueLimit: { messages: 100, bytes: 3 * 105 } });
    for (let i = 0; i < 10; i += 1) expect(a.transport.send('b', `${i}`.padStart(100, '.'))).toBe(true);
    expect(a.transport.send('b', 'x'.repeat(400))).toBe(false);
    expect(a.transport.stats()).toMatchObject({ queued: 3, dropped: { queue_full: 8 } });
    const b = await start('b');
    introduce([a, b]);
    await waitFor(() => b.inbox.length === 3);
    expect(b.inbox.map(([, message]) => message.replace(/\./g, ''))).toEqual(['7', '8', '9']);
    expect(a.transport.stats().queued).toBe(0);
  });

  it('redials a peer that closed and came back on the same port, delivering what was queued meanwhile up to the bound', async () => {
    const a = await start('a', { queueLimit: { messages: 5, bytes: 1 << 20 } });
    const b = await start('b');
    introduce([a, b]);
    await waitFor(() => a.transport.connectedPeers().length === 1);
    const port = b.transport.address().port;
    await b.transport.close();
    await waitFor(() => a.transport.connectedPeers().length === 0);
    for (let i = 0; i < 8; i += 1) a.transport.send('b', `while-down-${i}`);
    expect(a.transport.stats()).toMatchObject({ queued: 5, dropped: { queue_full: 3 } });
    // Let a few redials fail first.
    await waitFor(() => a.transport.stats().dialFailures >= 2);
    const reborn = await start('b', {}, port);
    reborn.transport.setAddress('a', '127.0.0.1', a.transport.address().port);
    await waitFor(() => reborn.inbox.length === 5);
    expect(reborn.inbox.map(([, message]) => message)).toEqual([3, 4, 5, 6, 7].map((i) => `while-down-${i}`));
    expect(a.transport.stats().reconnects).toBe(1);
    expect(reborn.transport.send('a', 'back')).toBe(true);
    await waitFor(() => a.inbox.length === 1);
    expect(a.inbox).toEqual([['b', 'back']]);
  });

  it('lets a new connection from the proper dialer replace a stale one', async () => {
    // a1 will not redial within this test once it loses its connection.
    const a1 = await start('a', { backoff: { baseMs: 10_000, capMs: 10_000 }, random: () => 0.99 });
    const b = await start('b');
    introduce([a1, b]);
    await waitFor(() => b.transport.connectedPeers().length === 1);
    // The same member restarted elsewhere, while b still holds the old connection.
    const a2 = await start('a');
    introduce([a2, b]);
    await waitFor(() => b.transport.stats().connectionsReplaced === 1 && b.transport.connectedPeers().length === 1);
    await waitFor(() => a1.transport.connectedPeers().length === 0);
    expect(b.transport.stats().refused.duplicate).toBe(0);
    b.transport.send('a', 'to-the-new-a');
    await waitFor(() => a2.inbox.length === 1);
    expect(a1.inbox).toEqual([]);
    expect(a2.inbox).toEqual([['b', 'to-the-new-a']]);
  });
});

describe('faulty peers', () => {
  it('counts a frame that does not decode and keeps the connection; a throwing handler does not break it either', async () => {
    const a = await start('a');
    const b = await start('b', { decode: (bytes) => { const text = bytes.toString('utf8'); if (text.startsWith('garbage')) throw new Error('undecodable'); return text; } });
    introduce([a, b]);
    await waitFor(() => a.transport.connectedPeers().length === 1);
    a.transport.send('b', 'garbage \u0000\u00ff');
    a.transport.send('b', 'after');
    await waitFor(() => b.inbox.length === 1);
    expect(b.inbox).toEqual([['a', 'after']]);
    b.transport.onMessage(() => {
      throw new Error('handler bug');
    });
    a.transport.send('b', 'into the bug');
    await waitFor(() => b.transport.stats().handlerErrors === 1);
    b.transport.onMessage((from, message) => b.inbox.push([from, message]));
    a.transport.send('b', 'still fine');
    await waitFor(() => b.inbox.length === 2);
    expect(b.transport.stats().decodeErrors).toBe(1);
    expect(a.transport.stats().connectionsDialed).toBe(1);
    expect(b.transport.stats().connectionsAccepted).toBe(1);
  });

  it('disconnects a peer sending a frame over its limit, and the dialer comes back', async () => {
    const a = await start('a');
    const b = await start('b', { maxFrameBytes: 64 });
    introduce([a, b]);
    await waitFor(() => a.transport.connectedPeers().length === 1);
    expect(a.transport.send('b', 'z'.repeat(100))).toBe(true);
    await waitFor(() => b.transport.stats().refused.oversize === 1);
    await waitFor(() => a.transport.stats().reconnects === 1);
    a.transport.send('b', 'small');
    await waitFor(() => b.inbox.length === 1);
    expect(b.inbox).toEqual([['a', 'small']]);
  });

  it('drops a dialed peer that goes silent after the handshake, and redials it', async () => {
    // A fake "b": completes the handshake properly, then never sends another byte.
    const accepted: Socket[] = [];
    const fake = await listen(createServer((socket) => {
      accepted.push(socket);
      socket.on('error', () => undefined);
      const session = new HandshakeSession({ clusterId: CLUSTER, self: 'b', privateKey: privateKeyObject(keys.b.privateKey), publicKeyOf });
      const decoder = new FrameDecoder({ onFrame: (payload) => { try { const step = session.receive(payload); if (step.reply) socket.write(encodeFrame(step.reply)); } catch { /* heartbeats after the handshake */ } }, onOversize: () => undefined });
      socket.on('data', (chunk: Buffer) => decoder.push(chunk));
      socket.write(encodeFrame(session.hello));
    }));
    try {
      const a = await start('a');
      a.transport.setAddress('b', '127.0.0.1', (fake.address() as AddressInfo).port);
      await waitFor(() => a.transport.stats().connectionsDialed === 1);
      expect(a.transport.connectedPeers()).toEqual(['b']);
      await waitFor(() => a.transport.stats().heartbeatTimeouts === 1 && a.transport.stats().connectionsDialed === 2);
      expect(accepted.length).toBeGreaterThanOrEqual(2);
    } finally {
      for (const socket of accepted) socket.destroy();
      await new Promise((resolve) => fake.close(resolve));
    }
  });

  it('drops an accepted peer that goes silent after the handshake', async () => {
    const b = await start('b');
    const socket = connect({ host: '127.0.0.1', port: b.transport.address().port });
    socket.on('error', () => undefined);
    const session = new HandshakeSession({ clusterId: CLUSTER, self: 'a', privateKey: privateKeyObject(keys.a.privateKey), publicKeyOf });
    const decoder = new FrameDecoder({ onFrame: (payload) => { try { const step = session.receive(payload); if (step.reply) socket.write(encodeFrame(step.reply)); } catch { /* heartbeats */ } }, onOversize: () => undefined });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.once('connect', () => socket.write(encodeFrame(session.hello)));
    await waitFor(() => b.transport.connectedPeers().length === 1);
    const connectedAt = Date.now();
    await closed;
    expect(Date.now() - connectedAt).toBeGreaterThanOrEqual(FAST.deadAfterMs - 50);
    expect(b.transport.stats().heartbeatTimeouts).toBe(1);
    expect(b.transport.connectedPeers()).toEqual([]);
  });
});

describe('mutual TLS', () => {
  let dir: string;
  const pem: Record<string, { key: Buffer; cert: Buffer }> = {};
  let ca: Buffer;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'net-tls-'));
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=test-ca', '-days', '1', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
    writeFileSync(join(dir, 'leaf.ext'), 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n');
    for (const name of ['a', 'b', 'relay']) {
      openssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
      openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', 'leaf.ext');
      pem[name] = { key: readFileSync(join(dir, `${name}.key`)), cert: readFileSync(join(dir, `${name}.crt`)) };
    }
    // Not issued by the CA.
    openssl('req', '-x509', ...ec, '-keyout', 'rogue.key', '-out', 'rogue.crt', '-subj', '/CN=rogue', '-days', '1');
    pem.rogue = { key: readFileSync(join(dir, 'rogue.key')), cert: readFileSync(join(dir, 'rogue.crt')) };
    ca = readFileSync(join(dir, 'ca.crt'));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const tlsOf = (name: string) => ({ ...pem[name], ca });

  it('carries messages both ways over TLS and refuses plain TCP and untrusted certificates', async () => {
    const a = await start('a', { tls: tlsOf('a') });
    const b = await start('b', { tls: tlsOf('b') });
    introduce([a, b]);
    a.transport.send('b', 'over tls');
    b.transport.send('a', 'and back');
    await waitFor(() => a.inbox.length === 1 && b.inbox.length === 1);
    expect(b.inbox).toEqual([['a', 'over tls']]);
    expect(a.inbox).toEqual([['b', 'and back']]);

    // A plaintext hello at a TLS port is not TLS.
    const plain = connect({ host: '127.0.0.1', port: b.transport.address().port });
    plain.on('error', () => undefined);
    plain.once('connect', () => plain.write(encodeFrame(new HandshakeSession({ clusterId: CLUSTER, self: 'c', privateKey: privateKeyObject(keys.c.privateKey), publicKeyOf }).hello)));
    await new Promise((resolve) => plain.once('close', resolve));
    await waitFor(() => b.transport.stats().refused.tls === 1);

    const rogue = tlsConnect({ host: '127.0.0.1', port: b.transport.address().port, ...pem.rogue, ca, checkServerIdentity: () => undefined });
    rogue.on('error', () => undefined);
    await new Promise((resolve) => rogue.once('close', resolve));
    await waitFor(() => b.transport.stats().refused.tls === 2);
    expect(b.inbox).toEqual([['a', 'over tls']]);
  });

  /** Terminates the dialer's connection and opens its own to `port`, forwarding bytes both ways. */
  async function relayTo(port: number, useTls: boolean): Promise<{ server: Server; sockets: Socket[] }> {
    const sockets: Socket[] = [];
    const onConnection = (inbound: Socket) => {
      const outbound = useTls
        ? tlsConnect({ host: '127.0.0.1', port, ...pem.relay, ca, checkServerIdentity: () => undefined })
        : connect({ host: '127.0.0.1', port });
      sockets.push(inbound, outbound);
      for (const socket of [inbound, outbound]) socket.on('error', () => undefined);
      inbound.pipe(outbound);
      outbound.pipe(inbound);
      inbound.once('close', () => outbound.destroy());
      outbound.once('close', () => inbound.destroy());
    };
    const server = useTls
      ? createTlsServer({ ...pem.relay, ca, requestCert: true, rejectUnauthorized: true }, (socket: TLSSocket) => onConnection(socket))
      : createServer(onConnection);
    return { server: await listen(server), sockets };
  }

  it('binds the handshake to the TLS session: a relay holding a valid certificate cannot forward it', async () => {
    // Control: without TLS the same relay is invisible, and the members connect through it.
    {
      const a = await start('a');
      const b = await start('b');
      const relay = await relayTo(b.transport.address().port, false);
      a.transport.setAddress('b', '127.0.0.1', (relay.server.address() as AddressInfo).port);
      a.transport.send('b', 'through the relay');
      await waitFor(() => b.inbox.length === 1);
      await Promise.all([a.transport.close(), b.transport.close()]);
      for (const socket of relay.sockets) socket.destroy();
      await new Promise((resolve) => relay.server.close(resolve));
    }
    const a = await start('a', { tls: tlsOf('a') });
    const b = await start('b', { tls: tlsOf('b') });
    const relay = await relayTo(b.transport.address().port, true);
    try {
      a.transport.setAddress('b', '127.0.0.1', (relay.server.address() as AddressInfo).port);
      a.transport.send('b', 'must not arrive');
      await waitFor(() => a.transport.stats().refused.bad_signature >= 1 && b.transport.stats().refused.bad_signature >= 1);
      expect(a.transport.connectedPeers()).toEqual([]);
      expect(b.transport.connectedPeers()).toEqual([]);
      expect(b.inbox).toEqual([]);
      expect(a.transport.stats().connectionsDialed).toBe(0);
    } finally {
      await Promise.all([a.transport.close(), b.transport.close()]);
      for (const socket of relay.sockets) socket.destroy();
      await new Promise((resolve) => relay.server.close(resolve));
    }
  });
});

describe('close', () => {
  it('ends every socket and server it opened, and a second close is the same promise', async () => {
    const handles = () => process.getActiveResourcesInfo().filter((name) => name.startsWith('TCP')).length;
    // A server's close callback comes a moment before libuv lets go of its handle: let earlier tests' settle.
    await sleep(20);
    const before = handles();
    const nodes = await Promise.all(['a', 'b', 'c'].map((id) => start(id)));
    introduce(nodes);
    await waitFor(() => nodes.every((node) => node.transport.connectedPeers().length === 2));
    // One pending, unauthenticated connection too.
    const lingering = connect({ host: '127.0.0.1', port: nodes[2].transport.address().port });
    lingering.on('error', () => undefined);
    // Reading, or the hello it is sent would hold back the end of the stream.
    lingering.resume();
    await new Promise((resolve) => lingering.once('connect', resolve));
    expect(handles()).toBeGreaterThan(before);
    const first = nodes[0].transport.close();
    expect(nodes[0].transport.close()).toBe(first);
    await Promise.all(nodes.map((node) => node.transport.close()));
    await new Promise((resolve) => (lingering.closed ? resolve(undefined) : lingering.once('close', resolve)));
    await waitFor(() => handles() === before, { timeoutMs: 1000 });
    expect(nodes.map((node) => node.transport.connectedPeers())).toEqual([[], [], []]);
  });
});

async function listen<S extends Server>(server: S): Promise<S> {
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  return server;
}
