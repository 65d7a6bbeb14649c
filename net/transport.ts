/** What a node sends its peers through: a simulated network or real sockets, the node cannot tell them apart. */
export interface PeerTransport<M> {
  /** Queues `message` for member `to`. Never throws; false when it was not queued (unknown peer, closed, or it was dropped because the queue was full: see stats). */
  send(to: string, message: M): boolean;
  /** The one handler for messages from authenticated peers (`from` is the member id the handshake proved). */
  onMessage(handler: (from: string, message: M) => void): void;
  /** Members with a live authenticated connection now. */
  connectedPeers(): string[];
  stats(): TransportStats;
  close(): Promise<void>;
}

/** Why `send` did not put a message on its way, or why a queued one was given up. */
export type DropReason =
  /** The peer's queue was full: the oldest queued message made room (or the message alone exceeds the queue's byte bound). */
  | 'queue_full'
  /** The encoded message does not fit in one frame. */
  | 'oversize'
  /** `encode` threw. */
  | 'encode_error'
  /** Not a member, or the node itself. */
  | 'unknown_peer'
  /** The transport was closed. */
  | 'closed';

/** Why a connection was closed by this node before, or instead of, being used. */
export type RefusalReason =
  /** The hello names no configured member. */
  | 'unknown_member'
  /** The proof is not the named member's signature over this connection's transcript. */
  | 'bad_signature'
  /** A handshake frame that is not the expected JSON message. */
  | 'bad_hello'
  /** A hello of another protocol version. */
  | 'bad_version'
  /** A hello for another cluster. */
  | 'wrong_cluster'
  /** A hello carrying this node's own id: a reflected handshake or a misconfigured peer. */
  | 'self'
  /** The member we dialed answered as someone else. */
  | 'unexpected_peer'
  /** A connection the pair's dialing rule does not allow: from the member that should only accept. */
  | 'duplicate'
  /** The handshake did not finish in time. */
  | 'timeout'
  /** The peer announced a frame larger than the limit. */
  | 'oversize'
  /** Too many unauthenticated connections were open already. */
  | 'too_many_pending'
  /** The TLS handshake failed (certificate not trusted, protocol error). */
  | 'tls';

export const DROP_REASONS: readonly DropReason[] = ['queue_full', 'oversize', 'encode_error', 'unknown_peer', 'closed'];
export const REFUSAL_REASONS: readonly RefusalReason[] = [
  'unknown_member',
  'bad_signature',
  'bad_hello',
  'bad_version',
  'wrong_cluster',
  'self',
  'unexpected_peer',
  'duplicate',
  'timeout',
  'oversize',
  'too_many_pending',
  'tls',
];

/** Counters since the transport was created; `queued` alone is a current level. */
export interface TransportStats {
  /** Frames of every kind (handshake, heartbeat, message), with the bytes of their length prefixes. */
  framesSent: number;
  framesReceived: number;
  bytesSent: number;
  bytesReceived: number;
  messagesSent: number;
  messagesReceived: number;
  heartbeatsSent: number;
  heartbeatsReceived: number;
  /** Messages waiting in the per-peer queues now. */
  queued: number;
  dropped: Record<DropReason, number>;
  refused: Record<RefusalReason, number>;
  /** Authenticated connections this node opened, and accepted. */
  connectionsDialed: number;
  connectionsAccepted: number;
  /** Accepted connections that took the place of an older one from the same member. */
  connectionsReplaced: number;
  dialAttempts: number;
  /** Dials that ended before a handshake started: refused, unreachable, TLS failure on our side. */
  dialFailures: number;
  /** Handshakes the other side abandoned (closed or reset) before finishing. */
  handshakesAborted: number;
  /** Connections authenticated with a member this node had been connected to before. */
  reconnects: number;
  /** Connections destroyed because nothing was received for `deadAfterMs`. */
  heartbeatTimeouts: number;
  /** Frames from authenticated peers that did not decode; the connection is kept. */
  decodeErrors: number;
  /** Times the `onMessage` handler threw. */
  handlerErrors: number;
}

export function emptyTransportStats(): TransportStats {
  return {
    framesSent: 0,
    framesReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    messagesSent: 0,
    messagesReceived: 0,
    heartbeatsSent: 0,
    heartbeatsReceived: 0,
    queued: 0,
    dropped: Object.fromEntries(DROP_REASONS.map((reason) => [reason, 0])) as Record<DropReason, number>,
    refused: Object.fromEntries(REFUSAL_REASONS.map((reason) => [reason, 0])) as Record<RefusalReason, number>,
    connectionsDialed: 0,
    connectionsAccepted: 0,
    connectionsReplaced: 0,
    dialAttempts: 0,
    dialFailures: 0,
    handshakesAborted: 0,
    reconnects: 0,
    heartbeatTimeouts: 0,
    decodeErrors: 0,
    handlerErrors: 0,
  };
}

/** A copy callers may keep: later counting does not change it. */
export function copyTransportStats(stats: TransportStats): TransportStats {
  return { ...stats, dropped: { ...stats.dropped }, refused: { ...stats.refused } };
}

/** Base of the errors the transports throw at their callers. */
export class TransportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
