import { z } from 'zod';
import type { ReplicatedStateMachine } from './stateMachine';
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
import type { RelayProvider } from '../providers/relay';
import { isCurvePoint, privateKeyObject, publicKeyHex, type PrivateKeyInput } from './signing/keys';
import { SignatureVerifier } from './signing/verifier';
import { MAX_CHAIN_ID_BYTES } from './signing/statement';
import { ConsensusConfigError } from './errors';
import { EngineMetrics } from './metrics';
import { proposalOptionsSchema, type ProposalOptions } from './proposals/options';
import { describeIssues, rankedSchema, uniqueSchema } from './schemas';
import type { MembershipChange } from './membership/change';

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

/** How votes and confirmations travel (`ConsensusEngineConfig.messaging`). */
export type MessagingMode = 'all-to-all' | 'linear';

/** A fixed count, or one computed from the active state at the start of each round. */
export type Threshold<StateT> = number | ((active: StateT) => number);

/**
 * A member as configured: its id alone (weight 1), or with a voting weight
 * and, for an engine with keys, its Ed25519 public key (64 hex characters).
 */
export type MemberConfig<PeerIDT extends Unique> = PeerIDT | { id: PeerIDT; weight?: number; publicKey?: string };

/** Default number of entries applied between two snapshots of the app's state machine. */
export const DEFAULT_SNAPSHOT_INTERVAL = 1_000;

/** Default number of committed entries the in-memory commit log keeps. */
export const DEFAULT_LOG_RETENTION = 10_000;

export interface ConsensusProviders<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
  PayloadT = never,
> {
  sync: SyncProvider<StateT>;
  leader: LeaderProvider<StateT, PeerIDT, CollectedT>;
  liveness: LivenessProvider<StateT, CollectedT, PayloadT>;
  voting: VotingProvider<StateT, VoteT, PeerIDT>;
  /** How lock proofs, commit certificates and forwarded payloads reach peers that need them. */
  relay?: RelayProvider<StateT, PeerIDT, PayloadT>;
}

export type InspectionObserver = Observer<InspectionEvent> | ((event: InspectionEvent) => void);

export interface ConsensusEngineConfig<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
  PayloadT = never,
> {
  /** This node's peer id; one of `members`, unless the membership changes through the log (`membershipChangeIn`) and this node joins later. */
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
  providers: ConsensusProviders<StateT, VoteT, PeerIDT, CollectedT, PayloadT>;
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
  /**
   * This node's Ed25519 private key: its 32-byte seed (hex or bytes) or a
   * `KeyObject`. With it every member needs a `publicKey`; the engine signs
   * this node's votes and confirmations, refuses any peer's without a valid
   * signature (`InvalidSignatureError`), and every commit carries a
   * certificate. Without it nothing is signed: fit for crash faults only.
   */
  privateKey?: PrivateKeyInput;
  /** What the signatures are for: a cluster's statements never count in another's. Default ''. */
  chainId?: string;
  /** A verifier to share with the other engines of this process, so each signature is checked once. */
  signatureVerifier?: SignatureVerifier;
  /**
   * When a peer still deciding a rank this node committed is sent the
   * certificate (through `providers.relay`): not before `delay` ms after the
   * commit (peers about to commit need nothing), and at most once per
   * `interval` ms per peer and rank. Defaults 100 and 200 ms.
   */
  certificateRelay?: { delay?: number; interval?: number };
  /** Committed entries the in-memory commit log keeps (oldest dropped first). Default 10,000. */
  logRetention?: number;
  /**
   * Who this node's votes and confirmations go to. `all-to-all` (default):
   * every member, Θ(n²) messages a round. `linear`: a vote or confirmation
   * for a value goes only to the member that proposed it in that attempt
   * (the `to` of its position), which broadcasts the lock proof and the
   * commit certificate once it holds a quorum (`relay.broadcastLockProof`,
   * `relay.broadcastCertificate`, both then required); nil votes, nil
   * confirmations and re-sends still go to everyone. Needs `privateKey`:
   * proofs are made of signatures.
   */
  messaging?: MessagingMode;
  /**
   * The app's state, built from the log: the engine applies each committed
   * value to it once, in order, and every `snapshotInterval` entries keeps a
   * snapshot (in `storage` when it keeps the log), from which a restarted
   * engine restores it before applying the rest of the log.
   */
  stateMachine?: ReplicatedStateMachine<StateT>;
  /** Entries applied between two snapshots of `stateMachine`. Default 1,000. */
  snapshotInterval?: number;
  /** The largest snapshot taken from a peer, in characters of JSON. Default 64 Mi. */
  maxSnapshotSize?: number;
  /**
   * How the app's payloads map onto its states, for `engine.propose`: the
   * engine queues them, batches them into each rank's collect step, and
   * settles each when a committed state carries it. Without it `propose`
   * refuses (`not_configured`).
   */
  proposals?: ProposalOptions<StateT, PayloadT>;
  /**
   * Which committed values change the membership, one member at a time: the
   * change a value carries, or null. A change committed at index c takes
   * effect at rank c + rankWindow + 1 (so every member must run with the
   * same `rankWindow`); one that this membership cannot take (adding a
   * member, removing a non-member or the last one, a missing or shared
   * publicKey, `faultTolerance` past the bound) is ignored by every node, as
   * is a second one committed before the first takes effect. With it,
   * `members` may leave this node out: it follows the cluster until a
   * committed change adds it. Must be deterministic: a function of the value alone.
   */
  membershipChangeIn?: (state: StateT) => MembershipChange<PeerIDT> | null;
  /** The app's peer object for a member the engine knows by identity only (a change or a snapshot naming it). Default: a bare one. */
  memberPeer?: (id: Identity) => PeerIDT;
  /**
   * Prometheus metrics to feed (`createEngineMetrics()`): transitions,
   * commits, attempts, refusals by code, proposals by outcome, pending
   * proposals, and for a node its role changes and term.
   */
  metrics?: EngineMetrics;
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

/** A member entry: a peer id, or `{ id, weight, publicKey }`. */
const memberSchema = z.unknown().transform((entry, ctx): { id: Identity; peer: Unique; weight: number; publicKey?: string } => {
  const wrapped = typeof entry === 'object' && entry !== null && 'id' in entry && !('identity' in entry);
  const raw = wrapped ? (entry as { id: unknown }).id : entry;
  const weight = wrapped ? ((entry as { weight?: unknown }).weight ?? 1) : 1;
  const publicKey = wrapped ? (entry as { publicKey?: unknown }).publicKey : undefined;
  const parsed = uniqueSchema('member').safeParse(raw);
  if (!parsed.success) {
    for (const issue of describeIssues(parsed.error)) ctx.addIssue({ code: 'custom', message: issue });
    return z.NEVER;
  }
  if (typeof weight !== 'number') {
    ctx.addIssue({ code: 'custom', message: `${parsed.data.id}'s weight must be a number` });
    return z.NEVER;
  }
  if (publicKey !== undefined && (typeof publicKey !== 'string' || !/^[0-9a-fA-F]{64}$/.test(publicKey))) {
    ctx.addIssue({ code: 'custom', message: `${parsed.data.id}'s publicKey must be 64 hex characters` });
    return z.NEVER;
  }
  if (publicKey !== undefined && !isCurvePoint(Buffer.from(publicKey, 'hex'))) {
    ctx.addIssue({ code: 'custom', message: `${parsed.data.id}'s publicKey is not a point of the Ed25519 curve` });
    return z.NEVER;
  }
  return { id: parsed.data.id, peer: parsed.data.value, weight, ...(publicKey === undefined ? {} : { publicKey: publicKey.toLowerCase() }) };
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
      voting: provider(['sendProposal', 'finalizeVotes', 'sendConfirmation'])
        .extend({
          decideAndSendVote: method('decideAndSendVote').optional(),
          decideVote: method('decideVote').optional(),
          sendVote: method('sendVote').optional(),
        })
        .refine((voting) => voting.decideAndSendVote !== undefined || (voting.decideVote !== undefined && voting.sendVote !== undefined), {
          message: 'needs decideAndSendVote, or decideVote and sendVote',
        }),
      relay: provider(['sendLockProof', 'sendCertificate'])
        .extend({
          forwardPayload: method('forwardPayload').optional(),
          requestEntries: method('requestEntries').optional(),
          sendEntries: method('sendEntries').optional(),
          broadcastLockProof: method('broadcastLockProof').optional(),
          broadcastCertificate: method('broadcastCertificate').optional(),
        })
        .optional(),
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
    privateKey: z.unknown().optional(),
    chainId: z
      .string()
      .refine((id) => Buffer.byteLength(id, 'utf8') <= MAX_CHAIN_ID_BYTES, `must take at most ${MAX_CHAIN_ID_BYTES} bytes`)
      .optional(),
    signatureVerifier: z.instanceof(SignatureVerifier).optional(),
    certificateRelay: z
      .object({ delay: z.number().finite().min(0).optional(), interval: z.number().finite().min(0).optional() })
      .strict()
      .optional(),
    logRetention: z.number().int().min(1).optional(),
    messaging: z.enum(['all-to-all', 'linear']).optional(),
    stateMachine: provider(['apply', 'snapshot', 'restore']).optional(),
    snapshotInterval: z.number().int().min(1).optional(),
    maxSnapshotSize: z.number().int().min(1).optional(),
    proposals: proposalOptionsSchema.optional(),
    metrics: z.custom<EngineMetrics>((value) => value instanceof EngineMetrics, { message: 'must be an EngineMetrics (createEngineMetrics())' }).optional(),
    membershipChangeIn: method('membershipChangeIn').optional(),
    memberPeer: method('memberPeer').optional(),
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
  /** Members' public keys (hex) by identity, when configured. */
  publicKeys: ReadonlyMap<Identity, string>;
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
  if (!parsed.success) throw new ConsensusConfigError([...describeIssues(parsed.error), ...privateKeyIssues(config)]);
  const members: WeightedMember[] = parsed.data.members.map(({ id, weight }) => ({ id, weight }));
  const issues = membershipIssues(members, parsed.data.faultTolerance);
  // A node that joins later follows the cluster until a committed change adds it.
  if (!members.some((member) => member.id === parsed.data.id.id) && parsed.data.membershipChangeIn === undefined) {
    issues.push(`members: must include this node (${parsed.data.id.id})`);
  }
  const keyed = parsed.data.members.filter((member) => member.publicKey !== undefined);
  // One key for two members would let its holder sign as both and count twice in every quorum.
  const holders = new Map<string, Identity>();
  for (const { id, publicKey } of keyed) {
    const other = holders.get(publicKey as string);
    if (other !== undefined) issues.push(`members: ${other} and ${id} have one publicKey`);
    else holders.set(publicKey as string, id);
  }
  if (config.privateKey !== undefined) {
    for (const member of parsed.data.members) if (member.publicKey === undefined) issues.push(`members: ${member.id} needs a publicKey, since this engine signs`);
    issues.push(...privateKeyIssues(config));
    const voting = parsed.data.providers.voting;
    if (voting.decideVote === undefined || voting.sendVote === undefined) {
      issues.push('providers.voting: an engine with keys sends each vote itself once signed: give decideVote and sendVote');
    }
  } else if (keyed.length > 0) {
    issues.push('privateKey: members have public keys, so this node needs its private key to sign');
  }
  issues.push(...linearMessagingIssues(config.privateKey !== undefined, parsed.data.messaging, parsed.data.providers.relay));
  if (issues.length > 0) throw new ConsensusConfigError(issues);
  const peers = new Map<Identity, PeerIDT>();
  const publicKeys = new Map<Identity, string>();
  for (const member of parsed.data.members) {
    peers.set(member.id, member.peer as PeerIDT);
    if (member.publicKey !== undefined) publicKeys.set(member.id, member.publicKey);
  }
  return { membership: createMembership(members, parsed.data.faultTolerance), peers, publicKeys };
}

/**
 * Linear messaging trades the Θ(n²) votes and confirmations for proofs an
 * aggregator assembles: without signatures there is nothing to assemble, and
 * without a way to broadcast them nobody would hear of the quorum.
 */
function linearMessagingIssues(signs: boolean, messaging: MessagingMode | undefined, relay: Record<string, unknown> | undefined): string[] {
  if (messaging !== 'linear') return [];
  const issues: string[] = [];
  if (!signs) issues.push("messaging: 'linear' needs an engine with keys (privateKey): its lock proofs and commit certificates are made of the members' signatures");
  for (const name of ['broadcastLockProof', 'broadcastCertificate']) {
    if (relay?.[name] === undefined) issues.push(`providers.relay: messaging 'linear' needs ${name}, through which the aggregator sends what it assembled`);
  }
  return issues;
}

/**
 * What is wrong with the private key, read from the configuration as given
 * (it may not have parsed), so a key that is not this node's is listed with
 * every other issue rather than after them.
 */
function privateKeyIssues(config: { id?: unknown; members?: unknown; privateKey?: unknown }): string[] {
  if (config.privateKey === undefined) return [];
  let key: string;
  try {
    key = publicKeyHex(privateKeyObject(config.privateKey as PrivateKeyInput));
  } catch (error) {
    return [`privateKey: ${error instanceof Error ? error.message : String(error)}`];
  }
  const self = uniqueSchema('id').safeParse(config.id);
  if (!self.success || !Array.isArray(config.members)) return [];
  for (const entry of config.members) {
    const member = memberSchema.safeParse(entry);
    if (member.success && member.data.id === self.data.id && member.data.publicKey !== undefined && member.data.publicKey !== key) {
      return [`privateKey: it is not the key of ${self.data.id}'s configured publicKey`];
    }
  }
  return [];
}
