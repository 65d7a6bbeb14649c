/**
 * Where `index` is, or would be inserted, among `items` kept in ascending
 * index order: a binary search, and one comparison for the usual case of an
 * index past the last. Shared by the commit log and the stores that keep it.
 */
export function positionByIndex(items: ReadonlyArray<{ readonly index: number }>, index: number): number {
  const last = items[items.length - 1];
  if (last === undefined || index > last.index) return items.length;
  let low = 0;
  let high = items.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (items[mid].index < index) low = mid + 1;
    else high = mid;
  }
  return low;
}
