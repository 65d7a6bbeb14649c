import type { Identity } from '../providers/unique';
import type { RankBook } from './round.types';

export const EMPTY_BOOK: RankBook<never> = Object.freeze({});

export function rankKey(rank: number): string {
  return String(rank);
}

export function entriesAt<T>(book: RankBook<T>, rank: number): Readonly<Record<Identity, T>> {
  return book[rankKey(rank)] ?? EMPTY_BOOK;
}

export function countAt<T>(book: RankBook<T>, rank: number): number {
  return Object.keys(entriesAt(book, rank)).length;
}

export function lookup<T>(book: RankBook<T>, rank: number, sender: Identity): T | undefined {
  const entries = entriesAt(book, rank);
  return Object.prototype.hasOwnProperty.call(entries, sender) ? entries[sender] : undefined;
}

/** First message per (rank, sender) wins: a later one leaves the book as it is. */
export function recordFirst<T>(book: RankBook<T>, rank: number, sender: Identity, value: T): RankBook<T> {
  if (lookup(book, rank, sender) !== undefined) return book;
  const key = rankKey(rank);
  return { ...book, [key]: { ...entriesAt(book, rank), [sender]: value } };
}

/** Drops every rank at or below `rank`: they are decided and cannot matter again. */
export function pruneThrough<T>(book: RankBook<T>, rank: number): RankBook<T> {
  let changed = false;
  const kept: Record<string, Readonly<Record<Identity, T>>> = {};
  for (const [key, entries] of Object.entries(book)) {
    if (Number(key) > rank) kept[key] = entries;
    else changed = true;
  }
  return changed ? kept : book;
}

/** Keeps, at one rank, only the senders `keep` accepts. */
export function filterAt<T>(
  book: RankBook<T>,
  rank: number,
  keep: (sender: Identity, value: T) => boolean,
): RankBook<T> {
  const entries = entriesAt(book, rank);
  const kept = Object.fromEntries(Object.entries(entries).filter(([sender, value]) => keep(sender, value)));
  if (Object.keys(kept).length === Object.keys(entries).length) return book;
  return { ...book, [rankKey(rank)]: kept };
}

/** The recorded values at one rank, keyed by sender: what providers are given. */
export function valuesAt<V>(book: RankBook<{ value: V }>, rank: number): Record<Identity, V> {
  return Object.fromEntries(Object.entries(entriesAt(book, rank)).map(([sender, entry]) => [sender, entry.value]));
}

/** Total entries over all ranks: what the memory bound is checked against. */
export function sizeOf<T>(book: RankBook<T>): number {
  let total = 0;
  for (const entries of Object.values(book)) total += Object.keys(entries).length;
  return total;
}
