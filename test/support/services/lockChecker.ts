import type { CommittedEntry } from './committedLog';
import type { LockLogEntry } from './recorder';

/**
 * Whether fenced locks kept what fencing promises, read off the commit log
 * (and, without one, off what clients saw):
 *
 * - `stale_token`, `unissued_token` (a): every accepted fenced write carried
 *   the newest token granted for its lock up to its commit;
 * - `interleaved` (b): accepted writes under one lock never go back to an
 *   older token in commit order, so two holders' writes do not interleave;
 * - `token_not_increasing` (c): each grant's token is above every earlier
 *   grant's for that lock;
 * - `holder_gone`: no fenced write is accepted after its hold was released
 *   or expired, even when no one has been granted the lock since;
 * - `client_mismatch`: what a client was told at an index is what the log
 *   holds there (a node that answers for entries it never applied).
 */

export type LockViolationKind = 'stale_token' | 'unissued_token' | 'interleaved' | 'token_not_increasing' | 'holder_gone' | 'client_mismatch';

export interface LockViolation {
  readonly kind: LockViolationKind;
  readonly lock: string;
  /** The log index of the offending entry. */
  readonly index: number;
  readonly message: string;
}

export interface LockCheckInput {
  /** What clients saw: cross-checked against `committed`, or the only source without it. */
  readonly log?: readonly LockLogEntry[];
  /** The commit log with its results, in the order applied: the authority on grants, ends and accepted writes. */
  readonly committed?: readonly CommittedEntry[];
}

export interface LockStats {
  readonly grants: number;
  readonly ends: number;
  readonly acceptedWrites: number;
  /** Fenced writes refused by the services (stale token, holder gone, …): the fence at work. */
  readonly refusedWrites: number;
}

export interface LockReport {
  readonly ok: boolean;
  /** Without the commit log, only what clients saw was checked, which misses grants and expiries no client heard of. */
  readonly source: 'commit log' | 'client log';
  readonly violations: readonly LockViolation[];
  readonly stats: LockStats;
  /** The violations as text, for a failure message. */
  readonly summary: string;
}

/** A violation kind repeats once per late write; the first few show the pattern. */
const SUMMARY_LINES = 20;

type Fact =
  | { readonly kind: 'grant'; readonly lock: string; readonly token: number; readonly owner: string; readonly index: number }
  | { readonly kind: 'end'; readonly lock: string; readonly token: number; readonly how: string; readonly index: number }
  | { readonly kind: 'write'; readonly lock: string; readonly token: number; readonly key: string; readonly index: number };

export function checkLocks(input: LockCheckInput): LockReport {
  if (input.committed === undefined && input.log === undefined) throw new Error('checkLocks needs a commit log, a client log, or both');
  const fromLog = input.committed === undefined;
  const { facts, refusedWrites } = fromLog ? factsOfClientLog(input.log ?? []) : factsOfCommitted(input.committed ?? []);
  const violations = checkFacts(facts);
  if (!fromLog && input.log !== undefined) violations.push(...crossCheck(input.log, input.committed ?? [], facts));
  violations.sort((a, b) => a.index - b.index);
  const stats: LockStats = {
    grants: facts.filter((fact) => fact.kind === 'grant').length,
    ends: facts.filter((fact) => fact.kind === 'end').length,
    acceptedWrites: facts.filter((fact) => fact.kind === 'write').length,
    refusedWrites,
  };
  const shown = violations
    .slice(0, SUMMARY_LINES)
    .map((violation) => `  [${violation.kind}] lock ${JSON.stringify(violation.lock)} at ${violation.index}: ${violation.message}`);
  const counts = `${stats.grants} grants, ${stats.acceptedWrites} fenced writes accepted, ${stats.refusedWrites} refused`;
  const first = violations.length > shown.length ? `, the first ${shown.length}` : '';
  const summary =
    violations.length === 0
      ? `locks kept fencing (${fromLog ? 'client log' : 'commit log'}): ${counts}`
      : [`${violations.length} lock violation(s)${first}:`, ...shown].join('\n');
  return { ok: violations.length === 0, source: fromLog ? 'client log' : 'commit log', violations, stats, summary };
}

interface Lane {
  newest?: { token: number; index: number; owner: string };
  live: number | null;
  lastEnd?: { token: number; index: number; how: string };
  lastWrite?: { token: number; index: number; key: string };
}

/** Facts in commit order; within an entry, what its time set off (grants, expiries) before its own write. */
function checkFacts(facts: readonly Fact[]): LockViolation[] {
  const lanes = new Map<string, Lane>();
  const violations: LockViolation[] = [];
  const flag = (kind: LockViolationKind, fact: Fact, message: string) => violations.push({ kind, lock: fact.lock, index: fact.index, message });
  for (const fact of facts) {
    let lane = lanes.get(fact.lock);
    if (lane === undefined) lanes.set(fact.lock, (lane = { live: null }));
    switch (fact.kind) {
      case 'grant':
        if (lane.newest !== undefined && fact.token <= lane.newest.token) {
          flag(
            'token_not_increasing',
            fact,
            `token ${fact.token} granted to ${fact.owner}, not above token ${lane.newest.token} ` +
              `granted to ${lane.newest.owner} at ${lane.newest.index}`,
          );
        }
        if (lane.newest === undefined || fact.token > lane.newest.token) lane.newest = { token: fact.token, index: fact.index, owner: fact.owner };
        lane.live = fact.token;
        break;
      case 'end':
        if (lane.live === fact.token) lane.live = null;
        lane.lastEnd = { token: fact.token, index: fact.index, how: fact.how };
        break;
      case 'write': {
        const write = `write of ${JSON.stringify(fact.key)} with token ${fact.token}`;
        if (lane.newest === undefined || fact.token > lane.newest.token) {
          const newest = lane.newest === undefined ? 'none' : `${lane.newest.token} (at ${lane.newest.index})`;
          flag('unissued_token', fact, `${write} accepted; the newest token granted by then is ${newest}`);
        } else if (fact.token < lane.newest.token) {
          flag('stale_token', fact, `${write} accepted after token ${lane.newest.token} was granted to ${lane.newest.owner} at ${lane.newest.index}`);
        } else if (lane.live !== fact.token) {
          const end = lane.lastEnd?.token === fact.token ? ` (${lane.lastEnd.how} at ${lane.lastEnd.index})` : '';
          flag('holder_gone', fact, `${write} accepted after that hold ended${end}`);
        }
        if (lane.lastWrite !== undefined && fact.token < lane.lastWrite.token) {
          flag(
            'interleaved',
            fact,
            `${write} accepted after the write of ${JSON.stringify(lane.lastWrite.key)} ` +
              `with the newer token ${lane.lastWrite.token} at ${lane.lastWrite.index}`,
          );
        }
        if (lane.lastWrite === undefined || fact.token >= lane.lastWrite.token) {
          lane.lastWrite = { token: fact.token, index: fact.index, key: fact.key };
        }
        break;
      }
    }
  }
  return violations;
}

interface Fence {
  readonly lock: string;
  readonly token: number;
}

/** A KV write's key and fence, when the command is a fenced put or delete. */
function fencedWrite(command: unknown): { key: string; fence: Fence; value?: unknown; op: string } | undefined {
  if (typeof command !== 'object' || command === null) return undefined;
  const { service, op, key, fence, value } = command as Record<string, unknown>;
  if (service !== 'kv' || (op !== 'put' && op !== 'delete') || typeof key !== 'string') return undefined;
  if (typeof fence !== 'object' || fence === null) return undefined;
  const { lock, token } = fence as Record<string, unknown>;
  if (typeof lock !== 'string' || typeof token !== 'number') return undefined;
  return { key, fence: { lock, token }, value, op };
}

function isTaken(result: unknown): result is { ok: true; value?: unknown; events?: unknown } {
  return typeof result === 'object' && result !== null && (result as { ok?: unknown }).ok === true;
}

/** The commit log is in the order it was applied: several commands may share a log index, so it is never re-sorted. */
function factsOfCommitted(committed: readonly CommittedEntry[]): { facts: Fact[]; refusedWrites: number } {
  const facts: Fact[] = [];
  let refusedWrites = 0;
  for (const entry of committed) {
    const { index } = entry;
    const write = fencedWrite(entry.command);
    if (!isTaken(entry.result)) {
      if (write !== undefined) refusedWrites += 1;
      continue;
    }
    const events = Array.isArray(entry.result.events) ? (entry.result.events as Array<Record<string, unknown>>) : [];
    for (const event of events) {
      const { type, lock, owner, token } = event;
      if (typeof lock !== 'string' || typeof token !== 'number') continue;
      if (type === 'lock_granted') facts.push({ kind: 'grant', lock, token, owner: String(owner), index });
      else if (type === 'lock_released') facts.push({ kind: 'end', lock, token, how: 'released', index });
      else if (type === 'lock_expired') facts.push({ kind: 'end', lock, token, how: 'expired', index });
    }
    if (write !== undefined) facts.push({ kind: 'write', lock: write.fence.lock, token: write.fence.token, key: write.key, index });
  }
  return { facts, refusedWrites };
}

/**
 * Only what clients heard: grants from acquires and holder polls, releases,
 * accepted writes. Where a client cannot tell, a fact goes where it can hide
 * a violation but not invent one: a poll at index k places the grant it saw
 * at k, no earlier than it happened; facts of one log entry, whose order
 * clients do not see, go in token order (a grant, then its holder's writes,
 * then its end, then the next token's grant).
 */
function factsOfClientLog(log: readonly LockLogEntry[]): { facts: Fact[]; refusedWrites: number } {
  const facts: Fact[] = [];
  let refusedWrites = 0;
  for (const entry of log) {
    if (entry.step === 'write' && entry.outcome === 'refused') refusedWrites += 1;
    if (entry.outcome !== 'ok' || entry.index === undefined) continue;
    const { lock, index, owner } = entry;
    if ((entry.step === 'acquire' && entry.status === 'granted') || (entry.step === 'holder' && entry.status === 'held')) {
      if (entry.token !== undefined) facts.push({ kind: 'grant', lock, token: entry.token, owner, index });
    } else if (entry.step === 'release' && entry.status === 'released' && entry.token !== undefined) {
      facts.push({ kind: 'end', lock, token: entry.token, how: 'released', index });
    } else if (entry.step === 'write' && entry.token !== undefined) {
      facts.push({ kind: 'write', lock, token: entry.token, key: entry.key ?? '?', index });
    }
  }
  const order = { grant: 0, write: 1, end: 2 } as const;
  facts.sort((a, b) => a.index - b.index || a.token - b.token || order[a.kind] - order[b.kind]);
  // One grant seen by its acquire and again by polls is one grant, placed where it was first seen.
  const seen = new Set<string>();
  const unique = facts.filter((fact) => {
    if (fact.kind !== 'grant') return true;
    const id = `${fact.lock}\u0000${fact.token}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
  return { facts: unique, refusedWrites };
}

/** Every client answer that names an index must be what the commit log holds at that index. */
function crossCheck(log: readonly LockLogEntry[], committed: readonly CommittedEntry[], facts: readonly Fact[]): LockViolation[] {
  const byIndex = new Map<number, CommittedEntry[]>();
  for (const entry of committed) {
    const shared = byIndex.get(entry.index);
    if (shared === undefined) byIndex.set(entry.index, [entry]);
    else shared.push(entry);
  }
  const violations: LockViolation[] = [];
  for (const seen of log) {
    if (seen.index === undefined || (seen.outcome !== 'ok' && seen.outcome !== 'refused')) continue;
    const problem = seen.step === 'holder' ? holderProblem(seen, facts) : commandProblem(seen, byIndex.get(seen.index) ?? []);
    if (problem !== null) {
      const message = `${seen.client} (${seen.owner}) ${seen.step}: ${problem}`;
      violations.push({ kind: 'client_mismatch', lock: seen.lock, index: seen.index, message });
    }
  }
  return violations;
}

/** Whether a committed command is the request a client made: owners are one per lock cycle and values unique, so at most one is. */
function isRequest(seen: LockLogEntry, command: unknown): boolean {
  const fields = (command ?? {}) as Record<string, unknown>;
  switch (seen.step) {
    case 'write': {
      const write = fencedWrite(command);
      return (
        write !== undefined &&
        write.key === seen.key &&
        write.value === seen.value &&
        write.fence.lock === seen.lock &&
        write.fence.token === seen.token
      );
    }
    case 'release':
      return fields.op === 'release' && fields.lock === seen.lock && fields.owner === seen.owner && fields.token === seen.token;
    default:
      return fields.service === 'locks' && fields.op === seen.step && fields.lock === seen.lock && fields.owner === seen.owner;
  }
}

function commandProblem(seen: LockLogEntry, atIndex: readonly CommittedEntry[]): string | null {
  if (atIndex.length === 0) return 'answered from an index the commit log does not hold';
  const entry = atIndex.find((candidate) => isRequest(seen, candidate.command));
  if (entry === undefined) {
    return `the log holds no such command there, only ${atIndex.map((candidate) => JSON.stringify(candidate.command)).join(', ')}`;
  }
  const taken = isTaken(entry.result);
  if (taken !== (seen.outcome === 'ok')) return `told ${seen.outcome}, the log's result is ${JSON.stringify(entry.result)}`;
  if (seen.step === 'acquire' && taken) {
    const value = (entry.result as { value?: { status?: unknown; token?: unknown } }).value;
    if (value?.status !== seen.status || (seen.status === 'granted' && value?.token !== seen.token)) {
      return `told ${[seen.status, seen.token].filter((part) => part !== undefined).join(' ')}, the log's result is ${JSON.stringify(value)}`;
    }
  }
  return null;
}

/**
 * A poll that saw its owner hold token t at index k: the log granted t to it
 * at or before k, and had not ended it before k (an end in entry k itself
 * may come after the read in that entry).
 */
function holderProblem(seen: LockLogEntry, facts: readonly Fact[]): string | null {
  if (seen.status !== 'held' || seen.token === undefined) return null;
  const at = seen.index ?? 0;
  const ofHold = (fact: Fact): boolean => fact.lock === seen.lock && fact.token === seen.token;
  const granted = facts.some((fact) => fact.kind === 'grant' && ofHold(fact) && fact.owner === seen.owner && fact.index <= at);
  if (!granted) return `saw token ${seen.token} held at ${at}, which the log never granted to this owner by then`;
  const ended = facts.find((fact) => fact.kind === 'end' && ofHold(fact) && fact.index < at);
  return ended === undefined ? null : `saw token ${seen.token} held at ${at}, but the log ended that hold at ${ended.index}`;
}
