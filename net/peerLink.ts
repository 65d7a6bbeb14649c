import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { KeyHandle } from '../engine/signing/keys';
import { FrameQueue } from './frameQueue';
import { createFrameWriter, type FrameDecoder } from './framing';
import type { HandshakeSession } from './handshake';

// The TCP transport's bookkeeping: a Link per member, living as long as the
// transport, and a Connection per socket, from its opening to its close. A
// link holds at most one open connection and one dial in progress.

/** Monotonic milliseconds: heartbeats and deadlines must not follow wall-clock jumps. */
export const now = (): number => performance.now();

/** This node's side of its relation with one member. */
export class Link {
  readonly queue = new FrameQueue();
  conn: Connection | null = null;
  dialing: Connection | null = null;
  redial: NodeJS.Timeout | null = null;
  attempt = 0;
  everConnected = false;

  constructor(
    readonly id: string,
    readonly key: KeyHandle,
    public host: string,
    public port: number,
    /** Whether this node is the one that dials. */
    readonly dials: boolean,
  ) {}
}

/** One socket, from its opening to its close. */
export class Connection {
  phase: 'connecting' | 'handshake' | 'open' = 'connecting';
  session: HandshakeSession | null = null;
  decoder: FrameDecoder | null = null;
  link: Link | null = null;
  handshakeTimer: NodeJS.Timeout | null = null;
  lastReceived = now();
  lastSent = now();
  /** Closed by this node on purpose: its close is not counted again. */
  finished = false;
  waitingForDrain = false;
  countedPending = false;
  readonly closed: Promise<void>;
  readonly write: (frame: Uint8Array) => boolean;

  constructor(
    readonly socket: Socket,
    /** The member dialed, for an outgoing connection. */
    readonly dialed: Link | null,
  ) {
    this.write = createFrameWriter(socket);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  get remote(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? '?'}`;
  }
}
