import { z } from 'zod';
import { MAX_ATTEMPT } from '../../engine/schemas';
import { MAX_READ_NONCE_LENGTH } from '../../engine/readIndex';
import { WireError, type BodyCodec } from '../../node/wire';
import { ledgerCodec } from './codec';
import { MAX_SYNC_FRAMES } from './ledgerSync';
import type { LedgerMessage } from './messages';
import { LedgerBatch, LedgerFrame, LedgerPeer, LedgerVote } from './types';

/**
 * The ledger's messages as JSON data, and back into what `LedgerNode.deliver`
 * expects: peers, frames, votes and batches as the ledger's classes;
 * certificates, lock proofs and positions as the plain data the engine
 * reads. Every field is bounded here, before anything is built, so a peer
 * cannot make a node hold more than a few hundred kilobytes per message;
 * whether a frame's hash, a signature or a certificate is right is the
 * ledger's and the engine's to say, not the wire's.
 */

/** Longest member name. */
export const MAX_WIRE_NAME = 64;
/** Longest frame hash, parent or vote target ('nil' included). */
export const MAX_WIRE_HASH = 128;
/**
 * Longest mutation: a coordination entry is at most 516 characters (`s:`, a
 * 32-character name, `:`, 480 of JSON), a client's about 240. An honest sync
 * answer (64 frames of 16 such entries) stays near 0.55 MiB, under the
 * transport's 1 MiB frame.
 */
export const MAX_WIRE_ENTRY = 520;
/** Mutations per frame or batch (the ledger itself takes 16). */
export const MAX_WIRE_FRAME_ENTRIES = 64;
/** Frames per sync answer, entries per `entries` message (the engine sends at most 64). */
export const MAX_WIRE_FRAMES = MAX_SYNC_FRAMES;
/** Signers or voters a certificate or proof names. */
export const MAX_WIRE_SIGNERS = 1024;
/** An Ed25519 signature is 88 base64 characters. */
const MAX_WIRE_SIGNATURE = 128;

const name = z.string().min(1).max(MAX_WIRE_NAME);
/** Inside frames and votes a name may be empty: genesis has no prover, a nil vote no proposer. */
const nameOrNone = z.string().max(MAX_WIRE_NAME);
const hash = z.string().min(1).max(MAX_WIRE_HASH);
const count = z.int().min(0);
const attempt = z.int().min(0).max(MAX_ATTEMPT);
const signature = z
  .string()
  .max(MAX_WIRE_SIGNATURE)
  .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');
const digest = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters');
const entries = z.array(z.string().max(MAX_WIRE_ENTRY)).max(MAX_WIRE_FRAME_ENTRIES);

const frame = z.strictObject({ height: count, parent: z.string().max(MAX_WIRE_HASH), prover: nameOrNone, time: count, entries, hash });
const vote = z.strictObject({ height: count, voter: name, proposer: nameOrNone, frame: hash });
const batch = z.strictObject({ height: count, collector: name, entries });

/** As the engine makes it (`CommitCertificate`); what `CommitCertificateInput` leaves optional stays so. */
const certificate = z.strictObject({
  rank: count.optional(),
  attempt,
  valueDigest: digest.optional(),
  signers: z.array(name).min(1).max(MAX_WIRE_SIGNERS),
  signatures: z.array(signature).max(MAX_WIRE_SIGNERS).optional(),
});
const lockProof = z.strictObject({
  rank: count,
  attempt,
  value: hash,
  valueDigest: digest.optional(),
  voters: z.array(name).min(1).max(MAX_WIRE_SIGNERS),
  signatures: z.array(signature).max(MAX_WIRE_SIGNERS).optional(),
});

const messageSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('liveness'), peer: name, collected: batch }),
  z.strictObject({
    kind: z.literal('proposal'),
    peer: name,
    proposal: frame,
    attempt: attempt.optional(),
    validAttempt: attempt.nullable().optional(),
  }),
  z.strictObject({
    kind: z.literal('vote'),
    proposer: name,
    voter: name,
    vote,
    attempt: attempt.optional(),
    proposal: hash.nullable().optional(),
    signature: signature.optional(),
  }),
  z.strictObject({ kind: z.literal('nil_vote'), voter: name, vote, attempt: attempt.optional(), signature: signature.optional() }),
  z.strictObject({ kind: z.literal('confirmation'), peer: name, state: frame, attempt: attempt.optional(), signature: signature.optional() }),
  z.strictObject({ kind: z.literal('nil_confirmation'), peer: name, rank: count, attempt, signature: signature.optional() }),
  z.strictObject({ kind: z.literal('certificate'), state: frame, certificate }),
  z.strictObject({ kind: z.literal('lock_proof'), proof: lockProof }),
  z.strictObject({ kind: z.literal('sync_request'), id: count, after: count }),
  z.strictObject({ kind: z.literal('sync_response'), id: count, frames: z.array(frame).max(MAX_WIRE_FRAMES) }),
  z.strictObject({ kind: z.literal('entries_request'), first: count, last: count }),
  z.strictObject({
    kind: z.literal('entries'),
    entries: z.array(z.strictObject({ state: frame, certificate })).max(MAX_WIRE_FRAMES),
  }),
  z.strictObject({ kind: z.literal('payload'), payload: z.string().max(MAX_WIRE_ENTRY) }),
  z.strictObject({ kind: z.literal('read_index_request'), nonce: z.string().min(1).max(MAX_READ_NONCE_LENGTH) }),
  z.strictObject({ kind: z.literal('read_index'), nonce: z.string().min(1).max(MAX_READ_NONCE_LENGTH), index: count }),
]);

type WireLedgerMessage = z.infer<typeof messageSchema>;

// ---- out: the ledger's values as plain data -------------------------------

function notSendable(what: string): WireError {
  return new WireError('bad_body', `cannot send ${what}`);
}

function peerOut(value: unknown, what: string): string {
  if (value instanceof LedgerPeer) return value.name;
  if (typeof value === 'string') return value;
  throw notSendable(`${what}: not a LedgerPeer`);
}

function frameOut(value: unknown, what: string) {
  if (!(value instanceof LedgerFrame)) throw notSendable(`${what}: not a LedgerFrame`);
  return { height: value.height, parent: value.parent, prover: value.prover, time: value.time, entries: [...value.entries], hash: value.hash };
}

function voteOut(value: unknown) {
  if (!(value instanceof LedgerVote)) throw notSendable('vote: not a LedgerVote');
  return { height: value.height, voter: value.voter, proposer: value.proposer, frame: value.frame };
}

function batchOut(value: unknown) {
  if (!(value instanceof LedgerBatch)) throw notSendable('collected: not a LedgerBatch');
  return { height: value.height, collector: value.collector, entries: [...value.entries] };
}

type Plain = Record<string, unknown>;

/** A certificate or lock proof, its member lists as names; fields it lacks stay out. */
function signedOut(value: unknown, what: string, members: 'signers' | 'voters', fields: readonly string[]): Plain {
  if (typeof value !== 'object' || value === null) throw notSendable(`${what}: not an object`);
  const source = value as Plain;
  const out: Plain = {};
  for (const field of fields) if (source[field] !== undefined) out[field] = source[field];
  const list = source[members];
  if (!Array.isArray(list)) throw notSendable(`${what}.${members}: not an array`);
  out[members] = list.map((member, i) => peerOut(member, `${what}.${members}[${i}]`));
  if (source.signatures !== undefined) {
    if (!Array.isArray(source.signatures)) throw notSendable(`${what}.signatures: not an array`);
    out.signatures = [...(source.signatures as unknown[])];
  }
  return out;
}

const certificateOut = (value: unknown, what: string) => signedOut(value, what, 'signers', ['rank', 'attempt', 'valueDigest']);
const proofOut = (value: unknown) => signedOut(value, 'proof', 'voters', ['rank', 'attempt', 'value', 'valueDigest']);

/** `message` with its optional position fields, those it has. */
function withOptional(message: Plain, source: Plain, fields: readonly string[]): Plain {
  for (const field of fields) if (source[field] !== undefined) message[field] = source[field];
  return message;
}

function toWire(message: LedgerMessage): unknown {
  const m = message as Plain & LedgerMessage;
  switch (message.kind) {
    case 'liveness':
      return { kind: 'liveness', peer: peerOut(message.peer, 'peer'), collected: batchOut(message.collected) };
    case 'proposal':
      return withOptional({ kind: 'proposal', peer: peerOut(message.peer, 'peer'), proposal: frameOut(message.proposal, 'proposal') }, m, ['attempt', 'validAttempt']);
    case 'vote':
      return withOptional(
        { kind: 'vote', proposer: peerOut(message.proposer, 'proposer'), voter: peerOut(message.voter, 'voter'), vote: voteOut(message.vote) },
        m,
        ['attempt', 'proposal', 'signature'],
      );
    case 'nil_vote':
      return withOptional({ kind: 'nil_vote', voter: peerOut(message.voter, 'voter'), vote: voteOut(message.vote) }, m, ['attempt', 'signature']);
    case 'confirmation':
      return withOptional({ kind: 'confirmation', peer: peerOut(message.peer, 'peer'), state: frameOut(message.state, 'state') }, m, ['attempt', 'signature']);
    case 'nil_confirmation':
      return withOptional({ kind: 'nil_confirmation', peer: peerOut(message.peer, 'peer'), rank: message.rank, attempt: message.attempt }, m, ['signature']);
    case 'certificate':
      return { kind: 'certificate', state: frameOut(message.state, 'state'), certificate: certificateOut(message.certificate, 'certificate') };
    case 'lock_proof':
      return { kind: 'lock_proof', proof: proofOut(message.proof) };
    case 'sync_request':
      return { kind: 'sync_request', id: message.id, after: message.after };
    case 'sync_response': {
      if (!Array.isArray(message.frames)) throw notSendable('frames: not an array');
      return { kind: 'sync_response', id: message.id, frames: message.frames.map((f, i) => frameOut(f, `frames[${i}]`)) };
    }
    case 'entries_request':
      return { kind: 'entries_request', first: message.first, last: message.last };
    case 'entries': {
      if (!Array.isArray(message.entries)) throw notSendable('entries: not an array');
      const list = message.entries.map((entry: unknown, i) => {
        const { state, certificate } = (entry ?? {}) as Plain;
        return { state: frameOut(state, `entries[${i}].state`), certificate: certificateOut(certificate, `entries[${i}].certificate`) };
      });
      return { kind: 'entries', entries: list };
    }
    case 'payload':
      return { kind: 'payload', payload: message.payload };
    case 'read_index_request':
      return { kind: 'read_index_request', nonce: message.nonce };
    case 'read_index':
      return { kind: 'read_index', nonce: message.nonce, index: message.index };
    default:
      throw notSendable(`a message of kind ${String((message as { kind?: unknown }).kind).slice(0, 32)}`);
  }
}

// ---- in: plain data to what the ledger and its engine expect ----------------

/** The ledger's own decoders; the schema above already holds the data to their bounds, so a throw here is a bug turned refusal. */
function frameIn(data: z.infer<typeof frame>): LedgerFrame {
  return ledgerCodec.state.decode(data);
}

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.').slice(0, 60)}: ${issue.message.slice(0, 80)}`)
    .join('; ');
}

function build(m: WireLedgerMessage): LedgerMessage {
  switch (m.kind) {
    case 'liveness':
      return { kind: 'liveness', peer: new LedgerPeer(m.peer), collected: new LedgerBatch(m.collected.height, m.collected.collector, m.collected.entries) };
    case 'proposal':
      return { ...m, peer: new LedgerPeer(m.peer), proposal: frameIn(m.proposal) };
    case 'vote':
      return { ...m, proposer: new LedgerPeer(m.proposer), voter: new LedgerPeer(m.voter), vote: ledgerCodec.vote.decode(m.vote) };
    case 'nil_vote':
      return { ...m, voter: new LedgerPeer(m.voter), vote: ledgerCodec.vote.decode(m.vote) };
    case 'confirmation':
      return { ...m, peer: new LedgerPeer(m.peer), state: frameIn(m.state) };
    case 'nil_confirmation':
      return { ...m, peer: new LedgerPeer(m.peer) };
    case 'certificate':
      return { kind: 'certificate', state: frameIn(m.state), certificate: m.certificate };
    case 'entries':
      return { kind: 'entries', entries: m.entries.map((entry) => ({ state: frameIn(entry.state), certificate: entry.certificate })) };
    case 'sync_response':
      return { kind: 'sync_response', id: m.id, frames: m.frames.map(frameIn) };
    case 'lock_proof':
    case 'sync_request':
    case 'entries_request':
    case 'payload':
    case 'read_index_request':
    case 'read_index':
      return m;
  }
}

function fromWire(data: unknown): LedgerMessage {
  const parsed = messageSchema.safeParse(data);
  if (!parsed.success) throw new WireError('bad_body', `not a ledger message: ${describe(parsed.error)}`);
  try {
    return build(parsed.data);
  } catch (error) {
    throw new WireError('bad_body', `not a ledger message: ${(error as Error).message}`, { cause: error });
  }
}

/** `BodyCodec` of the demo ledger's messages, for `wireCodec`'s `round` channel. */
export const ledgerBodyCodec: BodyCodec<LedgerMessage> = { toWire, fromWire };
