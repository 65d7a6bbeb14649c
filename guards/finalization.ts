import type { Unique } from '../providers/unique';
import type { RoundContext } from '../machines/round.types';
import { nextRank, rankOf } from './rank';
import { isKnownProver, proversKnown } from './provers';
import { attemptProposers } from './roundChange';

/**
 * Validity (SPEC §6): a finalized state must be for the rank being decided,
 * come from a prover of that round (or a member whose turn to propose came
 * in an attempt up to the one it was locked in: a value proposed in attempt
 * 2 and re-proposed in attempt 5 keeps its first proposer), and be the very
 * value this node locked on: the provider aggregates, it does not get to
 * pick another value.
 */
export function isValidFinalization(context: RoundContext, state: Unique, proposer: Unique): boolean {
  const rank = nextRank(context);
  let stateRank: number;
  let stateId: string;
  try {
    stateRank = rankOf(state);
    stateId = state.identity();
  } catch {
    return false;
  }
  const proposerId = proposer.identity();
  const lock = context.lock;
  return (
    stateRank === rank &&
    proversKnown(context) &&
    lock !== null &&
    (isKnownProver(context, proposerId) || hadTurnBy(context, proposerId, lock.attempt)) &&
    lock.contentId === stateId &&
    (lock.proposerId === null || lock.proposerId === proposerId)
  );
}

/** Whether `member` proposed, by the rotation, in some attempt from 0 to `attempt`. */
function hadTurnBy(context: RoundContext, member: string, attempt: number): boolean {
  const order = attemptProposers(context);
  const turn = order.indexOf(member);
  return turn >= 0 && turn <= attempt;
}
