import type { RandomSource } from '../providers/random';
import type { ElectionStorage } from '../providers/storage';
import { z } from 'zod';

/**
 * Wire format of the election (Raft-lite) protocol. Everything a peer sends is
 * parsed here before the election machine sees it; the machine parses again
 * (defence in depth), so a host that forgets cannot corrupt a node.
 */

/**
 * Node ids appear in every message and in the vote/ack sets kept in context;
 * the bound keeps a hostile or buggy peer from making a node store or
 * re-broadcast arbitrarily large strings. 128 covers UUIDs, host:port pairs
 * and DNS names of ordinary length.
 */
export const MAX_NODE_ID_LENGTH = 128;

/**
 * Terms and log positions are counters compared and incremented with plain
 * `number` arithmetic; one below the largest safe integer keeps `term + 1`
 * exact.
 */
export const MAX_TERM = Number.MAX_SAFE_INTEGER - 1;

export const NodeIdSchema = z
  .string()
  .min(1)
  .max(MAX_NODE_ID_LENGTH)
  .regex(/^[A-Za-z0-9._:@-]+$/, 'node id: letters, digits and . _ : @ - only');

const TermSchema = z.int().min(0).max(MAX_TERM);
const LogIndexSchema = z.int().min(0).max(MAX_TERM);

/** Where a node's log ends; the §5.4.1 up-to-date check compares these. */
export const LogPositionSchema = z.strictObject({
  lastLogTerm: TermSchema,
  lastLogIndex: LogIndexSchema,
});
export type LogPosition = z.infer<typeof LogPositionSchema>;

/**
 * RequestVote, also used for pre-votes (thesis §9.6). For a pre-vote, `term`
 * is the term the sender *would* campaign in (its own term + 1); nobody adopts
 * it.
 */
export const RequestVoteSchema = z.strictObject({
  type: z.literal('request_vote'),
  preVote: z.boolean(),
  term: TermSchema.min(1),
  candidateId: NodeIdSchema,
  lastLogTerm: TermSchema,
  lastLogIndex: LogIndexSchema,
});
export type RequestVote = z.infer<typeof RequestVoteSchema>;

/**
 * `term` is the responder's current term, except for a granted pre-vote, which
 * echoes the proposed term so the pre-candidate can tell which round it
 * answers.
 */
export const RequestVoteResponseSchema = z.strictObject({
  type: z.literal('request_vote_response'),
  preVote: z.boolean(),
  term: TermSchema,
  granted: z.boolean(),
});
export type RequestVoteResponse = z.infer<typeof RequestVoteResponseSchema>;

/**
 * An empty AppendEntries: the leader's proof of life. Log replication will add
 * fields here; `strictObject` makes that a deliberate schema change rather than
 * something peers can slip in.
 */
export const HeartbeatSchema = z.strictObject({
  type: z.literal('heartbeat'),
  term: TermSchema.min(1),
  leaderId: NodeIdSchema,
});
export type Heartbeat = z.infer<typeof HeartbeatSchema>;

export const HeartbeatResponseSchema = z.strictObject({
  type: z.literal('heartbeat_response'),
  term: TermSchema,
  success: z.boolean(),
});
export type HeartbeatResponse = z.infer<typeof HeartbeatResponseSchema>;

export const ElectionMessageSchema = z.discriminatedUnion('type', [
  RequestVoteSchema,
  RequestVoteResponseSchema,
  HeartbeatSchema,
  HeartbeatResponseSchema,
]);
export type ElectionMessage = z.infer<typeof ElectionMessageSchema>;
export type ElectionMessageType = ElectionMessage['type'];

/** What the storage provider hands back on load; checked because disks rot. */
export const HardStateSchema = z.strictObject({
  term: TermSchema,
  votedFor: NodeIdSchema.nullable(),
});

export type ElectionMessageErrorCode =
  /** The payload does not match any election message schema. */
  | 'invalid_message'
  /** The transport-supplied sender id is not a valid node id. */
  | 'invalid_sender'
  /** `candidateId` / `leaderId` names someone other than the sender. */
  | 'sender_mismatch'
  /** The sender is not a member of this node's cluster (or is the node itself). */
  | 'unknown_sender';

export interface ElectionMessageIssue {
  readonly path: string;
  readonly message: string;
}

/** Why an inbound election message was refused. Nothing about the node changed. */
export class ElectionMessageError extends Error {
  override readonly name = 'ElectionMessageError';

  constructor(
    readonly code: ElectionMessageErrorCode,
    message: string,
    readonly issues: readonly ElectionMessageIssue[] = [],
  ) {
    super(message);
  }
}

function issuesOf(error: z.ZodError): ElectionMessageIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.message,
  }));
}

function describe(issues: readonly ElectionMessageIssue[]): string {
  return issues.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message)).join('; ');
}

function invalidMessage(issues: readonly ElectionMessageIssue[]): ElectionMessageError {
  return new ElectionMessageError('invalid_message', `malformed election message: ${describe(issues)}`, issues);
}

type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ElectionMessageError };

/** The field values any election message can hold: its fields are all flat. */
type Field = string | number | boolean;

const MESSAGE_FIELDS = ElectionMessageSchema.options.map((option) => Object.keys(option.shape));
/** A payload with more keys than the widest message cannot be one; it is refused before any key is read. */
const MAX_FIELDS = Math.max(...MESSAGE_FIELDS.map((fields) => fields.length));
const FIELD_NAMES = new Set(MESSAGE_FIELDS.flat());
/** Keeps a hostile key name out of the error, which hosts log. */
const MAX_FIELD_NAME_LENGTH = Math.max(...[...FIELD_NAMES].map((field) => field.length));
/** No field holds a longer string than a node id; a longer one is refused before the regex scans it. */
const MAX_FIELD_LENGTH = MAX_NODE_ID_LENGTH;

function refuseMessage(path: string, message: string): Checked<never> {
  return { ok: false, error: invalidMessage([{ path, message }]) };
}

/**
 * Copies what the transport delivered into plain data, the only thing the
 * schema then sees and the only thing that goes further: a value cannot pass
 * validation and be read differently afterwards. The payload is read here
 * once, inside the try, and only through its own property descriptors, so no
 * getter ever runs (an accessor is refused, whatever it would return). A
 * Proxy's traps may run, but whatever they answer the Proxy is refused, and
 * nothing it throws is looked at: the thrown value may be hostile too.
 */
function snapshotPayload(raw: unknown): Checked<Record<string, Field>> {
  if (typeof raw !== 'object' || raw === null) {
    return refuseMessage('', `expected an object, got ${raw === null ? 'null' : typeof raw}`);
  }
  // No prototype: a field the payload lacks cannot turn up from a polluted Object.prototype.
  const copy: Record<string, Field> = Object.create(null);
  try {
    const prototype = Reflect.getPrototypeOf(raw);
    if (prototype !== Object.prototype && prototype !== null) {
      return refuseMessage('', 'expected a plain object, got an array or an instance of a class');
    }
    const keys = Reflect.ownKeys(raw);
    if (keys.length > MAX_FIELDS) {
      return refuseMessage('', `${keys.length} keys; no election message has more than ${MAX_FIELDS}`);
    }
    for (const key of keys) {
      if (typeof key !== 'string') return refuseMessage('', 'a symbol key');
      if (key.length > MAX_FIELD_NAME_LENGTH) {
        return refuseMessage('', `a key of ${key.length} characters; no field name is longer than ${MAX_FIELD_NAME_LENGTH}`);
      }
      // Named before its value is looked at: what an unknown key holds does not matter.
      if (!FIELD_NAMES.has(key)) return refuseMessage('', `Unrecognized key: "${key}"`);
      const descriptor = Reflect.getOwnPropertyDescriptor(raw, key);
      if (descriptor === undefined) return refuseMessage(key, 'listed as a key, but not there');
      if (!('value' in descriptor)) return refuseMessage(key, 'a getter or setter, not a value');
      if (!descriptor.enumerable) return refuseMessage(key, 'not enumerable');
      const value: unknown = descriptor.value;
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        return refuseMessage(key, `expected a string, number or boolean, got ${value === null ? 'null' : typeof value}`);
      }
      if (typeof value === 'string' && value.length > MAX_FIELD_LENGTH) {
        return refuseMessage(key, `a string of ${value.length} characters; none is longer than ${MAX_FIELD_LENGTH}`);
      }
      copy[key] = value;
    }
  } catch {
    return refuseMessage('', 'reading it threw');
  }
  // Structured cloning refuses exotic objects, Proxies among them, without
  // running a trap; on what passed above (a plain object holding primitives)
  // it runs no code of the sender's.
  try {
    structuredClone(raw);
  } catch {
    return refuseMessage('', 'expected plain data, got a Proxy or another exotic object');
  }
  return { ok: true, value: copy };
}

/**
 * Copies this parser made: frozen, so each still holds what was checked, and
 * a message checked at the node's edge is not parsed again when the election
 * machine checks its `receive` event. Membership is by identity: looking a
 * Proxy up here runs none of its traps.
 */
const checkedCopies = new WeakSet<object>();

function readMessage(raw: unknown): Checked<ElectionMessage> {
  if (typeof raw === 'object' && raw !== null && checkedCopies.has(raw)) return { ok: true, value: raw as ElectionMessage };
  const snapshot = snapshotPayload(raw);
  if (!snapshot.ok) return snapshot;
  const result = ElectionMessageSchema.safeParse(snapshot.value);
  if (!result.success) return { ok: false, error: invalidMessage(issuesOf(result.error)) };
  const copy = Object.freeze(result.data);
  checkedCopies.add(copy);
  return { ok: true, value: copy };
}

function readSender(from: unknown): Checked<string> {
  const refuse = (message: string): Checked<never> => ({
    ok: false,
    error: new ElectionMessageError('invalid_sender', `invalid sender id: ${message}`, [{ path: '', message }]),
  });
  // Only a string reaches the schema, whose error messages would inspect anything else.
  if (typeof from !== 'string') return refuse(`expected a string, got ${from === null ? 'null' : typeof from}`);
  if (from.length > MAX_NODE_ID_LENGTH) return refuse(`${from.length} characters; at most ${MAX_NODE_ID_LENGTH}`);
  const sender = NodeIdSchema.safeParse(from);
  if (!sender.success) {
    const issues = issuesOf(sender.error);
    return { ok: false, error: new ElectionMessageError('invalid_sender', `invalid sender id: ${describe(issues)}`, issues) };
  }
  return { ok: true, value: sender.data };
}

/**
 * Parses one message payload into a frozen plain copy; throws
 * `ElectionMessageError` if it is not one, whatever the payload does when read.
 */
export function parseElectionMessage(raw: unknown): ElectionMessage {
  const message = readMessage(raw);
  if (!message.ok) throw message.error;
  return message.value;
}

/** The one event through which peer messages enter the election machine. */
export interface ElectionReceiveEvent {
  readonly type: 'receive';
  readonly from: string;
  readonly message: ElectionMessage;
}

export type InboundCheck =
  | { readonly ok: true; readonly event: ElectionReceiveEvent }
  | { readonly ok: false; readonly error: ElectionMessageError };

/**
 * Checks an inbound message and its transport-level sender. `members`, when
 * given, are the ids the node accepts messages from. Returns the error rather
 * than throwing, and never throws itself: each of `from` and `raw` is read
 * once, and the event holds copies, never the payload.
 */
export function checkInbound(from: unknown, raw: unknown, members?: readonly string[]): InboundCheck {
  const sender = readSender(from);
  if (!sender.ok) return sender;
  const read = readMessage(raw);
  if (!read.ok) return read;
  const message = read.value;
  const claimed =
    message.type === 'request_vote' ? message.candidateId : message.type === 'heartbeat' ? message.leaderId : sender.value;
  if (claimed !== sender.value) {
    const error = new ElectionMessageError('sender_mismatch', `${message.type} from ${sender.value} claims to come from ${claimed}`);
    return { ok: false, error };
  }
  if (members !== undefined && !members.includes(sender.value)) {
    return { ok: false, error: new ElectionMessageError('unknown_sender', `${sender.value} is not a member of this cluster`) };
  }
  return { ok: true, event: { type: 'receive', from: sender.value, message } };
}

/**
 * Turns what the transport delivered into the machine's `receive` event (with
 * a fresh copy of the payload). Throws `ElectionMessageError`; nothing reaches
 * the actor in that case.
 */
export function toElectionEvent(from: unknown, raw: unknown): ElectionReceiveEvent {
  const checked = checkInbound(from, raw);
  if (!checked.ok) throw checked.error;
  return checked.event;
}

/**
 * Every broadcast is one message per member and every vote set holds up to one
 * id per member; Raft deployments stay in single digits (5 or 7), so 64 is
 * generous while keeping a misconfigured node from fanning out without limit.
 */
export const MAX_CLUSTER_SIZE = 64;

/** A day: anything longer is a unit mistake (seconds passed as ms), not a setting. */
const MAX_TIMEOUT_MS = 86_400_000;
const DurationSchema = z.int().min(1).max(MAX_TIMEOUT_MS);

const ElectionTimingFields = z.strictObject({
  electionTimeoutMinMs: DurationSchema,
  electionTimeoutMaxMs: DurationSchema,
  heartbeatIntervalMs: DurationSchema,
  preVoteTimeoutMs: DurationSchema,
});

export const ElectionTimingSchema = ElectionTimingFields.refine(
  (t) => t.electionTimeoutMinMs <= t.electionTimeoutMaxMs,
  { message: 'electionTimeoutMinMs must not exceed electionTimeoutMaxMs' },
).refine((t) => t.heartbeatIntervalMs < t.electionTimeoutMinMs, {
  message: 'heartbeatIntervalMs must be below electionTimeoutMinMs, or followers time out between heartbeats',
});
export type ElectionTiming = z.infer<typeof ElectionTimingSchema>;

/** SPEC §3 defaults. */
export const DEFAULT_ELECTION_TIMING: ElectionTiming = Object.freeze({
  electionTimeoutMinMs: 150,
  electionTimeoutMaxMs: 300,
  heartbeatIntervalMs: 50,
  preVoteTimeoutMs: 100,
});

/** What a host passes to `createActor(machine, { input })`. */
export interface ElectionInput {
  readonly id: string;
  /** The other members of the cluster, not including `id`. */
  readonly peers: readonly string[];
  /** Overrides for `DEFAULT_ELECTION_TIMING`. */
  readonly timing?: Partial<ElectionTiming>;
  /** Thesis §9.6 pre-vote; on unless a test wants to show what it prevents. */
  readonly preVote?: boolean;
  /** Where the node's log ends at start; later changes arrive as `log_position` events. */
  readonly logPosition?: LogPosition;
  /**
   * Storage and randomness, when the machine is not built with
   * `createElectionMachine`: kept out of the context, outside the schema.
   */
  readonly dependencies?: { readonly storage: ElectionStorage; readonly random: RandomSource };
}

export const ElectionInputSchema = z
  .strictObject({
    id: NodeIdSchema,
    peers: z.array(NodeIdSchema).max(MAX_CLUSTER_SIZE - 1),
    timing: ElectionTimingFields.partial().optional(),
    preVote: z.boolean().optional(),
    logPosition: LogPositionSchema.optional(),
  })
  .refine((input) => new Set(input.peers).size === input.peers.length, { message: 'peers must be distinct' })
  .refine((input) => !input.peers.includes(input.id), { message: 'peers must not include the node itself' });

export interface ResolvedElectionInput {
  readonly id: string;
  readonly peers: readonly string[];
  readonly timing: ElectionTiming;
  readonly preVote: boolean;
  readonly logPosition: LogPosition;
}

/** Validates the machine input and fills in defaults; throws on a bad configuration. */
export function resolveElectionInput(input: ElectionInput): ResolvedElectionInput {
  const parsed = ElectionInputSchema.parse(input);
  const timing = ElectionTimingSchema.parse({ ...DEFAULT_ELECTION_TIMING, ...parsed.timing });
  return {
    id: parsed.id,
    // Sorted so broadcasts go out in the same order whatever order the host listed peers in.
    peers: [...parsed.peers].sort(),
    timing,
    preVote: parsed.preVote ?? true,
    logPosition: parsed.logPosition ?? { lastLogTerm: 0, lastLogIndex: 0 },
  };
}
