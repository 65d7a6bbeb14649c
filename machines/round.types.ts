import type { RoundPorts } from './roundPorts';
import type { Identity, Unique } from '../providers/unique';
import type { Membership } from '../guards/quorum';

/** The eleven top-level states of the round flow (SPEC §2.2). */
export const ROUND_STATES = [
  'stopped',
  'starting',
  'loading',
  'collecting',
  'liveness_check',
  'proving',
  'publishing',
  'voting',
  'finalizing',
  'verifying',
  'stopping',
] as const;
export type RoundStateName = (typeof ROUND_STATES)[number];

/** Per-state timeouts in milliseconds; each one is a named delay of the machine. */
export interface RoundTimeouts {
  starting: number;
  loading: number;
  /** How long loading waits after a failed sync before it tries again. */
  syncRetry: number;
  collecting: number;
  livenessCheck: number;
  proving: number;
  publishing: number;
  voting: number;
  finalizing: number;
  verifying: number;
  stopping: number;
  /**
   * Round change (SPEC §2.8): how long attempt 0 of a rank may take, from the
   * moment a node starts voting in it, before the node moves to attempt 1.
   */
  attempt: number;
  /** Each further attempt waits this many times longer than the one before. */
  attemptGrowth: number;
  /** No attempt waits longer than this. */
  attemptMax: number;
}

/** SPEC §2.5, with the reference's 10 h loading timeout. */
export const DEFAULT_ROUND_TIMEOUTS: Readonly<RoundTimeouts> = Object.freeze({
  starting: 1_000,
  loading: 10 * 60 * 60 * 1_000,
  syncRetry: 1_000,
  collecting: 1_000,
  livenessCheck: 1_000,
  proving: 120_000,
  publishing: 1_000,
  voting: 1_000,
  finalizing: 1_000,
  verifying: 1_000,
  stopping: 30_000,
  attempt: 4_000,
  attemptGrowth: 2,
  attemptMax: 120_000,
});

/** The three thresholds SPEC §2.7 separates, resolved to numbers for a round. */
export interface RoundThresholds {
  /** Fewer provers than this and liveness_check asks the leader provider again. */
  provers: number;
  /** Liveness announcements for the next rank needed before proving. */
  liveness: number;
  /** Proposals for the next rank needed before voting. */
  proposals: number;
}

/**
 * Messages per rank, keyed by the rank (as a decimal string) and then by the
 * sender's identity. Plain objects keep the context serialisable for the
 * inspector.
 */
export type RankBook<T> = Readonly<Record<string, Readonly<Record<Identity, T>>>>;

/**
 * A recorded message: the value, and the identity it was admitted under. Ids
 * are kept rather than asked again, so a value whose `identity()` changes or
 * throws later cannot move or break what was recorded.
 */
export interface BookEntry {
  value: Unique;
  contentId: Identity;
}

/** A peer's liveness counts; its collected mutations are its own business. */
export interface LivenessRecord {
  contentId: Identity;
}

export interface VoteRecord extends BookEntry {
  /** The prover whose proposal the vote endorses; null for a nil vote. */
  proposer: Unique | null;
  proposerId: Identity | null;
  /** What the vote endorses (see `endorsementOf`): votes match when these are equal. */
  endorses: string;
}

export interface ProposalRecord extends BookEntry {
  /** The attempt whose 2f + 1 votes the proposer cites for this value (Tendermint's validRound). */
  validAttempt: number | null;
}

/** A nil confirmation carries no state. */
export interface ConfirmationRecord {
  value: Unique | null;
  contentId: Identity | null;
}

/**
 * A value this node saw 2f + 1 votes for: Tendermint's lockedValue/lockedRound
 * (and validValue/validRound). The value itself is kept when this node holds
 * it; after a restart only its identity is known.
 */
export interface LockRecord {
  contentId: Identity;
  proposerId: Identity | null;
  attempt: number;
  value: Unique | null;
}

/** A value kept in the safety data: its identity, who proposed it, where, and the value itself. */
export interface SafetyValueRecord<V> {
  contentId: Identity;
  proposerId: Identity | null;
  attempt: number;
  /** The value; absent in records written before values were kept (only the identity is known then). */
  value?: V;
}

/**
 * The round's safety data for one rank, written before the vote, proposal or
 * confirmation it allows is sent, so a restarted node neither votes twice in
 * one attempt, nor proposes two values in one, nor votes against its lock,
 * and can still re-propose the value it locked on. `V` is how values are
 * held: plain data in storage (`RoundSafetyRecord`), the app's own values in
 * the machine (`RoundSafetyState`).
 */
export interface RoundSafetyRecordOf<V> {
  rank: number;
  /** The highest attempt this node voted in (or began to), -1 for none. */
  votedAttempt: number;
  /** The highest attempt this node confirmed in (or began to), -1 for none. */
  confirmedAttempt: number;
  lock: SafetyValueRecord<V> | null;
  /** validValue / validAttempt: the latest value this node saw a quorum of votes for. */
  valid?: SafetyValueRecord<V> | null;
  /** This node's proposal in the latest attempt it proposed in. */
  proposal?: { attempt: number; contentId: Identity; validAttempt: number | null; value: V } | null;
}

/** The safety record as storage keeps it: values as plain data (the codec's, or JSON's). */
export type RoundSafetyRecord = RoundSafetyRecordOf<unknown>;
/** The safety record as the machine works with it: values are the app's own. */
export type RoundSafetyState = RoundSafetyRecordOf<Unique>;

/**
 * A membership the log scheduled: it decides every rank from `from` on
 * (until the next one). Plain data, like the rest of the context.
 */
export interface ScheduledMembership {
  from: number;
  membership: Membership;
}

/** What a tally found: the first group of matching messages whose senders are a quorum. */
export type QuorumFinding =
  | { kind: 'commit'; attempt: number; contentId: Identity }
  | { kind: 'lock'; attempt: number; endorses: string }
  | { kind: 'nil_votes'; attempt: number }
  | { kind: 'nil_confirmations'; attempt: number };

/** One group of matching messages whose senders' weight the engine weighs against the quorum. */
export interface QuorumGroup {
  kind: 'votes' | 'confirmations';
  rank: number;
  attempt: number;
  /** The endorsed value's identity; null for nil. */
  value: Identity | null;
  /** The finding this group stands for if it is a quorum. */
  finding: QuorumFinding;
  /** Who sent a message of the group, from the books and from certificates. */
  senders: readonly Identity[];
}

/**
 * A quorum's worth of signed votes or confirmations for one value at one
 * position that the app checked the signatures of and handed over whole (a
 * lock proof, a commit certificate). Its signers count for that value even
 * when the books hold another message from one of them: a Byzantine member
 * may sign two values, and counting it for both is safe, since two quorums
 * share more than the faulty weight.
 */
export interface AttestedRecord {
  kind: 'votes' | 'confirmations';
  rank: number;
  attempt: number;
  contentId: Identity;
  signers: readonly Identity[];
  /** A certificate's state (the engine's own copy); null for a lock proof, which names the value only. */
  value: Unique | null;
}

/** What admission checked about a message; the engine passes it with the event. */
export interface MessageIds {
  sender: Identity;
  rank: number;
  contentId: Identity;
  /** Votes only: the prover the vote endorses (absent for a nil vote). */
  proposerId?: Identity;
  /** The attempt within the rank (0 for liveness). */
  attempt: number;
  /** Votes only: what the vote endorses (see `endorsementOf`). */
  endorses?: string;
  /** Proposals only: the attempt whose votes the proposer cites. */
  validAttempt?: number | null;
  /** Confirmations only: a nil confirmation, whose `contentId` names nothing. */
  nil?: boolean;
}

/** Everything a round knows. Nothing lives outside the actor's context. */
export interface RoundContext {
  self: Unique;
  selfId: Identity;
  activeState: Unique;
  /** Rank of `activeState`, cached because every guard needs it. */
  activeRank: number;
  /** The state finalizing produced, committed by verifying. */
  nextState: Unique | null;
  /** The prover whose proposal `nextState` came from. */
  nextProposer: Unique | null;
  collected: Unique | null;
  /** Provers of `activeRank + 1`, priority order; empty until fetched. */
  nextProvers: Unique[];
  /** The rank `nextProvers` were fetched for, so stale lists are not trusted. */
  nextProversRank: number | null;
  livenessAnnounced: boolean;
  /** Liveness is keyed by rank; the other books by slot (`rank/attempt`). Only liveness ids are kept. */
  liveness: RankBook<LivenessRecord>;
  proposals: RankBook<ProposalRecord>;
  votes: RankBook<VoteRecord>;
  confirmations: RankBook<ConfirmationRecord>;
  /** The attempt of `activeRank + 1` this node is in (SPEC §2.8). */
  attempt: number;
  /** Highest attempt this node voted in at the next rank; -1 for none. */
  votedAttempt: number;
  /** Highest attempt this node confirmed in at the next rank; -1 for none. */
  confirmedAttempt: number;
  /** Highest attempt whose confirmation this node has sent; -1 for none. */
  confirmationSentAttempt: number;
  /** The attempt whose timer was run a second time, waiting for a quorum to be heard in it; -1 for none. */
  attemptExtended: number;
  /** lockedValue / lockedAttempt. */
  lock: LockRecord | null;
  /** validValue / validAttempt: the latest value seen with 2f + 1 votes. */
  valid: LockRecord | null;
  /** What the last tally found, for the state it moves to. */
  finding: QuorumFinding | null;
  /** Per rank, the highest attempt each sender was heard at (skip-ahead evidence). */
  attemptsSeen: RankBook<number>;
  /** A proposal whose cited 2f + 1 votes this node checked in this attempt: it may be voted for despite the lock. */
  provenValue: Identity | null;
  /**
   * The latest attempt of the next rank in which this node saw 2f + 1 votes
   * for one value, even one whose proposal it never held (so it could not
   * lock on it): a later proposal of that value may be voted for despite an
   * older lock, as if it cited that attempt.
   */
  polka: { attempt: number; contentId: Identity } | null;
  /** Safety data read from storage at start; applied when its rank comes up. */
  restored: RoundSafetyState | null;
  /** Lock proofs and commit certificates, by `attestedKey`: at most one per kind and slot. */
  attested: Readonly<Record<string, AttestedRecord>>;
  /** Attempts before and after the current one whose messages are kept. */
  attemptWindow: number;
  thresholds: RoundThresholds;
  timeouts: RoundTimeouts;
  /** How many ranks past the active one a message may be for (SPEC §2.7). */
  rankWindow: number;
  /** Who votes in the rank being decided, with what weight, and what weight is a quorum (SPEC §2.10). */
  membership: Membership;
  /** Memberships committed in the log for later ranks, by the rank they take effect at; absent: the membership never changes. */
  membershipsAhead?: readonly ScheduledMembership[];
  /**
   * The log index up to which every committed value was read for a
   * membership change; absent when the membership never changes. Ranks past
   * it + rankWindow + 1 have a membership this node cannot know yet.
   */
  membershipSettledThrough?: number;
  shouldEmitReceiveEventsOnSends: boolean;
}

export interface RoundInput {
  self: Unique;
  initialState: Unique;
  thresholds: RoundThresholds;
  timeouts: RoundTimeouts;
  rankWindow: number;
  membership: Membership;
  membershipsAhead?: readonly ScheduledMembership[];
  membershipSettledThrough?: number;
  shouldEmitReceiveEventsOnSends: boolean;
  attemptWindow: number;
  /** The providers behind the invoked calls (`RoundPorts`); kept out of the context. */
  ports?: RoundPorts;
}

/**
 * Data events: a peer's message, already validated by the engine, which also
 * passes the ids it checked. The machine's own echoes carry no ids; their
 * values are the node's own.
 */
export type RoundDataEvent = (
  /** `collected` is the node's own (an echo); a peer's is not kept, only its ids. */
  | { type: 'liveness_check_received'; peer: Unique; collected: Unique | null; ids?: MessageIds }
  | { type: 'proposal_received'; peer: Unique; proposal: Unique; ids?: MessageIds }
  | { type: 'vote_received'; proposer: Unique | null; voter: Unique; vote: Unique; ids?: MessageIds }
  | { type: 'confirmation_received'; peer: Unique; state: Unique | null; ids?: MessageIds }
) & {
  /**
   * The engine's intake already wrote the message into the books, and sends
   * it on only because a state may act on it (machines/round/intake.ts): it
   * is news, and there is nothing left to record.
   */
  recorded?: true;
};

/** A lock proof or a commit certificate, checked by the engine: its signers weigh a quorum. */
export interface RoundCertificateEvent {
  type: 'certificate_received';
  record: AttestedRecord;
}

/**
 * The engine read more of its log: the memberships it scheduled (the one in
 * force at the rank being decided and every later one) and how far it read.
 */
export interface RoundMembershipEvent {
  type: 'memberships_updated';
  schedule: readonly ScheduledMembership[];
  settledThrough: number;
}

/** Signal events: SPEC §2.2's names, raised by the machine or sent by the app. */
export const ROUND_SIGNAL_EVENTS = [
  'start',
  'stop',
  'induce_sync',
  'init_complete',
  'sync_timeout',
  'sync_complete',
  'collection_done',
  'liveness_timeout',
  'prover_signal',
  'proof_complete',
  'publish_complete',
  'publish_timeout',
  'voting_timeout',
  'quorum_reached',
  'aggregation_done',
  'aggregation_timeout',
  'verification_done',
  'verification_timeout',
  'cleanup_complete',
  'attempt_timeout',
  'attempt_failed',
  'commit_quorum',
] as const;
export type RoundSignalEvent = { type: (typeof ROUND_SIGNAL_EVENTS)[number] };

export type RoundEvent = RoundDataEvent | RoundCertificateEvent | RoundMembershipEvent | RoundSignalEvent;
export type RoundEventType = RoundEvent['type'];

/** Emitted when verifying makes a finalized state the active one. */
export interface RoundCommittedEmit {
  type: 'committed';
  rank: number;
  state: Unique;
  proposer: Unique | null;
  /** The attempt whose 2f + 1 confirmations committed it. */
  attempt: number;
}

/** Emitted when a node leaves an attempt for a later one. */
export interface RoundAttemptEmit {
  type: 'attempt_changed';
  rank: number;
  from: number;
  to: number;
  reason: 'timeout' | 'nil_confirmations' | 'skip_ahead';
}

/** Emitted whenever a provider call fails; the engine forwards it to the trace logger. */
export interface RoundProviderErrorEmit {
  type: 'provider_error';
  state: RoundStateName;
  call: string;
  error: unknown;
}

/** Emitted on entering (or re-entering) a top-level state, with the type of the event that led there. */
export interface RoundStateEnteredEmit {
  type: 'state_entered';
  state: RoundStateName;
  event: string;
}

export type RoundEmitted = RoundCommittedEmit | RoundProviderErrorEmit | RoundAttemptEmit | RoundStateEnteredEmit;
