import type { Identity } from '../providers/unique';
import type { RoundContext } from '../machines/round.types';
import { entriesAt, lookup, slotKey } from '../machines/rankBook';

/**
 * Linear messaging's aggregator (README "Linear messaging"): the votes and
 * confirmations for a value at one attempt of a rank go to the prover whose
 * proposal of that attempt carries the value. Every honest node that holds
 * the proposal names the same member: a proposal is first-wins per prover
 * and attempt, and a proposer that sends two is refused as an equivocator.
 * The prover of the value a node votes for has shown it is alive (it
 * proposed); in attempt 0, where several provers may propose, each gathers
 * the votes for its own proposal. Two provers proposing one value: the
 * first identity in order. Null when the proposal is not held: then
 * everyone is sent the message.
 */
export function aggregatorOf(context: RoundContext, rank: number, attempt: number, valueId: Identity): Identity | null {
  let chosen: Identity | null = null;
  for (const [prover, proposal] of Object.entries(entriesAt(context.proposals, slotKey(rank, attempt)))) {
    if (proposal.contentId === valueId && (chosen === null || prover < chosen)) chosen = prover;
  }
  return chosen;
}

/**
 * Whether this node assembles the proof for `valueId` at (rank, attempt): it
 * proposed that value there. Checked on its own proposal alone, so a
 * second prover of the same value also aggregates: a proof sent twice is
 * only a duplicate.
 */
export function aggregatesFor(context: RoundContext, rank: number, attempt: number, valueId: Identity): boolean {
  return lookup(context.proposals, slotKey(rank, attempt), context.selfId)?.contentId === valueId;
}
