import type { Unique } from '../../providers/unique';
import { nextRank } from '../../guards/rank';
import { currentSlot, endorsementIn, endorsementOf, NIL, votableProposals } from '../../guards/roundChange';
import { entriesAt } from '../rankBook';
import type { MessageIds, RoundContext, RoundDataEvent, VoteRecord } from '../round.types';
import type { ProviderCallInputs } from '../roundPorts';

// This node's own messages as the round records them, and what finalizeVotes is handed.

/** This node's vote as if received, with the ids a peer's would carry. */
export function ownVote(context: RoundContext, proposer: Unique | null, vote: Unique): RoundDataEvent {
  const proposerId = proposer?.identity();
  const endorsed = proposerId === undefined ? undefined : votableProposals(context)[proposerId]?.contentId;
  const ids: MessageIds = {
    sender: context.selfId,
    rank: nextRank(context),
    contentId: vote.identity(),
    attempt: context.attempt,
    endorses: endorsementOf(endorsed, proposerId),
  };
  if (proposerId !== undefined) ids.proposerId = proposerId;
  return { type: 'vote_received', proposer, voter: context.self, vote, ids };
}

export function ownConfirmation(context: RoundContext): RoundDataEvent {
  const state = context.nextState;
  return {
    type: 'confirmation_received',
    peer: context.self,
    state,
    ids: {
      sender: context.selfId,
      rank: nextRank(context),
      contentId: state === null ? NIL : state.identity(),
      attempt: context.attempt,
      ...(state === null ? { nil: true } : {}),
    },
  };
}

/** finalizeVotes' input: the locked proposal and the votes that locked it. */
export function lockedVotes(context: RoundContext): ProviderCallInputs['finalizeVotes'] {
  const finding = context.finding;
  if (finding?.kind !== 'lock' || context.lock === null || context.lock.value === null) return { proposals: {}, votes: {} };
  const votes = entriesAt<VoteRecord>(context.votes, currentSlot(context, finding.attempt));
  return {
    proposals: { [context.lock.proposerId ?? '']: context.lock.value },
    votes: Object.fromEntries(
      Object.entries(votes)
        .filter(([, vote]) => endorsementIn(context, finding.attempt, vote) === finding.endorses)
        .map(([voter, vote]) => [voter, vote.value]),
    ),
  };
}
