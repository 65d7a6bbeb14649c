import type { JsonValue } from './plainJson';
import {
  DEFAULT_LEASE_MS,
  LockCommandSchema,
  LockQuerySchema,
  LockSnapshotSchema,
  MAX_HOLDS,
  MAX_LOCKS,
  MAX_WAITERS,
  type AcquireOutcome,
  type FenceErrorCode,
  type LockCommand,
  type LockErrorCode,
  type LockEvent,
  type LockHolder,
  type LockView,
  type LockWaiter,
  type ReleaseOutcome,
  type RenewOutcome,
} from './lockCommands';
import { describeIssues } from './schemas';
import { ServiceMachine, type Prepared, type Restoring, type ServiceCore } from './serviceMachine';
import { refuse, type Accepted, type AppliedAt, type Answered, type QueryErrorCode, type Refusal, type Validated } from './stateMachine';

/**
 * Fenced locks (Kleppmann, "How to do distributed locking", 2016) as a
 * replicated state machine. A hold is a lease measured in committed time;
 * every grant carries a fencing token from one table-wide counter, so tokens
 * only grow, per lock and overall, and are never issued twice, across
 * releases, expiries and snapshots. A store that accepts a write only with
 * the current holder's token turns a paused or partitioned former holder
 * into a refused write instead of a lost update.
 */

interface LockRecord {
  readonly holder: LockHolder;
  readonly waiters: readonly LockWaiter[];
}

export type LockValue = AcquireOutcome | ReleaseOutcome | RenewOutcome | { readonly status: 'cancelled' } | null;
export type LockResult = Accepted<LockValue, LockEvent>;
export type LockAnswer =
  | Answered<LockView | { readonly locks: readonly LockView[] } | { readonly lock: string; readonly token: number }>
  | Refusal<FenceErrorCode>;

type Outcome<V> = { readonly ok: true; readonly value: V } | Refusal<LockErrorCode>;

function taken<V>(value: V): Outcome<V> {
  return { ok: true, value };
}

/** Whether `token` is the current holder's: the one check every fenced write goes through. */
export function fenceCheck(locks: ReadonlyMap<string, LockRecord>, lock: string, token: number): Refusal<FenceErrorCode> | null {
  const holder = locks.get(lock)?.holder;
  const name = JSON.stringify(lock);
  if (holder === undefined) return refuse('fence_holder_gone', `lock ${name} has no holder: token ${token} was released or has expired`);
  if (token < holder.token) {
    return refuse('stale_fence_token', `token ${token} is older than the token ${holder.token} of lock ${name}'s holder`);
  }
  if (token > holder.token) return refuse('unknown_fence_token', `token ${token} was never issued to lock ${name}'s holder`);
  return null;
}

/**
 * The lock table as one command leaves it, built on a copy of the committed
 * table: first every lease the entry's time has ended, then the command.
 * Records are replaced, never changed, so the committed table is untouched
 * until the draft is committed.
 */
export class LockDraft {
  readonly events: LockEvent[] = [];
  private readonly locks: Map<string, LockRecord>;

  constructor(
    base: ReadonlyMap<string, LockRecord>,
    private lastTokenIssued: number,
    readonly time: number,
  ) {
    this.locks = new Map(base);
    this.expireLeases();
  }

  get lastToken(): number {
    return this.lastTokenIssued;
  }

  get table(): ReadonlyMap<string, LockRecord> {
    return this.locks;
  }

  checkFence(lock: string, token: number): Refusal<FenceErrorCode> | null {
    return fenceCheck(this.locks, lock, token);
  }

  run(command: LockCommand): Outcome<LockValue> {
    switch (command.op) {
      case 'acquire':
        return this.acquire(command.lock, command.owner, command.leaseMs ?? DEFAULT_LEASE_MS);
      case 'release':
        return this.release(command.lock, command.owner, command.token);
      case 'renew':
        return this.renew(command.lock, command.owner, command.token, command.leaseMs);
      case 'cancel':
        return this.cancel(command.lock, command.owner);
      case 'tick':
        return taken(null);
    }
  }

  /**
   * A lease of L ms granted at t holds for committed times in [t, t + L).
   * Locks are expired in name order, so the tokens handed to their waiters
   * do not depend on the order the table was built in.
   */
  private expireLeases(): void {
    const due = [...this.locks].filter(([, record]) => record.holder.expiresAt <= this.time).map(([lock]) => lock);
    for (const lock of due.sort()) {
      const { holder, waiters } = this.locks.get(lock)!;
      this.events.push({ type: 'lock_expired', lock, owner: holder.owner, token: holder.token });
      this.handOver(lock, waiters);
    }
  }

  /** The next waiter gets the lock now, its lease starting at this entry's time; with none, the lock is forgotten. */
  private handOver(lock: string, waiters: readonly LockWaiter[]): void {
    const [next, ...rest] = waiters;
    if (next === undefined) this.locks.delete(lock);
    else this.grant(lock, next.owner, next.leaseMs, rest);
  }

  /** Records are frozen: views and snapshots hand them out as they are. */
  private put(lock: string, holder: LockHolder, waiters: readonly LockWaiter[]): void {
    this.locks.set(lock, Object.freeze({ holder, waiters: Object.freeze([...waiters]) }));
  }

  private grant(lock: string, owner: string, leaseMs: number, waiters: readonly LockWaiter[]): LockHolder {
    this.lastTokenIssued += 1;
    const holder: LockHolder = Object.freeze({
      owner,
      token: this.lastTokenIssued,
      count: 1,
      leaseMs,
      grantedAt: this.time,
      expiresAt: this.time + leaseMs,
    });
    this.put(lock, holder, waiters);
    this.events.push({ type: 'lock_granted', lock, owner, token: holder.token, expiresAt: holder.expiresAt });
    return holder;
  }

  private acquire(lock: string, owner: string, leaseMs: number): Outcome<AcquireOutcome> {
    const record = this.locks.get(lock);
    if (record === undefined) {
      if (this.locks.size >= MAX_LOCKS) return refuse('too_many_locks', `${MAX_LOCKS} locks are held already`);
      const holder = this.grant(lock, owner, leaseMs, []);
      return taken({ status: 'granted', token: holder.token, count: 1, expiresAt: holder.expiresAt });
    }
    const { holder, waiters } = record;
    if (holder.owner === owner) {
      if (holder.count >= MAX_HOLDS) return refuse('too_many_holds', `${owner} holds ${JSON.stringify(lock)} ${MAX_HOLDS} times already`);
      // Re-entry never shortens the lease an earlier hold asked for.
      const expiresAt = Math.max(holder.expiresAt, this.time + leaseMs);
      const again: LockHolder = Object.freeze({ ...holder, count: holder.count + 1, leaseMs, expiresAt });
      this.put(lock, again, waiters);
      return taken({ status: 'granted', token: again.token, count: again.count, expiresAt });
    }
    const queued = waiters.findIndex((waiter) => waiter.owner === owner);
    if (queued >= 0) return taken({ status: 'queued', position: queued + 1 });
    if (waiters.length >= MAX_WAITERS) {
      return refuse('queue_full', `${MAX_WAITERS} owners wait for ${JSON.stringify(lock)} already`);
    }
    this.put(lock, holder, [...waiters, Object.freeze({ owner, leaseMs, queuedAt: this.time })]);
    return taken({ status: 'queued', position: waiters.length + 1 });
  }

  private heldBy(lock: string, owner: string, token: number): { ok: true; record: LockRecord } | Refusal<LockErrorCode> {
    const record = this.locks.get(lock);
    if (record === undefined || record.holder.owner !== owner) {
      return refuse('not_holder', `${JSON.stringify(owner)} does not hold ${JSON.stringify(lock)}`);
    }
    if (record.holder.token !== token) {
      return refuse('token_mismatch', `${JSON.stringify(owner)} holds ${JSON.stringify(lock)} with token ${record.holder.token}, not ${token}`);
    }
    return { ok: true, record };
  }

  private release(lock: string, owner: string, token: number): Outcome<ReleaseOutcome> {
    const held = this.heldBy(lock, owner, token);
    if (!held.ok) return held;
    const { holder, waiters } = held.record;
    if (holder.count > 1) {
      this.put(lock, Object.freeze({ ...holder, count: holder.count - 1 }), waiters);
      return taken({ status: 'held', count: holder.count - 1 });
    }
    this.events.push({ type: 'lock_released', lock, owner, token });
    this.handOver(lock, waiters);
    return taken({ status: 'released' });
  }

  private renew(lock: string, owner: string, token: number, leaseMs: number | undefined): Outcome<RenewOutcome> {
    const held = this.heldBy(lock, owner, token);
    if (!held.ok) return held;
    const { holder, waiters } = held.record;
    const lease = leaseMs ?? holder.leaseMs;
    const renewed: LockHolder = Object.freeze({ ...holder, leaseMs: lease, expiresAt: this.time + lease });
    this.put(lock, renewed, waiters);
    return taken({ token, expiresAt: renewed.expiresAt });
  }

  private cancel(lock: string, owner: string): Outcome<{ readonly status: 'cancelled' }> {
    const record = this.locks.get(lock);
    const waiters = record?.waiters.filter((waiter) => waiter.owner !== owner);
    if (record === undefined || waiters === undefined || waiters.length === record.waiters.length) {
      return refuse('not_waiting', `${JSON.stringify(owner)} is not waiting for ${JSON.stringify(lock)}`);
    }
    this.put(lock, record.holder, waiters);
    return taken({ status: 'cancelled' });
  }
}

function viewOf(lock: string, record: LockRecord | undefined): LockView {
  return { lock, holder: record?.holder ?? null, waiters: record?.waiters ?? [] };
}

/** The committed lock table; what `LockService` and the coordination state run commands against. */
export class LockTable implements ServiceCore<LockCommand, LockResult, LockErrorCode, LockAnswer> {
  readonly format = 'statechart-consensus/locks@1';
  readonly commandLimits = { maxDepth: 1, maxChars: 1_024 };
  readonly snapshotDepth = 5;
  private locks: ReadonlyMap<string, LockRecord> = new Map();
  private lastToken = 0;

  parse(command: JsonValue): Validated<LockCommand> {
    const parsed = LockCommandSchema.safeParse(command);
    return parsed.success ? { ok: true, command: parsed.data } : refuse('invalid_command', describeIssues(parsed.error));
  }

  /** The table as it stands at `time`, leases that ended before it expired; commit it with `commit`. */
  draft(time: number): LockDraft {
    return new LockDraft(this.locks, this.lastToken, time);
  }

  commit(draft: LockDraft): void {
    this.locks = draft.table;
    this.lastToken = draft.lastToken;
  }

  prepare(command: LockCommand, at: AppliedAt): Prepared<LockResult, LockErrorCode> {
    const draft = this.draft(at.time);
    const outcome = draft.run(command);
    if (!outcome.ok) return outcome;
    return { ok: true, result: { ok: true, value: outcome.value, events: draft.events }, commit: () => this.commit(draft) };
  }

  /** Whether `token` is the current holder's, as of the last applied command. */
  checkFence(lock: string, token: number): Refusal<FenceErrorCode> | null {
    return fenceCheck(this.locks, lock, token);
  }

  view(lock: string): LockView {
    return viewOf(lock, this.locks.get(lock));
  }

  answer(query: JsonValue): LockAnswer | Refusal<QueryErrorCode> {
    const parsed = LockQuerySchema.safeParse(query);
    if (!parsed.success) return refuse('invalid_query', describeIssues(parsed.error));
    const request = parsed.data;
    switch (request.op) {
      case 'get':
        return { ok: true, value: this.view(request.lock) };
      case 'list':
        return { ok: true, value: { locks: [...this.locks.keys()].sort().map((lock) => this.view(lock)) } };
      case 'checkFence':
        return this.checkFence(request.lock, request.token) ?? { ok: true, value: { lock: request.lock, token: request.token } };
    }
  }

  snapshotState(): JsonValue {
    const locks = [...this.locks.keys()].sort().map((lock) => {
      const { holder, waiters } = this.locks.get(lock)!;
      return { lock, holder: { ...holder }, waiters: waiters.map((waiter) => ({ ...waiter })) };
    });
    return { lastToken: this.lastToken, locks };
  }

  prepareRestore(state: JsonValue): Restoring {
    const parsed = LockSnapshotSchema.safeParse(state);
    if (!parsed.success) return refuse('invalid_snapshot', describeIssues(parsed.error));
    const { lastToken, locks } = parsed.data;
    const table = new Map<string, LockRecord>();
    const tokens = new Set<number>();
    for (const { lock, holder, waiters } of locks) {
      const problem =
        table.has(lock) ? 'appears twice'
        : holder.token > lastToken ? `holds token ${holder.token}, past the last issued ${lastToken}`
        : tokens.has(holder.token) ? `shares token ${holder.token} with another lock`
        : holder.expiresAt <= holder.grantedAt ? 'expires before it was granted'
        : new Set([holder.owner, ...waiters.map((waiter) => waiter.owner)]).size !== waiters.length + 1 ? 'lists an owner twice'
        : null;
      if (problem !== null) return refuse('invalid_snapshot', `lock ${JSON.stringify(lock)} ${problem}`);
      tokens.add(holder.token);
      table.set(lock, Object.freeze({ holder: Object.freeze(holder), waiters: Object.freeze(waiters.map((waiter) => Object.freeze(waiter))) }));
    }
    return {
      ok: true,
      commit: () => {
        this.locks = table;
        this.lastToken = lastToken;
      },
    };
  }
}

/** The lock table on its own, as a replicated state machine. */
export class LockService extends ServiceMachine<LockCommand, LockResult, LockErrorCode, LockAnswer> {
  constructor() {
    super(new LockTable());
  }
}
