import type { RoundContext } from '../machines/round.types';
import { countAt } from '../machines/rankBook';
import { nextRank } from './rank';

/** Enough provers announced themselves alive for the next rank to start proving. */
export function hasLivenessQuorum(context: RoundContext): boolean {
  return countAt(context.liveness, nextRank(context)) >= context.thresholds.liveness;
}
