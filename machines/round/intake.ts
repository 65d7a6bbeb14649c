import type { Admission, Candidate } from '../../guards/admission';
import { slotOf } from '../../guards/admission';
import { hasLivenessQuorum } from '../../guards/liveness';
import { weightOf, weightOfSenders } from '../../guards/quorum';
import { membershipAt } from '../../guards/membership';
import { nextRank } from '../../guards/rank';
import { endorsementIn, NIL, skipTarget, valueKey } from '../../guards/roundChange';
import { countAt, entriesAt, recordFirst, writeFirst } from '../rankBook';
import type { Identity } from '../../providers/unique';
import type {
  ConfirmationRecord,
  RankBook,
  RoundContext,
  RoundDataEvent,
  VoteRecord,
} from '../round.types';
import { bookEntryOf, noteAttemptOf } from './recording';
import { groupsOf, weighAfterWrite } from './slotWeights';
import { forgetTallies } from './tally';

type Books = Pick<RoundContext, 'liveness' | 'proposals' | 'votes' | 'confirmations' | 'attemptsSeen'>;

/**
 * The engine's way in for a peer's message that `admit` let in (not a
 * duplicate). It is written into the books of `context`, the round actor's
 * current context, in place: one entry per message, rather than a new
 * context and a macrostep per message, which is what the machine's data
 * events cost. The statechart stays the protocol's skeleton: the message
 * itself is sent on to the actor (marked `recorded`) only when a state may
 * act on it, that is when it completes the liveness quorum, makes a group of
 * matching votes or confirmations weigh a quorum, completes f + 1 senders at
 * a later attempt, or is a proposal. Anything else is only written down:
 * every state weighs its books when it is entered, so news matters only to a
 * state already waiting. Returns the event to send, or null.
 *
 * Writing in place is safe because between steps the books only grow, by
 * first-wins entries, and every step that prunes or filters them builds new
 * objects: an older context that shares a book is never read again.
 */
export function takeIn(
  context: RoundContext,
  event: RoundDataEvent,
  candidate: Candidate,
  admission: Extract<Admission, { admitted: true }>,
): RoundDataEvent | null {
  const books = context as Books;
  const seen = noteAttemptOf(context, candidate, admission);
  if (seen !== context.attemptsSeen) books.attemptsSeen = seen;
  const crossed = admission.evidenceOnly ? false : writeAndWeigh(context, candidate, bookEntryOf(event, candidate));
  forgetTallies(context);

  const rank = nextRank(context);
  if (candidate.rank !== rank) return null;
  // Only a message from a later attempt is skip evidence; it is also what finds evidence completed while
  // this node was in a state that does not skip (liveness_check), as the machine's own handlers would.
  const ahead = candidate.kind !== 'liveness' && candidate.attempt > context.attempt;
  if (ahead && skipTarget(context) !== null) return { ...event, recorded: true };
  if (admission.evidenceOnly) return null;
  const news =
    candidate.kind === 'liveness'
      ? hasLivenessQuorum(context) && countAt(context.liveness, rank) - 1 < context.thresholds.liveness
      : // A proposal may be the one a vote waits for, or give prover-named votes their value.
        candidate.kind === 'proposal' || crossed;
  return news ? { ...event, recorded: true } : null;
}

/**
 * Writes the entry; for a vote or confirmation, says whether it made its
 * group (the matching messages of its slot, as a tally matches them) weigh a
 * quorum: a group that already did was news when it first did. (A lock proof
 * or certificate is a quorum on its own, and is sent to the actor itself.)
 */
function writeAndWeigh(context: RoundContext, candidate: Candidate, entry: ReturnType<typeof bookEntryOf>): boolean {
  const books = context as Books;
  const key = BOOK_OF[candidate.kind];
  const book = books[key] as RankBook<unknown>;
  const slot = slotOf(candidate);
  // The books a context starts with are its own plain objects; a frozen one (an app's) is copied instead.
  if (Object.isFrozen(book)) (books as Record<string, unknown>)[key] = recordFirst(book, slot, candidate.sender, entry);
  else writeFirst(book, slot, candidate.sender, entry);
  const membership = membershipAt(context, candidate.rank);
  const { sender } = candidate;
  const crosses = (weight: number) => weight >= membership.quorum && weight - weightOf(membership, sender) < membership.quorum;
  if (candidate.kind === 'confirmation') {
    const confirmations = entriesAt<ConfirmationRecord>(context.confirmations, slot);
    return crosses(weighAfterWrite(membership, confirmations, sender, (c) => (c.contentId === null ? NIL : valueKey(c.contentId))));
  }
  if (candidate.kind !== 'vote') return false;
  const votes = entriesAt<VoteRecord>(context.votes, slot);
  const weight = weighAfterWrite(membership, votes, sender, (vote) => vote.endorses);
  if (!hasProverNamedVotes(votes)) return crosses(weight);
  // The reference's votes name only a prover, and match by the proposal this node holds of it: weigh as a tally does.
  const own = endorsementIn(context, candidate.attempt, votes[sender]);
  const matching = Object.entries(votes).filter(([, vote]) => endorsementIn(context, candidate.attempt, vote) === own);
  return crosses(weightOfSenders(membership, matching.map(([voter]) => voter)));
}

const hasProverNamedVotes = (votes: Readonly<Record<Identity, VoteRecord>>) =>
  [...groupsOf(votes)].some((group) => group.startsWith('prover:'));

const BOOK_OF = {
  liveness: 'liveness',
  proposal: 'proposals',
  vote: 'votes',
  confirmation: 'confirmations',
} as const;
