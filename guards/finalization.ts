import type { Unique } from '../providers/unique';
import type { RoundContext } from '../machines/round.types';
import { nextRank, rankOf } from './rank';
import { isKnownProver, proversKnown } from './provers';
import { proposerOfAttempt } from './roundChange';

/**
 * Validity (SPEC §6): a finalized state must be for the rank being decided,
 * come from a prover of that round (or the member proposing in the attempt
 * it was locked in), and be the very value this node locked on: the provider
 * aggregates, it does not get to pick another value.
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
    (isKnownProver(context, proposerId) || proposerOfAttempt(context, lock.attempt) === proposerId) &&
    lock.contentId === stateId &&
    (lock.proposerId === null || lock.proposerId === proposerId)
  );
}
