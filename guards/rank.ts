import type { Unique } from '../providers/unique';
import type { RoundContext } from '../machines/round.types';

/**
 * A value's rank as a safe integer. Ranks travel in the context, which must
 * stay serialisable for the inspector, so bigint ranks beyond 2^53 - 1 are
 * refused rather than silently rounded.
 */
export function rankOf(value: Unique): number {
  const raw = value.rank();
  const rank = typeof raw === 'bigint' ? Number(raw) : raw;
  if (!Number.isSafeInteger(rank) || rank < 0 || (typeof raw === 'bigint' && BigInt(rank) !== raw)) {
    throw new RangeError(`rank must be a non-negative safe integer, got ${String(raw)}`);
  }
  return rank;
}

/** The rank the current round decides. */
export function nextRank(context: RoundContext): number {
  return context.activeRank + 1;
}

/** Past ranks are decided; ranks too far ahead would let a peer grow our memory. */
export function isRankInWindow(context: RoundContext, rank: number): boolean {
  return rank > context.activeRank && rank <= context.activeRank + context.rankWindow;
}

export function concernsNextRank(context: RoundContext, rank: number): boolean {
  return rank === nextRank(context);
}
