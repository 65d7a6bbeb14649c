import { findQuorum, confirmationGroups, lockProofGroup, pastPolkaGroups, voteGroups } from '../../guards/roundChange';
import type { QuorumFinding, RoundContext } from '../round.types';

// The quorum questions a state asks of its books, weighed once per context.

/**
 * The groups of matching messages a state weighs, by name: what a node that
 * has not voted yet watches (confirmations, and votes of attempts it left),
 * what it weighs once it voted (the current attempt's votes too), and what
 * verifying weighs (confirmations only).
 */
export const TALLIES = {
  unvoted: (context: RoundContext) => [...confirmationGroups(context), ...pastPolkaGroups(context)],
  voted: (context: RoundContext) => [...confirmationGroups(context), ...voteGroups(context), ...pastPolkaGroups(context)],
  confirmations: (context: RoundContext) => confirmationGroups(context),
  proof: (context: RoundContext) => lockProofGroup(context),
} as const;
export type TallyName = keyof typeof TALLIES;

// Guards of one state read the same tally several times within one step, on
// one context object: weigh it once.
const tallied = new WeakMap<RoundContext, Map<TallyName, QuorumFinding | null>>();
/** The first group of `among` whose senders weigh a quorum, if any (SPEC §2.10). */
export function tally(context: RoundContext, among: TallyName): QuorumFinding | null {
  let memo = tallied.get(context);
  if (memo === undefined) tallied.set(context, (memo = new Map()));
  if (!memo.has(among)) memo.set(among, findQuorum(context, TALLIES[among](context)));
  return memo.get(among) ?? null;
}

/** The books of `context` changed in place (the engine's intake): what was weighed no longer holds. */
export function forgetTallies(context: RoundContext): void {
  tallied.delete(context);
}
