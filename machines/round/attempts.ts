import { currentSlot, skipTarget } from '../../guards/roundChange';
import { lookup } from '../rankBook';
import type { ProposalRecord, RoundContext } from '../round.types';

// Moving between attempts of a rank: where to, what a fresh attempt is, what a later proposer re-proposes.

export type AttemptMove = 'next' | 'skip';

export function attemptAfter(context: RoundContext, move: AttemptMove): number {
  return move === 'next' ? context.attempt + 1 : (skipTarget(context) ?? context.attempt + 1);
}

/** A rank's attempt state when nothing has happened in it yet. */
export function freshAttempt() {
  return {
    attempt: 0,
    votedAttempt: -1,
    confirmedAttempt: -1,
    confirmationSentAttempt: -1,
    attemptExtended: -1,
    lock: null,
    valid: null,
    finding: null,
    provenValue: null,
    polka: null,
  } satisfies Partial<RoundContext>;
}

/**
 * What the proposer of a later attempt proposes: the valid value with the
 * attempt that proved it, else its own proposal from an earlier attempt
 * (proving again would only make a different value). Null: prove anew.
 */
export function reproposal(context: RoundContext): ProposalRecord | null {
  // Already proposed in this attempt (before a restart): the same proposal again, never another.
  const sent = lookup<ProposalRecord>(context.proposals, currentSlot(context), context.selfId);
  if (sent !== undefined) return sent;
  // Only a value valid in an earlier attempt can be cited (Tendermint's validRound < round); a polka seen in this attempt is not.
  if (context.valid?.value != null && context.valid.attempt < context.attempt) {
    return { value: context.valid.value, contentId: context.valid.contentId, validAttempt: context.valid.attempt };
  }
  for (let attempt = context.attempt - 1; attempt >= 0; attempt -= 1) {
    const own = lookup<ProposalRecord>(context.proposals, currentSlot(context, attempt), context.selfId);
    if (own !== undefined) return { value: own.value, contentId: own.contentId, validAttempt: null };
  }
  return null;
}
