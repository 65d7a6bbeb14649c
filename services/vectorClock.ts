import { z } from 'zod';
import { CounterSchema, NameSchema } from './schemas';
import { refuse, type Refusal } from './stateMachine';

/**
 * Vector clocks (Fidge, Mattern 1988): one counter per member, a missing
 * member counting 0. `a` happened before `b` when every counter of `a` is at
 * most `b`'s and one is smaller; when neither covers the other they are
 * concurrent. The KV store keys its conflict detection on these comparisons,
 * never on the order in which writes reached the log.
 *
 * A clock is plain JSON (`{ "writer-a": 3, "writer-b": 1 }`) so that it can
 * travel in commands and snapshots. Every clock this module returns is frozen
 * and has its members inserted in sorted order, so equal clocks serialize to
 * the same text on every replica.
 */

export type VectorClock = { readonly [member: string]: number };

/**
 * A clock grows by one entry per member that ever wrote to what it tracks;
 * 64 bounds a clock's size in every KV version and context (about 9 KiB at
 * the longest member names) and is far above the members a coordination key
 * is expected to see.
 */
export const MAX_CLOCK_ENTRIES = 64;

export type ClockErrorCode =
  /** The result would track more than `MAX_CLOCK_ENTRIES` members. */
  | 'clock_too_large'
  /** A counter is at the largest safe integer and cannot advance. */
  | 'counter_exhausted';

export type ClockResult = { readonly ok: true; readonly clock: VectorClock } | Refusal<ClockErrorCode>;

export type ClockOrder = 'before' | 'after' | 'equal' | 'concurrent';

/** Counters start at 1: a zero entry would be a second spelling of an absent one. */
export const VectorClockSchema = z
  .record(NameSchema, CounterSchema)
  .refine((clock) => Object.keys(clock).length <= MAX_CLOCK_ENTRIES, `at most ${MAX_CLOCK_ENTRIES} members`)
  .transform((clock) => canonical(Object.entries(clock)));

export const EMPTY_CLOCK: VectorClock = Object.freeze({});

function canonical(entries: Iterable<readonly [string, number]>): VectorClock {
  const sorted = [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const clock: Record<string, number> = {};
  for (const [member, counter] of sorted) {
    Object.defineProperty(clock, member, { value: counter, enumerable: true, writable: false, configurable: false });
  }
  return Object.freeze(clock);
}

/** A member's counter, 0 when the clock does not name it (own keys only: `constructor` is a valid member). */
export function counterOf(clock: VectorClock, member: string): number {
  return Object.hasOwn(clock, member) ? clock[member]! : 0;
}

export function clockSize(clock: VectorClock): number {
  return Object.keys(clock).length;
}

/** Whether `a` has seen everything `b` has: every counter of `b` is at most `a`'s. */
export function covers(a: VectorClock, b: VectorClock): boolean {
  for (const member of Object.keys(b)) {
    if (counterOf(a, member) < b[member]!) return false;
  }
  return true;
}

export function compareClocks(a: VectorClock, b: VectorClock): ClockOrder {
  const aCoversB = covers(a, b);
  const bCoversA = covers(b, a);
  if (aCoversB && bCoversA) return 'equal';
  if (aCoversB) return 'after';
  if (bCoversA) return 'before';
  return 'concurrent';
}

function bounded(entries: Map<string, number>): ClockResult {
  if (entries.size > MAX_CLOCK_ENTRIES) {
    return refuse('clock_too_large', `the clock would track ${entries.size} members, more than ${MAX_CLOCK_ENTRIES}`);
  }
  return { ok: true, clock: canonical(entries) };
}

/** The least clock that covers both: the counter-wise maximum. */
export function mergeClocks(a: VectorClock, b: VectorClock): ClockResult {
  const entries = new Map<string, number>(Object.entries(a));
  for (const member of Object.keys(b)) {
    entries.set(member, Math.max(entries.get(member) ?? 0, b[member]!));
  }
  return bounded(entries);
}

/**
 * Advances `member`'s counter past both its own value and `past`: a member
 * whose earlier writes the clock has not seen still gets a counter nobody
 * used, so two writes never share one.
 */
export function incrementClock(clock: VectorClock, member: string, past = 0): ClockResult {
  const current = Math.max(counterOf(clock, member), past);
  if (current >= Number.MAX_SAFE_INTEGER) {
    return refuse('counter_exhausted', `the counter of ${JSON.stringify(member)} cannot advance past ${current}`);
  }
  const entries = new Map<string, number>(Object.entries(clock));
  entries.set(member, current + 1);
  return bounded(entries);
}
