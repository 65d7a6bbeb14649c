import type { Identity } from '../../providers/unique';
import { weightOf, type Membership } from '../../guards/quorum';

/**
 * Running weights of the groups of matching messages in one slot of a book
 * (one rank and attempt): how much weight each endorsed value (or nil) has
 * so far. Kept beside the slot object they count, so the intake weighs a
 * message's group in O(1) instead of rereading the slot, which is O(n) per
 * message and O(n²) per node and round.
 *
 * Only the intake writes into a slot object in place, and it adds to the
 * weights as it does; every other change to the books builds new slot
 * objects, whose weights are counted afresh the first time they are asked for.
 */
export interface SlotWeights {
  readonly byGroup: Map<string, number>;
}

const kept = new WeakMap<object, SlotWeights>();

/**
 * The weight of `group` in `entries` now that `sender`'s entry has just been
 * written into it, and the weights updated for it. `groupOf` says which group
 * an entry belongs to; it must be the same function for one book.
 */
export function weighAfterWrite<T>(
  membership: Membership,
  entries: Readonly<Record<Identity, T>>,
  sender: Identity,
  groupOf: (entry: T) => string,
): number {
  const group = groupOf(entries[sender]);
  let weights = kept.get(entries);
  if (weights === undefined) {
    weights = { byGroup: new Map() };
    for (const [member, entry] of Object.entries(entries)) add(weights, groupOf(entry), weightOf(membership, member));
    kept.set(entries, weights);
  } else {
    add(weights, group, weightOf(membership, sender));
  }
  return weights.byGroup.get(group) ?? 0;
}

/** The groups counted in `entries` so far (none before its first weighing). */
export function groupsOf(entries: object): Iterable<string> {
  return kept.get(entries)?.byGroup.keys() ?? [];
}

function add(weights: SlotWeights, group: string, weight: number): void {
  weights.byGroup.set(group, (weights.byGroup.get(group) ?? 0) + weight);
}
