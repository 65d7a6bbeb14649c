import type { Actor } from 'xstate';
import type { Membership } from '../guards/quorum';
import type { RoundMachine } from '../machines/round.machine';
import type { RoundEventType, RoundStateName } from '../machines/round.types';
import type { Identity, Unique } from '../providers/unique';
import type { AttemptPosition } from '../providers/voting';

/** A peer as a `receive*` call may name it: its id object, or its identity. */
export type PeerRef<PeerIDT extends Unique> = PeerIDT | Identity;

/**
 * Where a peer's message sits; omitted fields mean attempt 0, the reference's
 * flow. `rank`, when given, must be the value's own: it is there so that the
 * position a provider was handed to send can be passed back in as it is.
 */
export interface ProposalMessagePosition {
  rank?: number;
  attempt?: number;
  validAttempt?: number | null;
}
export interface VoteMessagePosition {
  rank?: number;
  attempt?: number;
  /** The identity of the proposal the vote endorses. Without it, votes match by prover only. */
  proposal?: Identity;
}
export interface ConfirmationMessagePosition {
  rank?: number;
  attempt?: number;
}

/**
 * A commit certificate as the app hands it over: a quorum's worth of members
 * whose confirmations of `state` at `attempt` the app checked the signatures
 * of. The engine weighs the signers itself.
 */
export interface CommitCertificateInput<PeerIDT extends Unique> {
  rank?: number;
  attempt: number;
  signers: PeerRef<PeerIDT>[];
}

/**
 * A lock proof: a quorum's worth of members whose votes for the value named
 * `value` at `(rank, attempt)` the app checked the signatures of.
 */
export interface LockProofInput<PeerIDT extends Unique> {
  rank: number;
  attempt: number;
  /** The identity of the value voted for. */
  value: Identity;
  voters: PeerRef<PeerIDT>[];
}

export interface AttemptChange {
  rank: number;
  from: number;
  to: number;
  reason: 'timeout' | 'nil_confirmations' | 'skip_ahead';
}

export type TransitionListener = (from: RoundStateName, to: RoundStateName, event: RoundEventType) => void;

export interface CommitRecord<StateT extends Unique, PeerIDT extends Unique> {
  rank: number;
  state: StateT;
  /** The prover whose proposal was finalized, when this node holds its proposal. */
  proposer: PeerIDT | null;
  /** The attempt whose quorum of confirmations committed it. */
  attempt: number;
}

/** A refused message throws a `ConsensusInputError`; these are the two ways in. */
export type ReceiveResult = 'accepted' | 'duplicate';

export interface ConsensusEngine<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
> {
  readonly id: PeerIDT;
  /** The running round machine, for apps that compose actors themselves. */
  readonly actor: Actor<RoundMachine>;
  /** Leaves `stopped` for `starting`; a stopped engine can be started again. */
  start(): void;
  /** Resolves once `stopped` is reached; every in-flight provider call is aborted. */
  stop(): Promise<void>;
  /** Re-enters loading from any running state, e.g. after falling behind. */
  induceSync(): void;
  getState(): RoundStateName;
  /** Milliseconds (on the engine's clock) since the current state was entered. */
  getStateTime(): number;
  /** State transitions so far, re-entries included. */
  getTransitionCount(): number;
  getActiveState(): StateT;
  getActiveRank(): number;
  /** Who votes, with what weight, and the quorum the engine counts. */
  getMembership(): Membership;
  /** Provider calls that failed so far (each was also reported to the trace logger). */
  getProviderErrorCount(): number;
  /** Peer messages (and notes on them) held for undecided ranks: bounded by `heldMessageBound`. */
  getHeldMessageCount(): number;
  addListener(listener: TransitionListener): () => void;
  /** Called each time verifying makes a finalized state the active one. */
  onCommit(listener: (commit: CommitRecord<StateT, PeerIDT>) => void): () => void;
  /** Called each time the node leaves an attempt of a rank for a later one. */
  onAttemptChange(listener: (change: AttemptChange) => void): () => void;
  /** The attempt of the rank being decided. */
  getAttempt(): number;
  receiveLivenessCheck(peer: PeerRef<PeerIDT>, collected: CollectedT): ReceiveResult;
  receiveProposal(peer: PeerRef<PeerIDT>, proposal: StateT, position?: ProposalMessagePosition): ReceiveResult;
  receiveVote(proposer: PeerRef<PeerIDT>, voter: PeerRef<PeerIDT>, vote: VoteT, position?: VoteMessagePosition): ReceiveResult;
  /** A nil vote: `vote` is the app's nil ballot (it carries the rank). */
  receiveNilVote(voter: PeerRef<PeerIDT>, vote: VoteT, position?: ConfirmationMessagePosition): ReceiveResult;
  receiveConfirmation(peer: PeerRef<PeerIDT>, state: StateT, position?: ConfirmationMessagePosition): ReceiveResult;
  receiveNilConfirmation(peer: PeerRef<PeerIDT>, position: AttemptPosition): ReceiveResult;
  /**
   * A quorum of signed confirmations of `state` the app verified, e.g. from a
   * peer that already committed it. Refused unless its signers weigh a quorum.
   */
  receiveCommitCertificate(state: StateT, certificate: CommitCertificateInput<PeerIDT>): ReceiveResult;
  /** A quorum of signed votes for one value the app verified: the proof behind a peer's lock. */
  receiveLockProof(proof: LockProofInput<PeerIDT>): ReceiveResult;
}
