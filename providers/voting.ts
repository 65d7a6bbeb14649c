import type { Identity, Unique } from './unique';

/** The vote a node decided on, and the prover whose proposal it endorses. */
export interface VoteDecision<VoteT extends Unique, PeerIDT extends Unique> {
  proposer: PeerIDT;
  vote: VoteT;
}

/** The state a quorum endorsed, and the prover who proposed it. */
export interface Finalization<StateT extends Unique, PeerIDT extends Unique> {
  state: StateT;
  proposer: PeerIDT;
}

/**
 * The application's voting rules. The engine decides *when* to ask (enough
 * proposals, a new vote, a quorum); the provider decides *what* counts.
 * Maps are keyed by the sender's identity: proposals by prover, votes by voter.
 */
export interface VotingProvider<StateT extends Unique, VoteT extends Unique, PeerIDT extends Unique> {
  /** Broadcasts this node's proposal. */
  sendProposal(proposal: StateT, signal: AbortSignal): Promise<void>;
  /** Picks a proposal, broadcasts a vote for it, and says which one it picked. */
  decideAndSendVote(
    proposals: ReadonlyMap<Identity, StateT>,
    signal: AbortSignal,
  ): Promise<VoteDecision<VoteT, PeerIDT>>;
  /** Whether these votes (one per voter) make a quorum. */
  isQuorum(votes: ReadonlyMap<Identity, VoteT>, signal: AbortSignal): Promise<boolean>;
  /** Folds the quorum's votes onto the proposals and returns the next state. */
  finalizeVotes(
    proposals: ReadonlyMap<Identity, StateT>,
    votes: ReadonlyMap<Identity, VoteT>,
    signal: AbortSignal,
  ): Promise<Finalization<StateT, PeerIDT>>;
  /** Broadcasts that this node finalized `finalized`. */
  sendConfirmation(finalized: StateT, signal: AbortSignal): Promise<void>;
}
