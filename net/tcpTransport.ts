import { createServer, connect as netConnect, type AddressInfo, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { publicKeyObject, type KeyHandle } from '../engine/signing/keys';
import { encodeFrame, readFrames } from './framing';
import { HANDSHAKE_MAX_FRAME_BYTES, HandshakeError, HandshakeSession, tlsChannelBinding, type HandshakeStep } from './handshake';
import { Connection, Link, now } from './peerLink';
import { addressIssues, resolveTcpOptions, TransportConfigError, type TcpSettings, type TcpTransportOptions } from './tcpOptions';
import { copyTransportStats, emptyTransportStats, type PeerTransport, type RefusalReason, type TransportStats } from './transport';

// After the handshake every frame's payload starts with a one-byte tag:
//   0x00            a heartbeat, nothing else (the whole frame: 00 00 00 01 00)
//   0x01 <bytes>    a message, `bytes` being what `encode` returned
// Any other tag, or an empty payload, counts as a decode error and is skipped.
const TAG_HEARTBEAT = 0x00;
const TAG_MESSAGE = 0x01;
const MESSAGE_TAG = Uint8Array.of(TAG_MESSAGE);
const HEARTBEAT_FRAME = encodeFrame(Uint8Array.of(TAG_HEARTBEAT));

/** Unauthenticated connections accepted and not yet through their handshake: more are closed at once. */
export const MAX_PENDING_CONNECTIONS = 64;
/** How long `close()` lets a socket flush and end before destroying it. */
const CLOSE_GRACE_MS = 250;

/**
 * Peers over TCP, or TLS, with one connection per pair of members: the
 * member whose id sorts lower (JavaScript string order) dials, the other
 * only accepts. A dialer redials after any loss with capped exponential
 * backoff and full jitter. Each peer has a bounded send queue where
 * messages wait while it is disconnected or its socket is backed up; when
 * the queue is full the OLDEST message is dropped (`dropped.queue_full`),
 * since a newer consensus message supersedes an older one. Delivery is at
 * most once: what was written to a socket that then died is lost.
 * Messages that arrive before `onMessage` is given a handler are discarded.
 */
export interface TcpTransport<M> extends PeerTransport<M> {
  /** Where this node listens; the bound port when 0 was configured. */
  address(): { host: string; port: number };
  /** Tells where member `id` listens (for ports only known once peers have bound them); a dialer waiting for it dials at once. */
  setAddress(id: string, host: string, port: number): void;
}

/** A transport already listening on its member's address, and dialing the members it should. */
export async function createTcpTransport<M>(options: TcpTransportOptions<M>): Promise<TcpTransport<M>> {
  const transport = new TcpTransportImpl(options);
  await transport.listen();
  return transport;
}

class TcpTransportImpl<M> implements TcpTransport<M> {
  private readonly settings: TcpSettings;
  private readonly privateKey: KeyHandle;
  private readonly links = new Map<string, Link>();
  private readonly conns = new Set<Connection>();
  private readonly counters = emptyTransportStats();
  private readonly server: Server;
  private readonly listenAt: { host: string; port: number };
  private bound: { host: string; port: number } | null = null;
  private handler: ((from: string, message: M) => void) | null = null;
  private pendingAccepted = 0;
  private ticker: NodeJS.Timeout | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;
  private readonly random: () => number;

  constructor(private readonly options: TcpTransportOptions<M>) {
    const { settings, privateKey, own } = resolveTcpOptions(options);
    this.settings = settings;
    this.privateKey = privateKey;
    this.listenAt = { host: own.host, port: own.port };
    this.random = options.random ?? Math.random;
    for (const member of options.members) {
      if (member.id === options.self) continue;
      this.links.set(member.id, new Link(member.id, publicKeyObject(member.publicKey), member.host, member.port, options.self < member.id));
    }
    const tls = options.tls;
    this.server = tls
      ? createTlsServer(
          { key: tls.key, cert: tls.cert, ca: tls.ca, requestCert: true, rejectUnauthorized: tls.ca !== undefined, handshakeTimeout: settings.handshakeTimeoutMs },
          (socket) => this.accept(socket),
        )
      : createServer((socket) => this.accept(socket));
    if (tls) {
      this.server.on('tlsClientError', (error: Error, socket: TLSSocket) => {
        this.counters.refused.tls += 1;
        this.log('warn', { reason: 'tls', remote: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`, err: error.message }, 'connection refused');
      });
    }
    // Raw connections still in their TLS handshake are not yet in `pendingAccepted`: this bounds them too.
    this.server.maxConnections = MAX_PENDING_CONNECTIONS + 2 * this.links.size;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => {
        this.server.off('listening', onListening);
        reject(error);
      };
      const onListening = () => {
        this.server.off('error', onError);
        resolve();
      };
      this.server.once('error', onError);
      this.server.once('listening', onListening);
      this.server.listen({ host: this.listenAt.host, port: this.listenAt.port });
    });
    this.server.on('error', (error) => this.log('warn', { err: error.message }, 'server error'));
    this.bound = { host: this.listenAt.host, port: (this.server.address() as AddressInfo).port };
    const { heartbeatMs, deadAfterMs } = this.settings;
    this.ticker = setInterval(() => this.tick(), Math.max(5, Math.min(heartbeatMs, deadAfterMs) / 4));
    this.ticker.unref();
    for (const link of this.links.values()) if (link.dials) this.dial(link);
  }

  address(): { host: string; port: number } {
    return { ...(this.bound ?? this.listenAt) };
  }

  setAddress(id: string, host: string, port: number): void {
    const link = this.links.get(id);
    const issues = [...(link ? [] : [`${JSON.stringify(id)} is not a peer of this node`]), ...addressIssues(id, host, port)];
    if (issues.length > 0) throw new TransportConfigError(issues);
    const target = link as Link;
    target.host = host;
    target.port = port;
    if (target.redial) {
      clearTimeout(target.redial);
      target.redial = null;
    }
    if (target.dials) this.dial(target);
  }

  send(to: string, message: M): boolean {
    if (this.closed) return this.drop('closed');
    const link = this.links.get(to);
    if (!link) return this.drop('unknown_peer');
    let bytes: Uint8Array;
    try {
      const encoded = this.options.encode(message);
      bytes = typeof encoded === 'string' ? Buffer.from(encoded, 'utf8') : encoded;
      if (!(bytes instanceof Uint8Array)) throw new TypeError('encode returned neither bytes nor a string');
    } catch (error) {
      this.log('warn', { peer: to, err: errorMessage(error) }, 'message not encoded');
      return this.drop('encode_error');
    }
    if (1 + bytes.length > this.settings.maxFrameBytes) return this.drop('oversize');
    const frame = encodeFrame(MESSAGE_TAG, bytes);
    const conn = link.conn;
    if (conn && link.queue.length === 0 && conn.socket.writable && !conn.socket.writableNeedDrain) {
      this.writeMessage(conn, frame);
      return true;
    }
    const limit = this.settings.queueLimit;
    if (frame.length > limit.bytes) return this.drop('queue_full');
    const dropped = link.queue.pushWithin(frame, limit);
    this.counters.queued += 1 - dropped;
    this.counters.dropped.queue_full += dropped;
    // A direct write may have filled the buffer with no one waiting for it to drain: flush arms that wait.
    if (conn) this.flush(link);
    return true;
  }

  onMessage(handler: (from: string, message: M) => void): void {
    this.handler = handler;
  }

  connectedPeers(): string[] {
    return [...this.links.values()].filter((link) => link.conn !== null).map((link) => link.id).sort();
  }

  stats(): TransportStats {
    return copyTransportStats(this.counters);
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    if (this.ticker) clearInterval(this.ticker);
    for (const link of this.links.values()) {
      if (link.redial) clearTimeout(link.redial);
      link.redial = null;
      link.queue.clear();
    }
    this.counters.queued = 0;
    const waits: Array<Promise<void>> = [
      new Promise((resolve) => (this.server.listening ? this.server.close(() => resolve()) : resolve())),
    ];
    for (const conn of this.conns) {
      waits.push(conn.closed);
      if (conn.handshakeTimer) clearTimeout(conn.handshakeTimer);
      conn.finished = true;
      if (conn.phase === 'open') {
        conn.socket.end();
        setTimeout(() => conn.socket.destroy(), CLOSE_GRACE_MS).unref();
      } else {
        conn.socket.destroy();
      }
    }
    this.closing = Promise.all(waits).then(() => undefined);
    return this.closing;
  }

  private accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    if (this.pendingAccepted >= MAX_PENDING_CONNECTIONS) {
      this.counters.refused.too_many_pending += 1;
      this.log('warn', { reason: 'too_many_pending', remote: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}` }, 'connection refused');
      socket.destroy();
      return;
    }
    const conn = new Connection(socket, null);
    conn.countedPending = true;
    this.pendingAccepted += 1;
    this.track(conn);
    this.begin(conn);
  }

  private dial(link: Link): void {
    if (this.closed || link.conn || link.dialing || link.port === 0) return;
    this.counters.dialAttempts += 1;
    const tls = this.options.tls;
    const socket = tls
      ? tlsConnect({
          host: link.host,
          port: link.port,
          key: tls.key,
          cert: tls.cert,
          ca: tls.ca,
          rejectUnauthorized: tls.ca !== undefined,
          // Who is at the other end is proved by the Ed25519 handshake bound to this session, not by names in the certificate.
          checkServerIdentity: () => undefined,
        })
      : netConnect({ host: link.host, port: link.port });
    const conn = new Connection(socket, link);
    link.dialing = conn;
    this.track(conn);
    socket.once(tls ? 'secureConnect' : 'connect', () => this.begin(conn));
  }

  /** Listeners and the handshake deadline every connection gets, dialed or accepted. */
  private track(conn: Connection): void {
    this.conns.add(conn);
    conn.socket.on('error', (error) => this.log('info', { peer: conn.link?.id ?? conn.dialed?.id, remote: conn.remote, err: error.message }, 'socket error'));
    conn.socket.once('close', () => this.onClose(conn));
    conn.handshakeTimer = setTimeout(() => this.onHandshakeTimeout(conn), this.settings.handshakeTimeoutMs);
    conn.handshakeTimer.unref();
  }

  /** The socket is connected (and through TLS): send our hello and read frames. */
  private begin(conn: Connection): void {
    if (conn.finished || this.closed) return;
    const socket = conn.socket;
    let channelBinding: Buffer | null = null;
    if (this.options.tls) {
      try {
        channelBinding = tlsChannelBinding(socket as TLSSocket);
      } catch (error) {
        this.refuse(conn, 'tls', `no keying material: ${errorMessage(error)}`);
        return;
      }
    }
    conn.phase = 'handshake';
    socket.setNoDelay(true);
    conn.session = new HandshakeSession({
      clusterId: this.options.clusterId,
      self: this.options.self,
      privateKey: this.privateKey,
      publicKeyOf: (id) => this.links.get(id)?.key,
      expectedPeer: conn.dialed?.id,
      channelBinding,
    });
    socket.on('data', (chunk: Buffer) => {
      this.counters.bytesReceived += chunk.length;
      conn.lastReceived = now();
    });
    conn.decoder = readFrames(socket, {
      maxFrameBytes: HANDSHAKE_MAX_FRAME_BYTES,
      onFrame: (payload) => this.onFrame(conn, payload),
      onOversize: (length, max) => this.refuse(conn, 'oversize', `a frame of ${length} bytes, the limit is ${max}`),
      onError: (error) => this.log('warn', { peer: conn.link?.id, err: errorMessage(error) }, 'frame handling failed; connection closed'),
    });
    this.writeFrame(conn, encodeFrame(conn.session.hello));
  }

  private onFrame(conn: Connection, payload: Buffer): void {
    if (conn.finished) return;
    this.counters.framesReceived += 1;
    if (conn.session) {
      let step: HandshakeStep;
      try {
        step = conn.session.receive(payload);
      } catch (error) {
        this.refuse(conn, error instanceof HandshakeError ? error.reason : 'bad_hello', errorMessage(error));
        return;
      }
      if (step.reply) this.writeFrame(conn, encodeFrame(step.reply));
      if (step.peer !== null) this.authenticated(conn, step.peer);
      return;
    }
    const link = conn.link;
    if (!link) return;
    const tag = payload.length > 0 ? payload[0] : -1;
    if (tag === TAG_HEARTBEAT && payload.length === 1) {
      this.counters.heartbeatsReceived += 1;
      return;
    }
    if (tag !== TAG_MESSAGE) {
      this.counters.decodeErrors += 1;
      this.log('warn', { peer: link.id, tag }, 'frame with an unknown tag skipped');
      return;
    }
    let message: M;
    try {
      message = this.options.decode(payload.subarray(1), link.id);
    } catch (error) {
      this.counters.decodeErrors += 1;
      this.log('warn', { peer: link.id, err: errorMessage(error) }, 'message not decoded; skipped');
      return;
    }
    this.counters.messagesReceived += 1;
    if (!this.handler) return;
    try {
      this.handler(link.id, message);
    } catch (error) {
      this.counters.handlerErrors += 1;
      this.log('warn', { peer: link.id, err: errorMessage(error) }, 'message handler threw');
    }
  }

  private authenticated(conn: Connection, peer: string): void {
    if (conn.handshakeTimer) clearTimeout(conn.handshakeTimer);
    conn.handshakeTimer = null;
    conn.session = null;
    this.releasePending(conn);
    const link = this.links.get(peer) as Link;
    if (conn.dialed) {
      if (link.dialing === conn) link.dialing = null;
      if (link.conn) {
        this.refuse(conn, 'duplicate', `already connected to ${peer}`);
        return;
      }
      this.counters.connectionsDialed += 1;
    } else {
      if (link.dials) {
        this.refuse(conn, 'duplicate', `${peer} sorts above ${this.options.self}: this node dials it, it does not dial here`);
        return;
      }
      // The dialer opens one connection at a time: a new one means it gave up on the old, which this side may not know is dead yet.
      const old = link.conn;
      if (old) {
        this.disconnect(old);
        this.counters.connectionsReplaced += 1;
        this.log('info', { peer }, 'connection replaced by a newer one from the same member');
      }
      this.counters.connectionsAccepted += 1;
    }
    conn.phase = 'open';
    conn.link = link;
    link.conn = conn;
    link.attempt = 0;
    if (link.everConnected) this.counters.reconnects += 1;
    link.everConnected = true;
    if (conn.decoder) conn.decoder.maxFrameBytes = this.settings.maxFrameBytes;
    conn.lastReceived = now();
    this.log('info', { peer, remote: conn.remote, dialed: conn.dialed !== null }, 'peer connected');
    this.flush(link);
  }

  /** Writes queued messages until the queue is empty or the socket's buffer is full; resumes on 'drain'. */
  private flush(link: Link): void {
    const conn = link.conn;
    if (!conn) return;
    while (link.queue.length > 0) {
      // A socket ending under us: the queue waits for the next connection.
      if (!conn.socket.writable) return;
      if (conn.socket.writableNeedDrain) {
        if (!conn.waitingForDrain) {
          conn.waitingForDrain = true;
          conn.socket.once('drain', () => {
            conn.waitingForDrain = false;
            if (link.conn === conn) this.flush(link);
          });
        }
        return;
      }
      const frame = link.queue.shift() as Buffer;
      this.counters.queued -= 1;
      this.writeMessage(conn, frame);
    }
  }

  private writeMessage(conn: Connection, frame: Buffer): void {
    this.counters.messagesSent += 1;
    this.writeFrame(conn, frame);
  }

  private writeFrame(conn: Connection, frame: Buffer): void {
    const socket = conn.socket;
    if (socket.destroyed || !socket.writable) return;
    this.counters.framesSent += 1;
    this.counters.bytesSent += frame.length;
    conn.lastSent = now();
    conn.write(frame);
  }

  /** Heartbeats for idle connections, and the end of silent ones. */
  private tick(): void {
    const t = now();
    for (const link of this.links.values()) {
      const conn = link.conn;
      if (!conn) continue;
      if (t - conn.lastReceived >= this.settings.deadAfterMs) {
        this.counters.heartbeatTimeouts += 1;
        this.log('warn', { peer: link.id, silentMs: Math.round(t - conn.lastReceived) }, 'peer silent; connection closed');
        this.disconnect(conn);
        continue;
      }
      if (t - conn.lastSent >= this.settings.heartbeatMs && !conn.socket.writableNeedDrain) {
        this.counters.heartbeatsSent += 1;
        this.writeFrame(conn, HEARTBEAT_FRAME);
      }
    }
  }

  private onHandshakeTimeout(conn: Connection): void {
    conn.handshakeTimer = null;
    if (conn.finished || conn.phase === 'open') return;
    if (conn.phase === 'connecting' && conn.dialed) {
      // Nothing answered our dial: a dial failure, not a peer's refusal.
      conn.finished = true;
      this.counters.dialFailures += 1;
      conn.socket.destroy();
      return;
    }
    this.refuse(conn, 'timeout', `no handshake within ${this.settings.handshakeTimeoutMs} ms`);
  }

  /** Ends an open connection on this node's own decision; the link stops using it at once, not when the socket's close arrives. */
  private disconnect(conn: Connection): void {
    conn.finished = true;
    if (conn.link && conn.link.conn === conn) this.detach(conn);
    conn.socket.destroy();
  }

  private detach(conn: Connection): void {
    const link = conn.link as Link;
    link.conn = null;
    this.log('info', { peer: link.id }, 'peer disconnected');
  }

  private refuse(conn: Connection, reason: RefusalReason, detail: string): void {
    if (conn.finished) return;
    conn.finished = true;
    this.counters.refused[reason] += 1;
    this.log('warn', { reason, peer: conn.dialed?.id, remote: conn.remote, detail }, 'connection refused');
    conn.decoder?.stop();
    conn.socket.destroy();
  }

  private onClose(conn: Connection): void {
    this.conns.delete(conn);
    if (conn.handshakeTimer) clearTimeout(conn.handshakeTimer);
    conn.handshakeTimer = null;
    conn.decoder?.stop();
    this.releasePending(conn);
    if (!conn.finished && !this.closed) {
      if (conn.phase === 'handshake') this.counters.handshakesAborted += 1;
      else if (conn.phase === 'connecting' && conn.dialed) this.counters.dialFailures += 1;
    }
    const link = conn.link;
    if (link && link.conn === conn) this.detach(conn);
    const dialed = conn.dialed;
    if (dialed && dialed.dialing === conn) dialed.dialing = null;
    const target = link ?? dialed;
    if (target) this.scheduleRedial(target);
  }

  private scheduleRedial(link: Link): void {
    if (this.closed || !link.dials || link.conn || link.dialing || link.redial || link.port === 0) return;
    const { baseMs, capMs } = this.settings.backoff;
    const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(link.attempt, 30));
    link.attempt += 1;
    link.redial = setTimeout(() => {
      link.redial = null;
      this.dial(link);
    }, Math.floor(this.random() * ceiling));
    link.redial.unref();
  }

  private releasePending(conn: Connection): void {
    if (!conn.countedPending) return;
    conn.countedPending = false;
    this.pendingAccepted -= 1;
  }

  private drop(reason: keyof TransportStats['dropped']): false {
    this.counters.dropped[reason] += 1;
    return false;
  }

  /** A logger that throws must not turn a peer's misbehaviour into a crash. */
  private log(level: 'info' | 'warn', obj: object, msg: string): void {
    try {
      this.options.logger?.[level]({ self: this.options.self, ...obj }, msg);
    } catch {
      // Nothing to do: logging is best effort.
    }
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
