import type { RoundContext } from '../machines/round.types';

/** A node votes once per rank: the chosen proposer is reset only by a new round. */
export function hasVoted(context: RoundContext): boolean {
  return context.chosenProposer !== null;
}
