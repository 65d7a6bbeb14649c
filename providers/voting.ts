import type { Identity, Unique } from './unique';

/** Where a message sits in the round flow: the rank it decides and the attempt within it (SPEC §2.8). */
export interface AttemptPosition {
  rank: number;
  attempt: number;
}

export interface ProposalPosition extends AttemptPosition {
  /**
   * The earlier attempt in which 2f + 1 voted for this value, when the
   * proposer re-proposes a value it saw a quorum for (Tendermint's validRound);
   * a node locked on another value may vote for it only then. Null otherwise.
   */
  validAttempt: number | null;
}

/**
 * A position with this node's signature over what it sends (SPEC §4,
 * README "What a signature covers"), when the engine signs: carry it with the
 * message, and pass it back in the position of the matching `receive*` call.
 * The app never signs or checks anything itself.
 */
export interface SignedPosition extends AttemptPosition {
  signature?: string;
  /**
   * Linear messaging (`messaging: 'linear'`): the one member this message is
   * for, the attempt's aggregator (the prover of the value it endorses), by
   * identity; it may be this node itself, and then nobody else needs it.
   * Absent: every other member. Sending it to everyone anyway stays correct,
   * only dearer; re-sends of a height still undecided go to everyone. A
   * receiver may pass the position back with it.
   */
  to?: Identity;
}

/** Where a vote sits, what it endorses, and its signature when the engine signs. */
export interface VotePosition extends SignedPosition {
  /** The identity of the proposal voted for; null for a nil vote. */
  proposal: Identity | null;
}

/**
 * The vote a node decided on, and the prover whose proposal it endorses;
 * `proposer: null` for a nil vote.
 */
export interface VoteDecision<VoteT extends Unique, PeerIDT extends Unique> {
  proposer: PeerIDT | null;
  vote: VoteT;
}

/** The state a quorum endorsed, and the prover who proposed it. */
export interface Finalization<StateT extends Unique, PeerIDT extends Unique> {
  state: StateT;
  proposer: PeerIDT;
}

/**
 * The application's voting rules. The engine decides *when* to ask and, with
 * its locks and attempts, *what may* be voted for; it also counts every
 * quorum itself, over the configured members and their weights (SPEC
 * §2.10). The provider decides what is valid and sends what the engine
 * decided. Maps are keyed by the sender's identity: proposals by prover,
 * votes by voter.
 *
 * Everything sent must carry its position, so peers can pass it to
 * `receiveProposal`, `receiveVote` / `receiveNilVote` and
 * `receiveConfirmation` / `receiveNilConfirmation`.
 *
 * A vote is decided and sent in one call (`decideAndSendVote`), or, as an
 * engine with keys requires, decided (`decideVote`) and then sent
 * (`sendVote`) once the engine has checked the choice against its lock and
 * signed it.
 */
export interface VotingProvider<StateT extends Unique, VoteT extends Unique, PeerIDT extends Unique> {
  /** Broadcasts this node's proposal for `position`. */
  sendProposal(proposal: StateT, signal: AbortSignal, position: ProposalPosition): Promise<void>;
  /**
   * Picks a proposal of this attempt, broadcasts a vote for it naming the
   * proposal's identity, and says which it picked. `proposals` are the ones
   * this node's lock allows when the call starts; the provider may wait
   * (abortably) for more of the same attempt, and the engine checks its
   * choice against its books and the lock when the call returns. With no
   * proposal it judges valid, or when `proposals` is empty, it broadcasts a
   * nil vote and returns `{ proposer: null, vote }`.
   */
  decideAndSendVote?(
    proposals: ReadonlyMap<Identity, StateT>,
    signal: AbortSignal,
    position: AttemptPosition,
  ): Promise<VoteDecision<VoteT, PeerIDT>>;
  /** As `decideAndSendVote`, without sending: the engine sends the vote through `sendVote` if its lock allows it. */
  decideVote?(
    proposals: ReadonlyMap<Identity, StateT>,
    signal: AbortSignal,
    position: AttemptPosition,
  ): Promise<VoteDecision<VoteT, PeerIDT>>;
  /** Broadcasts the vote `decideVote` chose, with its position and signature. */
  sendVote?(decision: VoteDecision<VoteT, PeerIDT>, signal: AbortSignal, position: VotePosition): Promise<void>;
  /** Folds the quorum's votes onto the proposal they endorse and returns it as the next state. */
  finalizeVotes(
    proposals: ReadonlyMap<Identity, StateT>,
    votes: ReadonlyMap<Identity, VoteT>,
    signal: AbortSignal,
  ): Promise<Finalization<StateT, PeerIDT>>;
  /** Broadcasts that this node locked on `finalized` at `position` and confirms it. */
  sendConfirmation(finalized: StateT, signal: AbortSignal, position: SignedPosition): Promise<void>;
  /**
   * Broadcasts a nil confirmation: 2f + 1 voted nil at `position`. Optional:
   * without it the attempt ends on its timeout instead of at once.
   */
  sendNilConfirmation?(position: SignedPosition, signal: AbortSignal): Promise<void>;
}
