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

/** Parses one message payload; throws `ElectionMessageError` if it is not one. */
export function parseElectionMessage(raw: unknown): ElectionMessage {
  const result = ElectionMessageSchema.safeParse(raw);
  if (!result.success) {
    const issues = issuesOf(result.error);
    throw new ElectionMessageError('invalid_message', `malformed election message: ${describe(issues)}`, issues);
  }
  return result.data;
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
 * than throwing so the machine can use it inside a guard.
 */
export function checkInbound(from: unknown, raw: unknown, members?: readonly string[]): InboundCheck {
  const sender = NodeIdSchema.safeParse(from);
  if (!sender.success) {
    const issues = issuesOf(sender.error);
    return { ok: false, error: new ElectionMessageError('invalid_sender', `invalid sender id: ${describe(issues)}`, issues) };
  }
  let message: ElectionMessage;
  try {
    message = parseElectionMessage(raw);
  } catch (error) {
    return { ok: false, error: error as ElectionMessageError };
  }
  const claimed =
    message.type === 'request_vote' ? message.candidateId : message.type === 'heartbeat' ? message.leaderId : sender.data;
  if (claimed !== sender.data) {
    const error = new ElectionMessageError('sender_mismatch', `${message.type} from ${sender.data} claims to come from ${claimed}`);
    return { ok: false, error };
  }
  if (members !== undefined && !members.includes(sender.data)) {
    return { ok: false, error: new ElectionMessageError('unknown_sender', `${sender.data} is not a member of this cluster`) };
  }
  return { ok: true, event: { type: 'receive', from: sender.data, message } };
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
