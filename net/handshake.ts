import { randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { KeyHandle } from '../engine/signing/keys';
import { TransportError, type RefusalReason } from './transport';

// Mutual authentication of two members over a fresh connection, in four
// frames, each a JSON object encoded as UTF-8:
//
//   both sides, at once:   {"type":"hello","v":1,"cluster":<cluster id>,"id":<own member id>,"nonce":<32 random bytes, hex>}
//   both sides, once the other's hello is in:
//                          {"type":"proof","signature":<Ed25519 signature, 128 hex characters>}
//
// A side is authenticated when its proof verifies with the public key the
// configuration gives its id. Each proof signs a transcript naming both ends
// and both nonces, so it is worth nothing on another connection: the peer's
// fresh nonce stops replays, the signer's own nonce keeps a peer from
// choosing everything that is signed, and the two ids in their roles stop a
// proof being reflected back to its signer.
//
// Over TLS the transcript also holds 32 bytes exported from the TLS session
// (RFC 5705/8446 exporter, label `statechart-consensus handshake`). Two TLS
// sessions never export the same bytes, so a relay that terminates TLS on
// both sides and forwards the frames gets proofs that fail on the far end.
// Over plain TCP nothing binds the frames after the handshake to it: the
// handshake tells who opened the connection, not that an on-path attacker
// did not take it over later.

export const HANDSHAKE_VERSION = 1;
export const HANDSHAKE_DOMAIN = 'statechart-consensus/handshake/v1';
export const TLS_EXPORTER_LABEL = 'statechart-consensus handshake';
export const TLS_EXPORTER_BYTES = 32;
export const NONCE_BYTES = 32;
/** A hello is a couple of hundred bytes: a handshake frame larger than this is refused before it is buffered. */
export const HANDSHAKE_MAX_FRAME_BYTES = 4096;

const NONCE_HEX = /^[0-9a-f]{64}$/;
const SIGNATURE_HEX = /^[0-9a-f]{128}$/;
/** Member ids are names in a configuration, not documents. */
const MAX_ID_LENGTH = 256;

/** The refusals a handshake itself can decide; the transport adds its own (timeout, duplicate, ...). */
export type HandshakeRefusal = Extract<
  RefusalReason,
  'bad_hello' | 'bad_version' | 'wrong_cluster' | 'unknown_member' | 'self' | 'unexpected_peer' | 'bad_signature'
>;

/** The peer's handshake is refused; `reason` is the counter it goes to. */
export class HandshakeError extends TransportError {
  constructor(
    readonly reason: HandshakeRefusal,
    detail: string,
  ) {
    super(`handshake refused (${reason}): ${detail}`);
  }
}

export interface HandshakeHello {
  type: 'hello';
  v: number;
  cluster: string;
  id: string;
  nonce: string;
}

export interface HandshakeProof {
  type: 'proof';
  signature: string;
}

export interface TranscriptInput {
  clusterId: string;
  /** The member whose key signs. */
  signer: string;
  /** The member the proof is for. */
  verifier: string;
  verifierNonce: Uint8Array;
  signerNonce: Uint8Array;
  /** The TLS exporter's bytes, or null over plain TCP. */
  channelBinding: Uint8Array | null;
}

/**
 * The exact bytes a proof signs: seven fields, each a 4-byte big-endian
 * length followed by that many bytes, in this order:
 *
 *   1. `statechart-consensus/handshake/v1` (UTF-8)
 *   2. the cluster id (UTF-8)
 *   3. the signer's member id (UTF-8)
 *   4. the verifier's member id (UTF-8)
 *   5. the verifier's nonce (32 bytes, as sent in its hello)
 *   6. the signer's nonce (32 bytes, as sent in its hello)
 *   7. the TLS exporter's 32 bytes, or nothing (length 0) over plain TCP
 *
 * Length prefixes make the encoding injective: no two transcripts with
 * different fields share bytes, whatever characters the ids hold.
 */
export function handshakeTranscript(input: TranscriptInput): Buffer {
  const fields = [
    Buffer.from(HANDSHAKE_DOMAIN, 'utf8'),
    Buffer.from(input.clusterId, 'utf8'),
    Buffer.from(input.signer, 'utf8'),
    Buffer.from(input.verifier, 'utf8'),
    input.verifierNonce,
    input.signerNonce,
    input.channelBinding ?? new Uint8Array(0),
  ];
  const out = Buffer.allocUnsafe(fields.reduce((sum, field) => sum + 4 + field.length, 0));
  let offset = 0;
  for (const field of fields) {
    out.writeUInt32BE(field.length, offset);
    out.set(field, offset + 4);
    offset += 4 + field.length;
  }
  return out;
}

/** The 32 bytes a TLS session exports for the handshake; both ends of one session get the same ones. */
export function tlsChannelBinding(socket: TLSSocket): Buffer {
  return socket.exportKeyingMaterial(TLS_EXPORTER_BYTES, TLS_EXPORTER_LABEL, Buffer.from(HANDSHAKE_DOMAIN, 'utf8'));
}

export interface HandshakeOptions {
  clusterId: string;
  self: string;
  privateKey: KeyHandle;
  /** The configured key of member `id`, or undefined when `id` is not a member. */
  publicKeyOf(id: string): KeyHandle | undefined;
  /** On the dialing side, the member that was dialed: any other answer is refused. */
  expectedPeer?: string;
  channelBinding?: Uint8Array | null;
  /** Tests only: a fixed nonce. */
  nonce?: Uint8Array;
}

/** What to do after a frame: send `reply` if any; `peer` is set once the other side is authenticated. */
export interface HandshakeStep {
  reply: Buffer | null;
  peer: string | null;
}

/**
 * One side of one connection's handshake, free of sockets: send `hello`
 * first, then hand every frame to `receive` until it names the peer.
 * Anything unexpected throws a `HandshakeError`, after which the session
 * is spent and the connection should be closed.
 */
export class HandshakeSession {
  /** The payload of this side's first frame. */
  readonly hello: Buffer;
  private readonly nonce: Uint8Array;
  private state: 'hello' | 'proof' | 'done' | 'failed' = 'hello';
  private peerId: string | null = null;
  private peerKey: KeyHandle | null = null;
  private peerNonce: Buffer | null = null;

  constructor(private readonly options: HandshakeOptions) {
    this.nonce = options.nonce ?? randomBytes(NONCE_BYTES);
    if (this.nonce.length !== NONCE_BYTES) throw new RangeError(`a handshake nonce is ${NONCE_BYTES} bytes`);
    const hello: HandshakeHello = {
      type: 'hello',
      v: HANDSHAKE_VERSION,
      cluster: options.clusterId,
      id: options.self,
      nonce: Buffer.from(this.nonce).toString('hex'),
    };
    this.hello = Buffer.from(JSON.stringify(hello), 'utf8');
  }

  /** The authenticated peer, once the handshake is done. */
  get peer(): string | null {
    return this.state === 'done' ? this.peerId : null;
  }

  get done(): boolean {
    return this.state === 'done';
  }

  receive(frame: Uint8Array): HandshakeStep {
    try {
      if (this.state === 'hello') return { reply: this.onHello(parse(frame)), peer: null };
      if (this.state === 'proof') {
        this.onProof(parse(frame));
        return { reply: null, peer: this.peerId };
      }
      throw new HandshakeError('bad_hello', `a frame after the handshake ${this.state === 'done' ? 'finished' : 'failed'}`);
    } catch (error) {
      this.state = 'failed';
      throw error;
    }
  }

  private onHello(message: Record<string, unknown>): Buffer {
    if (message.type !== 'hello') throw new HandshakeError('bad_hello', `expected a hello, got ${describeType(message.type)}`);
    if (message.v !== HANDSHAKE_VERSION) throw new HandshakeError('bad_version', `version ${String(message.v).slice(0, 32)}, this node speaks ${HANDSHAKE_VERSION}`);
    const { cluster, id, nonce } = message;
    if (typeof cluster !== 'string' || typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH || typeof nonce !== 'string' || !NONCE_HEX.test(nonce)) {
      throw new HandshakeError('bad_hello', 'a hello needs a cluster, an id and a 32-byte hex nonce');
    }
    if (cluster !== this.options.clusterId) throw new HandshakeError('wrong_cluster', `cluster ${JSON.stringify(cluster.slice(0, 64))}`);
    if (id === this.options.self) throw new HandshakeError('self', 'the hello carries this node\'s own id');
    const key = this.options.publicKeyOf(id);
    if (key === undefined) throw new HandshakeError('unknown_member', `${JSON.stringify(id)} is not a member`);
    if (this.options.expectedPeer !== undefined && id !== this.options.expectedPeer) {
      throw new HandshakeError('unexpected_peer', `dialed ${this.options.expectedPeer}, ${id} answered`);
    }
    this.peerId = id;
    this.peerKey = key;
    this.peerNonce = Buffer.from(nonce, 'hex');
    this.state = 'proof';
    const transcript = this.transcript(this.options.self, id, this.peerNonce, this.nonce);
    const proof: HandshakeProof = { type: 'proof', signature: sign(null, transcript, this.options.privateKey as KeyObject).toString('hex') };
    return Buffer.from(JSON.stringify(proof), 'utf8');
  }

  private onProof(message: Record<string, unknown>): void {
    if (message.type !== 'proof' || typeof message.signature !== 'string' || !SIGNATURE_HEX.test(message.signature)) {
      throw new HandshakeError('bad_hello', 'expected a proof with a 64-byte hex signature');
    }
    const peer = this.peerId as string;
    const transcript = this.transcript(peer, this.options.self, this.nonce, this.peerNonce as Buffer);
    let valid = false;
    try {
      valid = verify(null, transcript, this.peerKey as KeyObject, Buffer.from(message.signature, 'hex'));
    } catch {
      valid = false;
    }
    if (!valid) throw new HandshakeError('bad_signature', `the proof is not ${peer}'s signature over this connection`);
    this.state = 'done';
  }

  private transcript(signer: string, verifier: string, verifierNonce: Uint8Array, signerNonce: Uint8Array): Buffer {
    return handshakeTranscript({
      clusterId: this.options.clusterId,
      signer,
      verifier,
      verifierNonce,
      signerNonce,
      channelBinding: this.options.channelBinding ?? null,
    });
  }
}

function parse(frame: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString('utf8'));
  } catch {
    throw new HandshakeError('bad_hello', 'a handshake frame that is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HandshakeError('bad_hello', 'a handshake frame that is not a JSON object');
  return value as Record<string, unknown>;
}

function describeType(type: unknown): string {
  return typeof type === 'string' ? JSON.stringify(type.slice(0, 32)) : typeof type;
}
