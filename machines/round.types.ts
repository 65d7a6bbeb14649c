import type { Identity, Unique } from '../providers/unique';

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

export interface VoteRecord extends BookEntry {
  proposer: Unique;
  proposerId: Identity;
}

/** What admission checked about a message; the engine passes it with the event. */
export interface MessageIds {
  sender: Identity;
  rank: number;
  contentId: Identity;
  /** Votes only: the prover the vote endorses. */
  proposerId?: Identity;
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
  chosenProposer: Unique | null;
  livenessAnnounced: boolean;
  liveness: RankBook<BookEntry>;
  proposals: RankBook<BookEntry>;
  votes: RankBook<VoteRecord>;
  confirmations: RankBook<BookEntry>;
  thresholds: RoundThresholds;
  timeouts: RoundTimeouts;
  /** How many ranks past the active one a message may be for (SPEC §2.7). */
  rankWindow: number;
  /** Senders recorded per rank and book when membership is not known. */
  maxSendersPerRank: number;
  /** Member identities, when the app declared its membership. */
  members: Identity[] | null;
  shouldEmitReceiveEventsOnSends: boolean;
}

export interface RoundInput {
  self: Unique;
  initialState: Unique;
  thresholds: RoundThresholds;
  timeouts: RoundTimeouts;
  rankWindow: number;
  maxSendersPerRank: number;
  members: Identity[] | null;
  shouldEmitReceiveEventsOnSends: boolean;
}

/**
 * Data events: a peer's message, already validated by the engine, which also
 * passes the ids it checked. The machine's own echoes carry no ids; their
 * values are the node's own.
 */
export type RoundDataEvent =
  | { type: 'liveness_check_received'; peer: Unique; collected: Unique; ids?: MessageIds }
  | { type: 'proposal_received'; peer: Unique; proposal: Unique; ids?: MessageIds }
  | { type: 'vote_received'; proposer: Unique; voter: Unique; vote: Unique; ids?: MessageIds }
  | { type: 'confirmation_received'; peer: Unique; state: Unique; ids?: MessageIds };

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
] as const;
export type RoundSignalEvent = { type: (typeof ROUND_SIGNAL_EVENTS)[number] };

export type RoundEvent = RoundDataEvent | RoundSignalEvent;
export type RoundEventType = RoundEvent['type'];

/** Emitted when verifying makes a finalized state the active one. */
export interface RoundCommittedEmit {
  type: 'committed';
  rank: number;
  state: Unique;
  proposer: Unique | null;
}

/** Emitted whenever a provider call fails; the engine forwards it to the trace logger. */
export interface RoundProviderErrorEmit {
  type: 'provider_error';
  state: RoundStateName;
  call: string;
  error: unknown;
}

export type RoundEmitted = RoundCommittedEmit | RoundProviderErrorEmit;
