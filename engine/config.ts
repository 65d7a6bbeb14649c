import { z } from 'zod';
import type { InspectionEvent, Observer } from 'xstate';
import { DEFAULT_ROUND_TIMEOUTS, type RoundTimeouts } from '../machines/round.types';
import { createMembership, membershipIssues, type Membership, type WeightedMember } from '../guards/quorum';
import type { ConsensusClock } from '../providers/clock';
import type { ValueCodecs } from '../providers/codec';
import type { LeaderProvider } from '../providers/leader';
import type { LivenessProvider } from '../providers/liveness';
import type { RoundSafetyStorage } from '../providers/storage';
import type { SyncProvider } from '../providers/sync';
import type { TraceLogger } from '../providers/trace';
import type { Identity, Unique } from '../providers/unique';
import type { VotingProvider } from '../providers/voting';
import { ConsensusConfigError } from './errors';
import { describeIssues, rankedSchema, uniqueSchema } from './schemas';

/** A node more than this many ranks behind its peers should sync, not buffer. */
export const DEFAULT_RANK_WINDOW = 16;
/** Upper bound on the window (see `heldMessageBound`). */
export const MAX_RANK_WINDOW = 1024;
/** Attempts before and after the current one whose messages a node keeps. */
export const DEFAULT_ATTEMPT_WINDOW = 4;
export const MAX_ATTEMPT_WINDOW = 64;
/** Most members a cluster may have: every book holds at most one message per member and slot. */
export const MAX_MEMBERS = 65_536;
/**
 * Characters of plain data one value from a peer may take (its JSON form):
 * a peer must not make a node hold megabytes per message.
 */
export const DEFAULT_MAX_VALUE_SIZE = 1 << 20;

/**
 * Most peer messages (and notes about them) one engine holds: per rank in the
 * window and member, one liveness, a proposal, a vote and a confirmation in
 * each attempt kept (the current one ± `attemptWindow`), and the highest
 * attempt it was heard at (skip-ahead evidence); per rank and attempt kept,
 * one lock proof and one commit certificate.
 */
export function heldMessageBound(rankWindow: number, members: number, attemptWindow = DEFAULT_ATTEMPT_WINDOW): number {
  const attempts = 2 * attemptWindow + 1;
  return rankWindow * (members * (2 + 3 * attempts) + 2 * attempts);
}

/** A fixed count, or one computed from the active state at the start of each round. */
export type Threshold<StateT> = number | ((active: StateT) => number);

/** A member as configured: its id alone (weight 1), or with a voting weight. */
export type MemberConfig<PeerIDT extends Unique> = PeerIDT | { id: PeerIDT; weight?: number };

export interface ConsensusProviders<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
> {
  sync: SyncProvider<StateT>;
  leader: LeaderProvider<StateT, PeerIDT, CollectedT>;
  liveness: LivenessProvider<StateT, CollectedT>;
  voting: VotingProvider<StateT, VoteT, PeerIDT>;
}

export type InspectionObserver = Observer<InspectionEvent> | ((event: InspectionEvent) => void);

export interface ConsensusEngineConfig<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
> {
  /** This node's peer id; it must be one of `members`. */
  id: PeerIDT;
  /**
   * Every member of the cluster, this node included, each with a voting
   * weight (default 1). The engine counts every quorum over them (SPEC
   * §2.10); messages from anyone else are refused.
   */
  members: MemberConfig<PeerIDT>[];
  /**
   * The faulty weight f to tolerate. Default and maximum ⌊(n − 1)/3⌋ of the
   * total weight n; a crash-only deployment may set it lower for smaller
   * quorums. A quorum is any set of weight ≥ ⌊(n + f)/2⌋ + 1.
   */
  faultTolerance?: number;
  /** The state the first round builds on (genesis, or the last one persisted). */
  initialState: StateT;
  providers: ConsensusProviders<StateT, VoteT, PeerIDT, CollectedT>;
  /**
   * How a peer's states and votes become the app's own values: the engine
   * keeps and hands out only what `decode` builds from plain data, never a
   * peer's object.
   */
  codec: ValueCodecs<StateT, VoteT>;
  /** Characters of plain data one value from a peer may take. Default 1 MiB. */
  maxValueSize?: number;
  /**
   * Record this node's own liveness and votes as if received. Set it when the
   * transport does not deliver a node's messages back to itself. Default true.
   */
  shouldEmitReceiveEventsOnSends?: boolean;
  /** Provers the leader provider must name before proving starts. Default 1. */
  minimumProvers?: Threshold<StateT>;
  /** Liveness announcements needed to start proving (0: none). Default: minimumProvers. */
  livenessThreshold?: Threshold<StateT>;
  /** Proposals needed to vote and to accept a quorum. Default: minimumProvers. */
  proposalThreshold?: Threshold<StateT>;
  /** Per-state timeouts in ms (SPEC §2.5 defaults). */
  timeouts?: Partial<RoundTimeouts>;
  /** Ranks past the active one a peer's message may be for. Default 16. */
  rankWindow?: number;
  traceLogger?: TraceLogger;
  /**
   * Say once per kind of message, sender and reason that a node refuses a
   * peer's messages (through `traceLogger.warn`, else `console.warn`).
   * Default true.
   */
  warnOnRefusals?: boolean;
  /** Schedules every timeout; XState's `SimulatedClock` in tests. Default: wall clock. */
  clock?: ConsensusClock;
  /** XState inspection observer, e.g. `createBrowserInspector().inspect`. */
  inspect?: InspectionObserver;
  /** Work to finish in `stopping` (flush, close); aborted after the stopping timeout. */
  cleanup?: (signal: AbortSignal) => Promise<void>;
  /**
   * Where the lock and the last attempt voted in are kept (SPEC §2.8). Pass
   * the same storage to a restarted node, or it may vote against its lock.
   * Default: kept in the actor only.
   */
  storage?: RoundSafetyStorage;
  /** Attempts before and after the current one whose messages are kept. Default 4. */
  attemptWindow?: number;
}

const isFunction = (value: unknown) => typeof value === 'function';
export const method = (name: string) => z.custom<unknown>(isFunction, { message: `${name} must be a function` });
const provider = (methods: string[]) =>
  z.object(Object.fromEntries(methods.map((name) => [name, method(name)]))).loose();
const thresholdSchema = (least: number) =>
  z.union([
    z.number().int().min(least),
    z.custom<(active: unknown) => number>(isFunction, { message: `must be an integer of at least ${least} or a function` }),
  ]);
const timeoutSchema = z.number().finite().positive();
const codecSchema = (name: string) =>
  z.object({ encode: method(`codec.${name}.encode`).optional(), decode: method(`codec.${name}.decode`) }).loose();

/** A member entry: a peer id, or `{ id, weight }`. */
const memberSchema = z.unknown().transform((entry, ctx): { id: Identity; peer: Unique; weight: number } => {
  const wrapped = typeof entry === 'object' && entry !== null && 'id' in entry && !('identity' in entry);
  const raw = wrapped ? (entry as { id: unknown }).id : entry;
  const weight = wrapped ? ((entry as { weight?: unknown }).weight ?? 1) : 1;
  const parsed = uniqueSchema('member').safeParse(raw);
  if (!parsed.success) {
    for (const issue of describeIssues(parsed.error)) ctx.addIssue({ code: 'custom', message: issue });
    return z.NEVER;
  }
  if (typeof weight !== 'number') {
    ctx.addIssue({ code: 'custom', message: `${parsed.data.id}'s weight must be a number` });
    return z.NEVER;
  }
  return { id: parsed.data.id, peer: parsed.data.value, weight };
});

const configSchema = z
  .object({
    id: uniqueSchema('id'),
    members: z.array(memberSchema).min(1).max(MAX_MEMBERS),
    faultTolerance: z.number().optional(),
    initialState: rankedSchema('initialState'),
    providers: z.object({
      sync: provider(['synchronize']),
      leader: provider(['getNextLeaders', 'proveNextState']),
      liveness: provider(['collect', 'sendLiveness']),
      voting: provider(['sendProposal', 'decideAndSendVote', 'finalizeVotes', 'sendConfirmation']),
    }),
    codec: z.object({ state: codecSchema('state'), vote: codecSchema('vote') }).loose(),
    maxValueSize: z.number().int().min(64).max(1 << 30).optional(),
    shouldEmitReceiveEventsOnSends: z.boolean().optional(),
    minimumProvers: thresholdSchema(1).optional(),
    // 0: provers go on without waiting to hear that the others are alive.
    livenessThreshold: thresholdSchema(0).optional(),
    proposalThreshold: thresholdSchema(1).optional(),
    timeouts: z
      .object(Object.fromEntries(Object.keys(DEFAULT_ROUND_TIMEOUTS).map((key) => [key, timeoutSchema.optional()])))
      .strict()
      .optional(),
    rankWindow: z.number().int().min(1).max(MAX_RANK_WINDOW).optional(),
    traceLogger: z.object({ trace: method('trace'), error: method('error'), warn: method('warn').optional() }).loose().optional(),
    warnOnRefusals: z.boolean().optional(),
    clock: z
      .object({ setTimeout: method('setTimeout'), clearTimeout: method('clearTimeout'), now: method('now') })
      .loose()
      .optional(),
    inspect: z.unknown().optional(),
    cleanup: method('cleanup').optional(),
    storage: z.object({ loadRoundSafety: method('loadRoundSafety'), saveRoundSafety: method('saveRoundSafety') }).loose().optional(),
    attemptWindow: z.number().int().min(1).max(MAX_ATTEMPT_WINDOW).optional(),
  })
  .strict()
  .refine((config) => (config.timeouts?.attemptGrowth ?? 1) >= 1, {
    message: 'timeouts.attemptGrowth must be at least 1: later attempts never wait less',
    path: ['timeouts', 'attemptGrowth'],
  });

/** What the configuration check establishes about the cluster. */
export interface ResolvedMembers<PeerIDT extends Unique> {
  membership: Membership;
  /** The configured member objects by identity: a peer's message is attributed to these, never to its own object. */
  peers: ReadonlyMap<Identity, PeerIDT>;
}

/**
 * Checks a configuration and works out the membership. Throws
 * `ConsensusConfigError` listing every issue.
 */
export function resolveConfig<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
>(config: ConsensusEngineConfig<StateT, VoteT, PeerIDT, CollectedT>): ResolvedMembers<PeerIDT> {
  const parsed = configSchema.safeParse(config);
  if (!parsed.success) throw new ConsensusConfigError(describeIssues(parsed.error));
  const members: WeightedMember[] = parsed.data.members.map(({ id, weight }) => ({ id, weight }));
  const issues = membershipIssues(members, parsed.data.faultTolerance);
  if (!members.some((member) => member.id === parsed.data.id.id)) {
    issues.push(`members: must include this node (${parsed.data.id.id})`);
  }
  if (issues.length > 0) throw new ConsensusConfigError(issues);
  const peers = new Map<Identity, PeerIDT>();
  for (const member of parsed.data.members) peers.set(member.id, member.peer as PeerIDT);
  return { membership: createMembership(members, parsed.data.faultTolerance), peers };
}
