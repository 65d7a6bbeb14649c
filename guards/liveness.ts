import type { RoundContext } from '../machines/round.types';
import { countAt } from '../machines/rankBook';
import { lacksProvers } from './provers';
import { nextRank } from './rank';

/**
 * Enough provers announced themselves alive for the next rank to start
 * proving. Liveness only counts once the provers are known: before that it may
 * come from anyone, and a round that proves without a prover list could never
 * finalize (validity needs the provers).
 */
export function hasLivenessQuorum(context: RoundContext): boolean {
  return !lacksProvers(context) && countAt(context.liveness, nextRank(context)) >= context.thresholds.liveness;
}
