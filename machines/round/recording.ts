import type { Unique } from '../../providers/unique';
import { admit, slotOf, type Admission, type Candidate } from '../../guards/admission';
import { nextRank, rankOf } from '../../guards/rank';
import { endorsementOf, NIL } from '../../guards/roundChange';
import { recordFirst, slotKey } from '../rankBook';
import type {
  BookEntry,
  ConfirmationRecord,
  LivenessRecord,
  ProposalRecord,
  RankBook,
  RoundContext,
  RoundDataEvent,
  RoundEvent,
  VoteRecord,
} from '../round.types';

// How the round reads a peer's message: its ids, whether it is admitted, what is recorded of it.

export function rankOrNaN(value: Unique): number {
  try {
    return rankOf(value);
  } catch {
    return Number.NaN;
  }
}

/**
 * The rank and sender a data event is about, in the form `admit` checks: the
 * ids the engine already checked when it has them, so a peer's methods are
 * never asked twice; read from the values only for the node's own echoes.
 */
export function candidateOf(event: RoundDataEvent): Candidate {
  if (event.ids !== undefined) {
    const { sender, rank, contentId, proposerId, attempt, endorses } = event.ids;
    const candidate: Candidate = { kind: KIND_OF[event.type], sender, rank, contentId, attempt };
    if (proposerId !== undefined) candidate.proposer = proposerId;
    if (event.type === 'vote_received') candidate.endorses = endorses ?? endorsementOf(undefined, proposerId);
    if (event.type === 'confirmation_received' && event.ids.nil === true) candidate.nil = true;
    return candidate;
  }
  // Without ids (an app sending straight to the actor): attempt 0, the reference's form.
  switch (event.type) {
    case 'liveness_check_received':
      return {
        kind: 'liveness',
        sender: event.peer.identity(),
        rank: event.collected === null ? Number.NaN : rankOrNaN(event.collected),
        contentId: event.collected === null ? '' : event.collected.identity(),
        attempt: 0,
      };
    case 'proposal_received':
      return {
        kind: 'proposal',
        sender: event.peer.identity(),
        rank: rankOrNaN(event.proposal),
        contentId: event.proposal.identity(),
        attempt: 0,
      };
    case 'vote_received': {
      const proposer = event.proposer?.identity();
      return {
        kind: 'vote',
        sender: event.voter.identity(),
        rank: rankOrNaN(event.vote),
        contentId: event.vote.identity(),
        attempt: 0,
        endorses: endorsementOf(undefined, proposer),
        ...(proposer === undefined ? {} : { proposer }),
      };
    }
    case 'confirmation_received':
      return {
        kind: 'confirmation',
        sender: event.peer.identity(),
        rank: event.state === null ? Number.NaN : rankOrNaN(event.state),
        contentId: event.state === null ? NIL : event.state.identity(),
        attempt: 0,
        ...(event.state === null ? { nil: true } : {}),
      };
  }
}

const KIND_OF = {
  liveness_check_received: 'liveness',
  proposal_received: 'proposal',
  vote_received: 'vote',
  confirmation_received: 'confirmation',
} as const;

export function isDataEvent(event: RoundEvent): event is RoundDataEvent {
  return (
    event.type === 'liveness_check_received' ||
    event.type === 'proposal_received' ||
    event.type === 'vote_received' ||
    event.type === 'confirmation_received'
  );
}

/**
 * Records a data event if `admit` lets it in; anything else leaves the book as
 * it was. An attempt too far ahead is not kept, only noted as evidence.
 */
export function recordIn<T>(
  context: RoundContext,
  event: RoundEvent,
  book: RankBook<T>,
  entry: (e: RoundDataEvent, candidate: Candidate) => T,
) {
  if (!isDataEvent(event) || event.recorded === true) return book;
  const candidate = candidateOf(event);
  const admission = admit(context, candidate);
  if (!admission.admitted || admission.duplicate || admission.evidenceOnly) return book;
  return recordFirst(book, slotOf(candidate), candidate.sender, entry(event, candidate));
}

/** Notes the highest attempt each sender was heard at, per rank: the skip-ahead evidence. */
export function noteAttempt(context: RoundContext, event: RoundEvent): RankBook<number> {
  if (!isDataEvent(event) || event.type === 'liveness_check_received' || event.recorded === true) return context.attemptsSeen;
  return noteAttemptOf(context, candidateOf(event));
}

/**
 * `noteAttempt` for a candidate; `admission` when the door already judged it.
 * Only an attempt past the one this node is in (attempt 0 at a rank it has
 * not reached) can ever be skip evidence, and a rank's attempt only grows:
 * the common case, attempt 0, copies nothing.
 */
export function noteAttemptOf(context: RoundContext, candidate: Candidate, admission?: Admission): RankBook<number> {
  if (candidate.kind === 'liveness') return context.attemptsSeen;
  const current = candidate.rank === nextRank(context) ? context.attempt : 0;
  if (candidate.attempt <= current) return context.attemptsSeen;
  if (!(admission ?? admit(context, candidate)).admitted) return context.attemptsSeen;
  const key = slotKey(candidate.rank);
  const known = context.attemptsSeen[key]?.[candidate.sender];
  if (known !== undefined && known >= candidate.attempt) return context.attemptsSeen;
  return { ...context.attemptsSeen, [key]: { ...context.attemptsSeen[key], [candidate.sender]: candidate.attempt } };
}

/** The context as it would be once `event` is noted: what the skip guard judges. */
export function withEvidence(context: RoundContext, event: RoundEvent): RoundContext {
  return { ...context, attemptsSeen: noteAttempt(context, event) };
}

export const plainEntry = (value: Unique, candidate: Candidate): BookEntry => ({ value, contentId: candidate.contentId });

/** What the books keep of an admitted message, whichever way it came in. */
export function bookEntryOf(event: RoundDataEvent, candidate: Candidate): LivenessRecord | ProposalRecord | VoteRecord | ConfirmationRecord {
  switch (event.type) {
    case 'liveness_check_received':
      return { contentId: candidate.contentId };
    case 'proposal_received':
      return { ...plainEntry(event.proposal, candidate), validAttempt: event.ids?.validAttempt ?? null };
    case 'vote_received':
      return {
        value: event.vote,
        contentId: candidate.contentId,
        proposer: event.proposer,
        proposerId: candidate.proposer ?? null,
        endorses: candidate.endorses ?? NIL,
      };
    case 'confirmation_received':
      return { value: event.state, contentId: event.state === null ? null : candidate.contentId };
  }
}

/** `recordIn` with the entry the books keep of the event's kind: `book` must be that kind's. */
export function recordEntry<T>(context: RoundContext, event: RoundEvent, book: RankBook<T>): RankBook<T> {
  return recordIn(context, event, book, bookEntryOf as (e: RoundDataEvent, candidate: Candidate) => T);
}
