import { createHash, verify, type KeyObject } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { keyPairFromSeed, privateKeyObject, publicKeyObject, type KeyPairHex } from '../../engine/signing/keys';
import { encodeFrame, FrameDecoder } from '../../net/framing';
import { HANDSHAKE_DOMAIN, handshakeTranscript, HandshakeError, HandshakeSession, type HandshakeOptions } from '../../net/handshake';
import { createTcpTransport, MAX_PENDING_CONNECTIONS, type TcpTransport } from '../../net/tcpTransport';

async function waitFor(condition: () => boolean, { timeoutMs = 5000 } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const seed = (name: string) => createHash('sha256').update(`net-handshake-${name}`).digest('hex');
const keys: Record<string, KeyPairHex> = Object.fromEntries(['a', 'b', 'c', 'mallory'].map((id) => [id, keyPairFromSeed(seed(id))]));
const CLUSTER = 'test-cluster';
const MEMBERS = ['a', 'b', 'c'];
const publicKeyOf = (id: string) => (MEMBERS.includes(id) ? publicKeyObject(keys[id].publicKey) : undefined);

function session(self: string, overrides: Partial<HandshakeOptions> = {}): HandshakeSession {
  return new HandshakeSession({ clusterId: CLUSTER, self, privateKey: privateKeyObject(keys[self].privateKey), publicKeyOf, ...overrides });
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const nonceA = Buffer.alloc(32, 0xaa);
const nonceB = Buffer.alloc(32, 0xbb);

/** Runs two sessions against each other; returns what each learned or the first refusal. */
function exchange(left: HandshakeSession, right: HandshakeSession): { left: string | null; right: string | null } {
  const leftProof = left.receive(right.hello).reply as Buffer;
  const rightProof = right.receive(left.hello).reply as Buffer;
  return { left: left.receive(rightProof).peer, right: right.receive(leftProof).peer };
}

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof HandshakeError) return error.reason;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('the transcript', () => {
  it('is seven length-prefixed fields: domain, cluster, signer, verifier, their nonce, our nonce, TLS binding', () => {
    const bytes = handshakeTranscript({ clusterId: 'cl', signer: 'a', verifier: 'bb', verifierNonce: nonceB, signerNonce: nonceA, channelBinding: null });
    const field = (content: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, content.length]), content]);
    const expected = Buffer.concat([
      field(Buffer.from('statechart-consensus/handshake/v1')),
      field(Buffer.from('cl')),
      field(Buffer.from('a')),
      field(Buffer.from('bb')),
      field(nonceB),
      field(nonceA),
      Buffer.from([0, 0, 0, 0]),
    ]);
    expect(HANDSHAKE_DOMAIN).toBe('statechart-consensus/handshake/v1');
    expect(bytes.equals(expected)).toBe(true);
    const bound = handshakeTranscript({ clusterId: 'cl', signer: 'a', verifier: 'bb', verifierNonce: nonceB, signerNonce: nonceA, channelBinding: Buffer.alloc(32, 1) });
    expect(bound.subarray(0, expected.length - 4).equals(expected.subarray(0, expected.length - 4))).toBe(true);
    expect(bound.subarray(expected.length - 4).equals(Buffer.concat([Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 1)]))).toBe(true);
  });

  it('does not let field boundaries move', () => {
    const one = handshakeTranscript({ clusterId: 'ab', signer: 'c', verifier: 'd', verifierNonce: nonceB, signerNonce: nonceA, channelBinding: null });
    const two = handshakeTranscript({ clusterId: 'a', signer: 'bc', verifier: 'd', verifierNonce: nonceB, signerNonce: nonceA, channelBinding: null });
    expect(one.equals(two)).toBe(false);
  });
});

describe('HandshakeSession', () => {
  it('authenticates both sides, and each proof is an Ed25519 signature over the documented transcript', () => {
    const a = session('a', { expectedPeer: 'b', nonce: nonceA });
    const b = session('b', { nonce: nonceB });
    expect(JSON.parse(a.hello.toString())).toEqual({ type: 'hello', v: 1, cluster: CLUSTER, id: 'a', nonce: nonceA.toString('hex') });
    const proofOfA = JSON.parse((a.receive(b.hello).reply as Buffer).toString());
    expect(proofOfA.type).toBe('proof');
    const transcript = handshakeTranscript({ clusterId: CLUSTER, signer: 'a', verifier: 'b', verifierNonce: nonceB, signerNonce: nonceA, channelBinding: null });
    expect(verify(null, transcript, publicKeyOf('a') as KeyObject, Buffer.from(proofOfA.signature, 'hex'))).toBe(true);
    const proofOfB = b.receive(a.hello).reply as Buffer;
    expect(a.receive(proofOfB)).toEqual({ reply: null, peer: 'b' });
    expect(b.receive(json(proofOfA))).toEqual({ reply: null, peer: 'a' });
    expect(a.peer).toBe('b');
    expect(b.peer).toBe('a');
  });

  it('refuses hellos that are not from a member of this cluster, in this version', () => {
    const hello = (fields: Record<string, unknown>) => json({ type: 'hello', v: 1, cluster: CLUSTER, id: 'a', nonce: nonceA.toString('hex'), ...fields });
    expect(refusal(() => session('b').receive(hello({ id: 'mallory' })))).toBe('unknown_member');
    expect(refusal(() => session('b').receive(hello({ cluster: 'other' })))).toBe('wrong_cluster');
    expect(refusal(() => session('b').receive(hello({ v: 2 })))).toBe('bad_version');
    expect(refusal(() => session('b').receive(hello({ id: 'b' })))).toBe('self');
    expect(refusal(() => session('b').receive(hello({ nonce: 'short' })))).toBe('bad_hello');
    expect(refusal(() => session('b').receive(hello({ type: 'proof' })))).toBe('bad_hello');
    expect(refusal(() => session('b').receive(hello({ id: '__proto__' })))).toBe('unknown_member');
    expect(refusal(() => session('b').receive(Buffer.from('not json')))).toBe('bad_hello');
    expect(refusal(() => session('b').receive(json([1, 2])))).toBe('bad_hello');
    expect(refusal(() => session('b').receive(json(null)))).toBe('bad_hello');
    expect(refusal(() => session('a', { expectedPeer: 'b' }).receive(session('c').hello))).toBe('unexpected_peer');
  });

  it('refuses a proof signed with another member\'s key, a malformed proof, and anything after the end', () => {
    const impostor = new HandshakeSession({ clusterId: CLUSTER, self: 'a', privateKey: privateKeyObject(keys.c.privateKey), publicKeyOf });
    const b = session('b');
    b.receive(impostor.hello);
    const forged = impostor.receive(b.hello).reply as Buffer;
    expect(refusal(() => b.receive(forged))).toBe('bad_signature');

    const c = session('c');
    c.receive(session('a').hello);
    expect(refusal(() => c.receive(json({ type: 'proof', signature: 'zz' })))).toBe('bad_hello');

    const left = session('a');
    const right = session('b');
    expect(exchange(left, right)).toEqual({ left: 'b', right: 'a' });
    expect(refusal(() => left.receive(right.hello))).toBe('bad_hello');
  });

  it('fails when the two sides see different channel bindings, as across a TLS relay', () => {
    expect(exchange(session('a', { channelBinding: Buffer.alloc(32, 1) }), session('b', { channelBinding: Buffer.alloc(32, 1) }))).toEqual({ left: 'b', right: 'a' });
    expect(refusal(() => exchange(session('a', { channelBinding: Buffer.alloc(32, 1) }), session('b', { channelBinding: Buffer.alloc(32, 2) })))).toBe('bad_signature');
  });
});

describe('a transport refusing peers at the handshake', () => {
  let transport: TcpTransport<string>;
  let received: Array<[string, string]>;
  const sockets: Socket[] = [];
  const servers: Server[] = [];

  beforeEach(async () => {
    received = [];
    transport = await createTcpTransport<string>({
      self: 'b',
      clusterId: CLUSTER,
      privateKey: keys.b.privateKey,
      // Peers' ports stay 0: b dials no one, it only accepts.
      members: MEMBERS.map((id) => ({ id, publicKey: keys[id].publicKey, host: '127.0.0.1', port: 0 })),
      encode: (m) => m,
      decode: (bytes) => bytes.toString('utf8'),
      handshakeTimeoutMs: 300,
      heartbeatMs: 50,
      deadAfterMs: 400,
    });
    transport.onMessage((from, message) => received.push([from, message]));
  });

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await transport.close();
    for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
  });

  /** A raw client speaking the protocol through `peer` (or sending `hello` instead of its hello), then sending one message frame. */
  async function rawClient(peer: HandshakeSession | null, hello?: Buffer): Promise<{ socket: Socket; closed: Promise<void> }> {
    const socket = connect({ host: '127.0.0.1', port: transport.address().port });
    sockets.push(socket);
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    let sentMessage = false;
    const decoder = new FrameDecoder({
      onFrame: (payload) => {
        if (!peer) return;
        try {
          const step = peer.receive(payload);
          if (step.reply) socket.write(encodeFrame(step.reply));
        } catch {
          // This client does not judge the transport: it only tries to get in.
        }
        // Right behind its proof, whether or not the transport accepted it.
        if (!sentMessage) socket.write(encodeFrame(Uint8Array.of(1), Buffer.from('smuggled')));
        sentMessage = true;
      },
      onOversize: () => undefined,
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    if (hello ?? peer) socket.write(encodeFrame((hello ?? peer?.hello) as Buffer));
    return { socket, closed };
  }

  async function expectRefused(reason: string, client: { closed: Promise<void> }): Promise<void> {
    await client.closed;
    await waitFor(() => (transport.stats().refused as Record<string, number>)[reason] === 1);
    expect(received).toEqual([]);
    expect(transport.connectedPeers()).toEqual([]);
  }

  it('lets in the member that should dial it, and only after the handshake', async () => {
    const client = await rawClient(session('a'));
    await waitFor(() => received.length === 1);
    expect(received).toEqual([['a', 'smuggled']]);
    expect(transport.connectedPeers()).toEqual(['a']);
    client.socket.destroy();
  });

  it('refuses an id that is not a member', async () => {
    const mallory = new HandshakeSession({ clusterId: CLUSTER, self: 'mallory', privateKey: privateKeyObject(keys.mallory.privateKey), publicKeyOf });
    await expectRefused('unknown_member', await rawClient(mallory));
  });

  it('refuses a member id proved with another member\'s key', async () => {
    const impostor = new HandshakeSession({ clusterId: CLUSTER, self: 'a', privateKey: privateKeyObject(keys.c.privateKey), publicKeyOf });
    await expectRefused('bad_signature', await rawClient(impostor));
  });

  it('refuses another cluster, another version, and its own id', async () => {
    await expectRefused('wrong_cluster', await rawClient(session('a', { clusterId: 'elsewhere' })));
    const v2 = json({ type: 'hello', v: 2, cluster: CLUSTER, id: 'a', nonce: nonceA.toString('hex') });
    await expectRefused('bad_version', await rawClient(session('a'), v2));
    await expectRefused('self', await rawClient(session('a'), session('b').hello));
  });

  it('refuses a message sent in place of the proof', async () => {
    const client = await rawClient(null, session('a').hello);
    client.socket.write(encodeFrame(Uint8Array.of(1), Buffer.from('early')));
    await expectRefused('bad_hello', client);
  });

  it('refuses a connection from the member that should only accept, as a duplicate', async () => {
    await expectRefused('duplicate', await rawClient(session('c')));
  });

  it('closes a connection that completes nothing within the timeout', async () => {
    const started = Date.now();
    await expectRefused('timeout', await rawClient(null));
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('refuses an oversize handshake frame before buffering it', async () => {
    const client = await rawClient(null);
    client.socket.write(Buffer.from([0, 0, 0x20, 0]));
    await expectRefused('oversize', client);
  });

  it('bounds the connections waiting for a handshake', async () => {
    const clients = await Promise.all(Array.from({ length: MAX_PENDING_CONNECTIONS + 6 }, () => rawClient(null)));
    let closedEarly = 0;
    for (const client of clients) void client.closed.then(() => (closedEarly += 1));
    await waitFor(() => closedEarly >= 6, { timeoutMs: 250 });
    expect(transport.stats().refused.too_many_pending).toBeGreaterThanOrEqual(1);
    await Promise.all(clients.map((client) => client.closed));
  });
});

describe('a dialer checking whom it reached', () => {
  it('refuses an acceptor answering as another member, or without that member\'s key', async () => {
    for (const [answerAs, signWith, reason] of [
      ['c', 'c', 'unexpected_peer'],
      ['b', 'c', 'bad_signature'],
    ] as const) {
      const accepted: Socket[] = [];
      const fake = createServer((socket) => {
        accepted.push(socket);
        socket.on('error', () => undefined);
        const peer = new HandshakeSession({ clusterId: CLUSTER, self: answerAs, privateKey: privateKeyObject(keys[signWith].privateKey), publicKeyOf });
        const decoder = new FrameDecoder({
          onFrame: (payload) => {
            try {
              const step = peer.receive(payload);
              if (step.reply) socket.write(encodeFrame(step.reply));
            } catch {
              // Only the dialer's verdict matters here.
            }
          },
          onOversize: () => undefined,
        });
        socket.on('data', (chunk: Buffer) => decoder.push(chunk));
        socket.write(encodeFrame(peer.hello));
      });
      await new Promise<void>((resolve) => fake.listen({ host: '127.0.0.1', port: 0 }, resolve));
      const a = await createTcpTransport<string>({
        self: 'a',
        clusterId: CLUSTER,
        privateKey: keys.a.privateKey,
        members: MEMBERS.map((id) => ({ id, publicKey: keys[id].publicKey, host: '127.0.0.1', port: id === 'b' ? (fake.address() as AddressInfo).port : 0 })),
        encode: (m) => m,
        decode: (bytes) => bytes.toString('utf8'),
        backoff: { baseMs: 1000, capMs: 1000 },
      });
      try {
        await waitFor(() => a.stats().refused[reason] === 1);
        expect(a.connectedPeers()).toEqual([]);
        expect(a.send('b', 'held')).toBe(true);
        expect(a.stats().messagesSent).toBe(0);
      } finally {
        await a.close();
        for (const socket of accepted) socket.destroy();
        await new Promise((resolve) => fake.close(resolve));
      }
    }
  });
});
