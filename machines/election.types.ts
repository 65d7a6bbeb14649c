import type {
  ElectionMessage,
  ElectionMessageError,
  ElectionReceiveEvent,
  ElectionTiming,
  Heartbeat,
  HeartbeatResponse,
  LogPosition,
  RequestVote,
  RequestVoteResponse,
} from './election.schemas';
import type { RandomSource } from '../providers/random';
import type { ElectionStorage, HardState } from '../providers/storage';

// The election machine's context, events and what it emits (SPEC §3).

export type NodeId = string;
export type ElectionRole = 'stopped' | 'follower' | 'pre_candidate' | 'candidate' | 'leader';

export interface OutboundMessage {
  readonly to: NodeId;
  readonly message: ElectionMessage;
}

export interface ElectionContext {
  readonly id: NodeId;
  /** The other members, sorted. */
  readonly peers: readonly NodeId[];
  readonly timing: ElectionTiming;
  readonly preVote: boolean;
  /** Mirrors the top-level state, so `role_changed` can say where it came from. */
  readonly role: ElectionRole;
  readonly term: number;
  readonly votedFor: NodeId | null;
  readonly leader: NodeId | null;
  /** The term/vote storage last acknowledged; messages wait while they differ. */
  readonly durable: HardState;
  /** Heard from the leader within the minimum election timeout (stickiness). */
  readonly leaderLive: boolean;
  /** Pre-votes granted for term + 1, self included. */
  readonly preVotes: readonly NodeId[];
  /** Votes granted for the current term, self included. */
  readonly votes: readonly NodeId[];
  /** Peers that answered the leader in the current check-quorum window. */
  readonly quorumAcks: readonly NodeId[];
  /** The randomized election timeout currently running. */
  readonly electionTimeoutMs: number;
  readonly logPosition: LogPosition;
  /** Messages composed while the term/vote they depend on was not yet durable. */
  readonly outbox: readonly OutboundMessage[];
}

/**
 * Internal: a peer message that passed `checkInbound`, as the plain copy it
 * made; guards and actions read this, never the payload that was received.
 */
export interface ElectionAdmittedEvent {
  readonly type: 'admitted';
  readonly from: NodeId;
  readonly message: ElectionMessage;
}

/** Internal: a validated peer message, dispatched by kind. */
export type ElectionRpcEvent =
  | { readonly type: 'rpc.request_vote'; readonly from: NodeId; readonly message: RequestVote }
  | { readonly type: 'rpc.request_vote_response'; readonly from: NodeId; readonly message: RequestVoteResponse }
  | { readonly type: 'rpc.heartbeat'; readonly from: NodeId; readonly message: Heartbeat }
  | { readonly type: 'rpc.heartbeat_response'; readonly from: NodeId; readonly message: HeartbeatResponse };

export type ElectionEvent =
  | { readonly type: 'start' }
  | { readonly type: 'stop' }
  | ElectionReceiveEvent
  | ElectionAdmittedEvent
  | { readonly type: 'log_position'; readonly position: LogPosition }
  /** The cluster's membership changed (through the round engine's log): the other members now. */
  | { readonly type: 'members_changed'; readonly peers: readonly NodeId[] }
  | { readonly type: 'lease_expired' }
  | ElectionRpcEvent;

export type ElectionEmitted =
  | { readonly type: 'outbound'; readonly to: NodeId; readonly message: ElectionMessage }
  | { readonly type: 'role_changed'; readonly from: ElectionRole; readonly to: ElectionRole; readonly term: number }
  | { readonly type: 'leader_changed'; readonly leader: NodeId | null; readonly term: number }
  | { readonly type: 'term_changed'; readonly from: number; readonly to: number }
  | { readonly type: 'message_rejected'; readonly error: ElectionMessageError }
  | { readonly type: 'storage_failed'; readonly operation: 'load' | 'save'; readonly error: unknown };

/** What a node needs from its host besides the clock. */
export interface ElectionDependencies {
  readonly storage: ElectionStorage;
  /** This node's own stream (e.g. `createSeededRandom(seed).fork()` per node). */
  readonly random: RandomSource;
}
