import { privateKeyObject, publicKeyHex, publicKeyObject, type KeyHandle } from '../engine/signing/keys';
import { DEFAULT_MAX_FRAME_BYTES } from './framing';
import { TransportError } from './transport';

export interface TcpMember {
  id: string;
  /** Ed25519 public key, 32 bytes as 64 hex characters. */
  publicKey: string;
  host: string;
  /** 0 for a peer: its address is not known yet (see `setAddress`). 0 for this node: any free port. */
  port: number;
}

/** `node:tls` material for mutual TLS: each side presents `cert`, and checks the other's against `ca` when given. */
export interface TcpTransportTls {
  key: string | Buffer;
  cert: string | Buffer;
  ca?: string | Buffer | Array<string | Buffer>;
}

/** The part of a pino logger the transport uses. */
export interface TransportLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface TcpTransportOptions<M> {
  self: string;
  clusterId: string;
  /** This node's Ed25519 seed, 64 hex characters; it must match its own member entry's public key. */
  privateKey: string;
  /** Every member, this node included: its own entry says where to listen. */
  members: TcpMember[];
  encode: (message: M) => Uint8Array | string;
  /** May throw: the frame is then skipped and counted in `decodeErrors`, the connection kept. `bytes` is a view: copy it to keep it. */
  decode: (bytes: Buffer, from: string) => M;
  tls?: TcpTransportTls;
  /** Largest frame payload sent or accepted; default 1 MiB. */
  maxFrameBytes?: number;
  /** Bound of each peer's send queue, in messages and in framed bytes; default 4096 messages, 16 MiB. */
  queueLimit?: { messages: number; bytes: number };
  /** A heartbeat goes out after this long without sending anything; default 1000. */
  heartbeatMs?: number;
  /** A connection that received nothing for this long is destroyed; default 5000. */
  deadAfterMs?: number;
  /** Redial delays: uniform in [0, min(capMs, baseMs·2^attempt)); default 100 and 5000. */
  backoff?: { baseMs: number; capMs: number };
  /** From accepting or dialing to an authenticated peer; default 5000. */
  handshakeTimeoutMs?: number;
  /** The jitter's source, uniform in [0, 1); default `Math.random`. */
  random?: () => number;
  logger?: TransportLogger;
}

/** The options given to `createTcpTransport` are unusable. */
export class TransportConfigError extends TransportError {
  constructor(readonly issues: string[]) {
    super(`invalid transport configuration: ${issues.join('; ')}`);
  }
}

/** The options with their defaults filled in. */
export interface TcpSettings {
  maxFrameBytes: number;
  queueLimit: { messages: number; bytes: number };
  heartbeatMs: number;
  deadAfterMs: number;
  backoff: { baseMs: number; capMs: number };
  handshakeTimeoutMs: number;
}

/** Checks `options` and fills in defaults; throws `TransportConfigError` listing every problem found. */
export function resolveTcpOptions<M>(options: TcpTransportOptions<M>): { settings: TcpSettings; privateKey: KeyHandle; own: TcpMember } {
  const issues: string[] = [];
  if (typeof options.self !== 'string' || options.self.length === 0) issues.push('self must be a non-empty string');
  if (typeof options.clusterId !== 'string' || options.clusterId.length === 0) issues.push('clusterId must be a non-empty string');
  if (typeof options.encode !== 'function' || typeof options.decode !== 'function') issues.push('encode and decode must be functions');
  const members = Array.isArray(options.members) ? options.members : [];
  if (members.length === 0) issues.push('members must list every member, this node included');
  const seen = new Set<string>();
  for (const member of members) {
    if (typeof member.id !== 'string' || member.id.length === 0) issues.push('every member needs a non-empty id');
    else if (seen.has(member.id)) issues.push(`member ${member.id} is listed twice`);
    seen.add(member.id);
    try {
      publicKeyObject(member.publicKey);
    } catch (error) {
      issues.push(`member ${member.id}: ${errorMessage(error)}`);
    }
    issues.push(...addressIssues(member.id, member.host, member.port));
  }
  const own = members.find((member) => member.id === options.self);
  if (!own) issues.push(`self ${JSON.stringify(options.self)} is not among the members`);
  let privateKey: KeyHandle | null = null;
  try {
    privateKey = privateKeyObject(options.privateKey);
    if (own && publicKeyHex(privateKey) !== String(own.publicKey).toLowerCase()) issues.push('privateKey does not match the public key of self\'s member entry');
  } catch (error) {
    issues.push(errorMessage(error));
  }
  const settings: TcpSettings = {
    maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    queueLimit: options.queueLimit ?? { messages: 4096, bytes: 16 * 1024 * 1024 },
    heartbeatMs: options.heartbeatMs ?? 1000,
    deadAfterMs: options.deadAfterMs ?? 5000,
    backoff: options.backoff ?? { baseMs: 100, capMs: 5000 },
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 5000,
  };
  const positive = (name: string, value: number) => {
    if (!Number.isFinite(value) || value <= 0) issues.push(`${name} must be a positive number`);
  };
  if (!Number.isInteger(settings.maxFrameBytes) || settings.maxFrameBytes < 2 || settings.maxFrameBytes > 0xffffffff) issues.push('maxFrameBytes must be an integer from 2 to 2^32-1');
  if (!Number.isInteger(settings.queueLimit.messages) || settings.queueLimit.messages < 1) issues.push('queueLimit.messages must be a positive integer');
  positive('queueLimit.bytes', settings.queueLimit.bytes);
  positive('heartbeatMs', settings.heartbeatMs);
  positive('deadAfterMs', settings.deadAfterMs);
  if (settings.deadAfterMs <= settings.heartbeatMs) issues.push('deadAfterMs must exceed heartbeatMs, or idle connections die between heartbeats');
  positive('backoff.baseMs', settings.backoff.baseMs);
  if (!(settings.backoff.capMs >= settings.backoff.baseMs)) issues.push('backoff.capMs must be at least backoff.baseMs');
  positive('handshakeTimeoutMs', settings.handshakeTimeoutMs);
  if (issues.length > 0 || !own || !privateKey) throw new TransportConfigError(issues);
  return { settings, privateKey, own };
}

/** What is wrong with a member's address, if anything. */
export function addressIssues(id: string, host: unknown, port: unknown): string[] {
  const issues: string[] = [];
  if (typeof host !== 'string' || host.length === 0) issues.push(`member ${id}: host must be a non-empty string`);
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) issues.push(`member ${id}: port must be an integer from 0 to 65535`);
  return issues;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
