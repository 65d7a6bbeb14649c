import type { RoundContext } from '../machines/round.types';
import { countAt } from '../machines/rankBook';
import { nextRank } from './rank';

/** Enough proposals for the next rank to decide a vote (and to accept a quorum). */
export function hasEnoughProposals(context: RoundContext): boolean {
  return countAt(context.proposals, nextRank(context)) >= context.thresholds.proposals;
}
