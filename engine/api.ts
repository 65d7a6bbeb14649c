import type { Actor } from 'xstate';
import type { Membership } from '../guards/quorum';
import type { MembershipChangeNotice } from './membership/history';
import type { RoundMachine } from '../machines/round.machine';
import type { RoundEventType, RoundStateName } from '../machines/round.types';
import type { Identity, Unique } from '../providers/unique';
import type { AttemptPosition } from '../providers/voting';
import type { CommitLogView, LogEntry } from './commitLog';
import type { CommitCertificate } from './signing/certificate';
import type { ProposalOutcome, ProposeOptions } from './proposals/options';
import type { Snapshot } from './stateMachine';
import type { SnapshotChunk } from '../providers/relay';

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
  /** The identity of the proposal the vote endorses. Without it, votes match by prover only (engines without keys). */
  proposal?: Identity | null;
  /** The voter's signature, as its engine handed it to `sendVote`; required by an engine with keys. */
  signature?: string;
  /** The audience linear messaging named (`SignedPosition.to`): accepted and not read. */
  to?: Identity;
}
export interface ConfirmationMessagePosition {
  rank?: number;
  attempt?: number;
  /** The sender's signature, as its engine handed it out; required by an engine with keys. */
  signature?: string;
  /** The audience linear messaging named (`SignedPosition.to`): accepted and not read. */
  to?: Identity;
}

/**
 * A commit certificate as a peer's engine made it (`CommitCertificate`,
 * passed on as it is): an engine with keys checks every signature; one
 * without takes the signers on the app's word. Either weighs the signers
 * itself.
 */
export interface CommitCertificateInput<PeerIDT extends Unique> {
  rank?: number;
  attempt: number;
  signers: PeerRef<PeerIDT>[];
  signatures?: string[];
  valueDigest?: string;
}

/**
 * A lock proof (`LockProof`, passed on as it is): a quorum of members'
 * votes for the value named `value` at `(rank, attempt)`, signed when the
 * engines have keys.
 */
export interface LockProofInput<PeerIDT extends Unique> {
  rank: number;
  attempt: number;
  /** The identity of the value voted for. */
  value: Identity;
  voters: PeerRef<PeerIDT>[];
  signatures?: string[];
  valueDigest?: string;
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
  /** The quorum's signed confirmations; null for an engine without keys. */
  certificate: CommitCertificate | null;
}

/** A refused message throws a `ConsensusInputError`; these are the two ways in. */
export type ReceiveResult = 'accepted' | 'duplicate';

export interface ConsensusEngine<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
  PayloadT = never,
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
  /** Who votes in the rank being decided, with what weight, and the quorum the engine counts. */
  getMembership(): Membership;
  /**
   * The membership deciding `rank`: the configured one throughout, unless
   * committed values change it (`membershipChangeIn`). Null for a rank older
   * than the oldest this node keeps; for a rank past what it has read of
   * the log, the membership as read so far.
   */
  getMembershipAt(rank: number): Membership | null;
  /** Called when a committed change is scheduled, with the rank it takes effect at. Returns an unsubscribe function. */
  onMembershipChange(listener: (notice: MembershipChangeNotice) => void): () => void;
  /** Provider calls that failed so far (each was also reported to the trace logger). */
  getProviderErrorCount(): number;
  /** Peer messages (and notes on them) held for undecided ranks: bounded by `heldMessageBound`. */
  getHeldMessageCount(): number;
  addListener(listener: TransitionListener): () => void;
  /** This node's commits in order, with their certificates (in memory, the last `logRetention` of them). */
  readonly log: CommitLogView<StateT, PeerIDT>;
  /**
   * Every commit from index `from` on (default: the next one), held ones
   * first, then each as it happens: `for await (const entry of engine.commits())`.
   * Ends when `signal` aborts or the loop breaks.
   */
  commits(options?: { from?: number; signal?: AbortSignal }): AsyncIterable<LogEntry<StateT, PeerIDT>>;
  /**
   * Called synchronously with each entry as it enters the log: `appended` at
   * its commit, `filled` when a rank skipped by syncing is filled in from
   * peers (out of index order; `commits()` reads in order). Returns an
   * unsubscribe function.
   */
  onLogEntry(listener: (entry: LogEntry<StateT, PeerIDT>, how: 'appended' | 'filled') => void): () => void;
  /** This node's public key (hex), or null for an engine without keys. */
  getPublicKey(): string | null;
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
  receiveNilConfirmation(peer: PeerRef<PeerIDT>, position: AttemptPosition & { signature?: string }): ReceiveResult;
  /**
   * A quorum of signed confirmations of `state` the app verified, e.g. from a
   * peer that already committed it. Refused unless its signers weigh a quorum.
   */
  receiveCommitCertificate(state: StateT, certificate: CommitCertificateInput<PeerIDT>): ReceiveResult;
  /** A quorum of signed votes for one value the app verified: the proof behind a peer's lock. */
  receiveLockProof(proof: LockProofInput<PeerIDT>): ReceiveResult;
  /**
   * Queues `payload` for a coming proposal (config `proposals`) and resolves
   * with how it ended: committed at a log index, aborted by the app's
   * validation, or expired. Rejects with `ProposalError` when it cannot be
   * queued: nothing is then held.
   */
  propose(payload: PayloadT, options?: ProposeOptions): Promise<ProposalOutcome>;
  /** A payload another member forwarded (`relay.forwardPayload`); throws `ProposalError`, keeping nothing, when refused. */
  receivePayload(from: PeerRef<PeerIDT>, payload: PayloadT): ReceiveResult;
  /** This node's proposals not yet settled. */
  getPendingProposalCount(): number;
  /** A member asks for committed entries `from`..`to` (`relay.requestEntries`): answered through `relay.sendEntries`; returns how many. */
  receiveEntriesRequest(peer: PeerRef<PeerIDT>, from: number, to: number): number;
  /**
   * Entries a peer sent to fill ranks this node skipped, from any peer, not
   * only a member (a joiner may know none of the members it is joining):
   * each that fills a missing place is appended only if its certificate
   * verifies for its state with its rank's members; one that does not
   * refuses all (`InvalidSignatureError`, `MalformedMessageError`). Returns
   * how many filled.
   */
  receiveEntries(peer: PeerRef<PeerIDT>, entries: Array<{ state: StateT; certificate: CommitCertificateInput<PeerIDT> }>): number;
  /**
   * A chunk of a member's snapshot (`relay.sendSnapshotChunk`). Once members
   * with more than the faulty weight sent the same snapshot, past what this
   * node applied, it replaces the state machine's state and the entries it
   * covers are no longer fetched: 'restored'. 'kept': held until then;
   * 'ignored': not newer than what is applied, or out of order. Refused
   * (`MalformedMessageError`, `InvalidSignatureError`; nothing kept) when
   * malformed, over `maxSnapshotSize`, not hashing to its digest, or not
   * ending at an entry its certificate proves committed.
   */
  receiveSnapshotChunk(peer: PeerRef<PeerIDT>, chunk: SnapshotChunk<StateT>): 'restored' | 'kept' | 'ignored';
  /** The index of the last entry applied to `config.stateMachine` (the initial state's rank before any). */
  getAppliedIndex(): number;
  /** The newest snapshot of `config.stateMachine` taken or restored, or null. */
  latestSnapshot(): Snapshot<StateT> | null;
  /**
   * A linearizable read without a commit: asks the members how far they have
   * committed, and resolves, once a quorum answered and the highest answer is
   * applied here (`getAppliedIndex`), with that index. Reading the state
   * machine then gives a state no older than the moment of the call. Needs
   * `relay.requestReadIndex` and `relay.sendReadIndex`; rejects with
   * `ReadIndexError` (`not_configured`, `too_many_pending`, `expired` at
   * `deadline` on this engine's clock, `stopped`).
   */
  readIndex(options?: { deadline?: number }): Promise<number>;
  /** A member's `relay.requestReadIndex`: answered through `relay.sendReadIndex`. Refused (`not_member`, `malformed`) like any message. */
  receiveReadIndexRequest(peer: PeerRef<PeerIDT>, nonce: string): void;
  /** A member's answer to one of this node's reads: 'ignored' when no read waits for it (or its sender answered already). */
  receiveReadIndex(peer: PeerRef<PeerIDT>, nonce: string, index: number): 'accepted' | 'ignored';
}
