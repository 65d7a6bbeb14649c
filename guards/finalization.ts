import type { Unique } from '../providers/unique';
import type { RoundContext } from '../machines/round.types';
import { lookup } from '../machines/rankBook';
import { nextRank, rankOf } from './rank';
import { isKnownProver, proversKnown } from './provers';

/**
 * Validity (SPEC §6): a finalized state must be for the rank being decided and
 * come from a prover of that round whose proposal this node recorded.
 */
export function isValidFinalization(context: RoundContext, state: Unique, proposer: Unique): boolean {
  const rank = nextRank(context);
  let stateRank: number;
  try {
    stateRank = rankOf(state);
  } catch {
    return false;
  }
  const proposerId = proposer.identity();
  return (
    stateRank === rank &&
    proversKnown(context) &&
    isKnownProver(context, proposerId) &&
    lookup(context.proposals, rank, proposerId) !== undefined
  );
}
