/**
 * The first rank a membership change committed at `committedAt` decides.
 *
 * A node whose active rank is a admits peers' messages for ranks up to
 * a + rankWindow, and weighs each against the membership of its rank, so it
 * must know the membership of every rank it admits. Taking effect at
 * committedAt + rankWindow + 1 means a rank the change decides is admitted
 * only once the active rank is past committedAt: the node has committed (and
 * read) the change before any message it governs can reach its books. Any
 * earlier and a node that had not committed it yet would count that rank's
 * quorums, check its signatures and make its certificates with the old
 * membership while others used the new one.
 *
 * Every member must therefore run with the same `rankWindow`.
 */
export function effectiveRank(committedAt: number, rankWindow: number): number {
  return committedAt + rankWindow + 1;
}
