import type { Identity } from '../providers/unique';
import type { RankBook } from './round.types';

export const EMPTY_BOOK: RankBook<never> = Object.freeze({});

/**
 * A book's key: the rank alone for liveness, `rank/attempt` for proposals,
 * votes and confirmations, which are first-wins per attempt.
 */
export type Slot = number | string;

export function slotKey(rank: number, attempt?: number): string {
  return attempt === undefined ? String(rank) : `${rank}/${attempt}`;
}

function parseSlot(key: string): { rank: number; attempt: number } {
  const [rank, attempt] = key.split('/');
  return { rank: Number(rank), attempt: attempt === undefined ? 0 : Number(attempt) };
}

export function entriesAt<T>(book: RankBook<T>, slot: Slot): Readonly<Record<Identity, T>> {
  return book[String(slot)] ?? EMPTY_BOOK;
}

export function countAt<T>(book: RankBook<T>, slot: Slot): number {
  return Object.keys(entriesAt(book, slot)).length;
}

export function lookup<T>(book: RankBook<T>, slot: Slot, sender: Identity): T | undefined {
  const entries = entriesAt(book, slot);
  return Object.prototype.hasOwnProperty.call(entries, sender) ? entries[sender] : undefined;
}

/** First message per (slot, sender) wins: a later one leaves the book as it is. */
export function recordFirst<T>(book: RankBook<T>, slot: Slot, sender: Identity, value: T): RankBook<T> {
  if (lookup(book, slot, sender) !== undefined) return book;
  const key = String(slot);
  return { ...book, [key]: { ...entriesAt(book, slot), [sender]: value } };
}

/**
 * `recordFirst` in place: the book object itself gains the entry (a slot
 * object is created when the slot is empty, never `EMPTY_BOOK`). For the
 * engine's intake, which writes into the books of the round's current context
 * rather than building a new context per message; false when the sender
 * already has an entry there.
 */
export function writeFirst<T>(book: RankBook<T>, slot: Slot, sender: Identity, value: T): boolean {
  if (lookup(book, slot, sender) !== undefined) return false;
  const key = String(slot);
  const slots = book as Record<string, Record<Identity, T>>;
  const entries = slots[key];
  if (entries === undefined || Object.isFrozen(entries)) slots[key] = { ...entries, [sender]: value };
  else entries[sender] = value;
  return true;
}

/** The attempts recorded for one rank, lowest first. */
export function attemptsAt<T>(book: RankBook<T>, rank: number): number[] {
  return Object.keys(book)
    .map(parseSlot)
    .filter((slot) => slot.rank === rank)
    .map((slot) => slot.attempt)
    .sort((a, b) => a - b);
}

/** Keeps only the slots `keep` accepts. */
function pruneWhere<T>(book: RankBook<T>, keep: (rank: number, attempt: number) => boolean): RankBook<T> {
  let changed = false;
  const kept: Record<string, Readonly<Record<Identity, T>>> = {};
  for (const [key, entries] of Object.entries(book)) {
    const { rank, attempt } = parseSlot(key);
    if (keep(rank, attempt)) kept[key] = entries;
    else changed = true;
  }
  return changed ? kept : book;
}

/** Drops every rank at or below `rank`: they are decided and cannot matter again. */
export function pruneThrough<T>(book: RankBook<T>, rank: number): RankBook<T> {
  return pruneWhere(book, (slotRank) => slotRank > rank);
}

/** Drops the attempts of `rank` below `lowest`: too old for any rule to need. */
export function pruneAttemptsBelow<T>(book: RankBook<T>, rank: number, lowest: number): RankBook<T> {
  return pruneWhere(book, (slotRank, attempt) => slotRank !== rank || attempt >= lowest);
}

/** Keeps, in every slot of one rank (or only its `attempt`), only the senders `keep` accepts. */
export function filterAt<T>(
  book: RankBook<T>,
  rank: number,
  keep: (sender: Identity, value: T) => boolean,
  attempt?: number,
): RankBook<T> {
  let result = book;
  for (const [key, entries] of Object.entries(book)) {
    const slot = parseSlot(key);
    if (slot.rank !== rank || (attempt !== undefined && slot.attempt !== attempt)) continue;
    const kept = Object.fromEntries(Object.entries(entries).filter(([sender, value]) => keep(sender, value)));
    if (Object.keys(kept).length !== Object.keys(entries).length) result = { ...result, [key]: kept };
  }
  return result;
}

/** The recorded values in one slot, keyed by sender: what providers are given. */
export function valuesAt<V>(book: RankBook<{ value: V }>, slot: Slot): Record<Identity, V> {
  return Object.fromEntries(Object.entries(entriesAt(book, slot)).map(([sender, entry]) => [sender, entry.value]));
}

/** Total entries over all ranks: what the memory bound is checked against. */
export function sizeOf<T>(book: RankBook<T>): number {
  let total = 0;
  for (const entries of Object.values(book)) total += Object.keys(entries).length;
  return total;
}
