import type { VectorClock } from '../../../services';
import type { QueryOutcome, SubmitOutcome, Unanswered } from '../../../services/port';
import { HistoryRecorder, type Operation } from '../linearizability/history';
import type { KvInput, KvOutput } from '../linearizability/models';

/**
 * What clients of the coordination services saw, in the two forms the
 * checkers read: a KV history for the linearizability checker and a lock log
 * for the lock checker. Each request is opened when it is sent and closed
 * with its outcome; closing reads the outcome once, here, and hands the
 * client what it needs to go on, so a workload and the records it leaves
 * cannot read one answer two ways.
 *
 * Outcomes map onto the checker's operations as the port defines them: a
 * committed refusal and an `aborted` request changed nothing and leave the
 * history; an `expired` command may still commit, so it stays, indeterminate.
 * A read that did not answer is dropped: it has no effect to place.
 */

export type LockStep = 'acquire' | 'holder' | 'write' | 'release' | 'cancel';

/** How a request ended, as its client knows it. */
export type LockStepOutcome = 'ok' | 'refused' | 'aborted' | 'expired';

/** One lock request of one client. */
export interface LockLogEntry {
  readonly client: string;
  /** The owner name the request was made under: one per lock cycle. */
  readonly owner: string;
  readonly lock: string;
  readonly step: LockStep;
  /**
   * `write`, `release`: the token presented. `acquire`: the token granted,
   * when it was. `holder`: the holder's token when the owner was seen holding.
   */
  readonly token?: number;
  /** `write`: what was written where. */
  readonly key?: string;
  readonly value?: string;
  readonly outcome: LockStepOutcome;
  /**
   * With `ok`: `acquire` granted | queued; `holder` held | not held;
   * `release` released | held; `write` accepted; `cancel` cancelled.
   */
  readonly status?: string;
  /** A refusal's code or an abort's reason. */
  readonly code?: string;
  /** The log index the outcome came from, when there was one. */
  readonly index?: number;
  readonly call: number;
  readonly return?: number;
}

export type BarrierStep = 'create' | 'join' | 'leave' | 'arrive' | 'read';

/** One barrier request of one client, as it ended. */
export interface BarrierLogEntry {
  readonly client: string;
  readonly step: BarrierStep;
  readonly barrier: string;
  /** `join`, `leave`, `arrive`: the participant named. */
  readonly participant?: string;
  readonly outcome: LockStepOutcome;
  /** With `ok` on a join, leave or arrive: waiting | released, for `generation`; on a create, open | closed. */
  readonly status?: string;
  readonly generation?: number;
  /** With `ok` on a read: the barrier as the answer showed it. */
  readonly view?: { readonly generation: number; readonly open: boolean; readonly last: BarrierSeenEnding | null };
  readonly code?: string;
  readonly index?: number;
  readonly call: number;
  readonly return?: number;
}

export interface BarrierSeenEnding {
  readonly generation: number;
  readonly outcome: string;
  readonly reason: string;
}

/** What a client learns from a barrier request: its generation's status, or the barrier's view. */
export type BarrierSeen =
  | { readonly kind: 'ok'; readonly status: string; readonly generation: number }
  | { readonly kind: 'view'; readonly generation: number; readonly open: boolean; readonly last: BarrierSeenEnding | null }
  | { readonly kind: 'refused'; readonly code: string }
  | { readonly kind: 'unknown' };

/**
 * A request on a key whose strategy may keep or combine versions, which the
 * register model cannot follow: checked against the log's replay instead.
 */
export interface ReplayedKvEntry {
  readonly client: string;
  readonly op: 'put' | 'get';
  readonly key: string;
  /** `put`: the value written. */
  readonly value?: unknown;
  readonly outcome: LockStepOutcome;
  /** `get`: the values answered, in the order the store keeps them. */
  readonly values?: readonly unknown[];
  readonly code?: string;
  readonly index?: number;
}

/** What a client learns from a write: whether it took effect, and the clock to write on from. */
export type WriteSeen =
  | { readonly kind: 'accepted'; readonly clock?: VectorClock }
  | { readonly kind: 'refused'; readonly code: string }
  | { readonly kind: 'unknown' };

export type ReadSeen = { readonly kind: 'value'; readonly value: string | null; readonly clock?: VectorClock } | { readonly kind: 'unknown' };

export type AcquireSeen =
  | { readonly kind: 'granted'; readonly token: number }
  | { readonly kind: 'queued' }
  | { readonly kind: 'refused'; readonly code: string }
  | { readonly kind: 'unknown' };

/** A holder poll: the owner's token when it holds the lock, `not held` when someone else or nobody does. */
export type HolderSeen = { readonly kind: 'held'; readonly token: number } | { readonly kind: 'not held' } | { readonly kind: 'unknown' };

export type DoneSeen =
  | { readonly kind: 'ok'; readonly status: string }
  | { readonly kind: 'refused'; readonly code: string }
  | { readonly kind: 'unknown' };

interface Refusal {
  readonly ok: false;
  readonly error: { readonly code: string; readonly message: string };
}

function isRefusal(result: unknown): result is Refusal {
  return typeof result === 'object' && result !== null && (result as { ok?: unknown }).ok === false;
}

/** The value of a taken command or an answered query (`{ ok: true, value }`), or undefined. */
function valueOf(result: unknown): Record<string, unknown> | undefined {
  if (typeof result !== 'object' || result === null || (result as { ok?: unknown }).ok !== true) return undefined;
  const value = (result as { value?: unknown }).value;
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

/**
 * A get's observed value. Blind writes of one value each under
 * last-writer-wins leave one version; anything else is recorded as what it
 * is, so the model refuses it rather than the recorder hiding it.
 */
function observedValue(entry: Record<string, unknown>): string | null {
  const values = entry.values;
  if (!Array.isArray(values) || values.length === 0) return null;
  if (values.length === 1 && typeof values[0] === 'string') return values[0];
  return `unexpected ${JSON.stringify(values)}`;
}

type KvOperation = Operation<KvInput, KvOutput>;

export class ServiceRecorder {
  private readonly kv: HistoryRecorder<KvInput, KvOutput>;
  private readonly locks: LockLogEntry[] = [];
  private readonly barriers: BarrierLogEntry[] = [];
  private readonly replayedKv: ReplayedKvEntry[] = [];

  constructor(private readonly now: () => number) {
    this.kv = new HistoryRecorder<KvInput, KvOutput>(now);
  }

  /** A put, fenced or not; a fenced one goes into the lock log too. */
  put(client: string, key: string, value: string, fenced?: { owner: string; lock: string; token: number }): (outcome: SubmitOutcome) => WriteSeen {
    const open = this.kv.invoke(client, { op: 'put', key, value });
    const call = this.now();
    return (outcome) => {
      const seen = readWrite(outcome);
      if (seen.kind === 'accepted') open.ok(undefined, this.now());
      else if (seen.kind === 'refused') open.fail();
      else open.info();
      if (fenced !== undefined) {
        const { owner, lock, token } = fenced;
        this.lockEntry({ client, owner, lock, step: 'write', token, key, value, call }, outcome, seen.kind === 'accepted' ? 'accepted' : undefined);
      }
      return seen;
    };
  }

  /** A linearizable get; stale reads are not recorded, they promise no order to check. */
  get(client: string, key: string): (outcome: QueryOutcome) => ReadSeen {
    const open = this.kv.invoke(client, { op: 'get', key });
    return (outcome) => {
      const entry = outcome.outcome === 'answered' ? valueOf(outcome.answer) : undefined;
      if (entry === undefined) {
        open.fail();
        return { kind: 'unknown' };
      }
      const value = observedValue(entry);
      open.ok(value, this.now());
      return { kind: 'value', value, clock: entry.clock as VectorClock | undefined };
    };
  }

  acquire(client: string, owner: string, lock: string): (outcome: SubmitOutcome) => AcquireSeen {
    const call = this.now();
    return (outcome) => {
      const seen = readAcquire(outcome);
      const token = seen.kind === 'granted' ? seen.token : undefined;
      const status = seen.kind === 'granted' || seen.kind === 'queued' ? seen.kind : undefined;
      this.lockEntry({ client, owner, lock, step: 'acquire', token, call }, outcome, status);
      return seen;
    };
  }

  /** A linearizable read of the lock, to learn whether a queued owner has been granted it. */
  holder(client: string, owner: string, lock: string): (outcome: QueryOutcome) => HolderSeen {
    const call = this.now();
    return (outcome) => {
      const view = outcome.outcome === 'answered' ? valueOf(outcome.answer) : undefined;
      let seen: HolderSeen = { kind: 'unknown' };
      if (view !== undefined) {
        const holder = view.holder as { owner?: unknown; token?: unknown } | null | undefined;
        seen = holder?.owner === owner && typeof holder.token === 'number' ? { kind: 'held', token: holder.token } : { kind: 'not held' };
      }
      const base = { client, owner, lock, step: 'holder' as const, token: seen.kind === 'held' ? seen.token : undefined, call };
      if (outcome.outcome !== 'answered') this.push(unanswered(base, outcome, this.now()));
      else {
        const answered = { ...base, index: outcome.index, return: this.now() };
        if (isRefusal(outcome.answer)) this.push({ ...answered, outcome: 'refused', code: outcome.answer.error.code });
        else this.push({ ...answered, outcome: 'ok', status: seen.kind });
      }
      return seen;
    };
  }

  release(client: string, owner: string, lock: string, token: number): (outcome: SubmitOutcome) => DoneSeen {
    return this.lockCommand({ client, owner, lock, step: 'release', token, call: this.now() });
  }

  cancel(client: string, owner: string, lock: string): (outcome: SubmitOutcome) => DoneSeen {
    return this.lockCommand({ client, owner, lock, step: 'cancel', call: this.now() });
  }

  /** A put left to the replay comparison; answers as `put` does. */
  replayedPut(client: string, key: string, value: unknown): (outcome: SubmitOutcome) => WriteSeen {
    return (outcome) => {
      const seen = readWrite(outcome);
      const index = outcome.outcome === 'committed' ? outcome.index : undefined;
      const code = seen.kind === 'refused' ? seen.code : undefined;
      this.replayedKv.push(dropUndefined({ client, op: 'put', key, value, outcome: stepOutcome(outcome), code, index }));
      return seen;
    };
  }

  /** A linearizable get left to the replay comparison; its value is not read here, only its clock, for a later context. */
  replayedGet(client: string, key: string): (outcome: QueryOutcome) => ReadSeen {
    return (outcome) => {
      const entry = outcome.outcome === 'answered' ? valueOf(outcome.answer) : undefined;
      const index = outcome.outcome === 'answered' ? outcome.index : undefined;
      const values = Array.isArray(entry?.values) ? (entry.values as unknown[]) : undefined;
      const code = outcome.outcome === 'answered' && isRefusal(outcome.answer) ? outcome.answer.error.code : undefined;
      this.replayedKv.push(dropUndefined({ client, op: 'get', key, outcome: stepOutcome(outcome, code), values, code, index }));
      return entry === undefined ? { kind: 'unknown' } : { kind: 'value', value: null, clock: entry.clock as VectorClock | undefined };
    };
  }

  /** A barrier command: create, join, leave or arrive. */
  barrierCommand(client: string, step: Exclude<BarrierStep, 'read'>, barrier: string, participant?: string): (outcome: SubmitOutcome) => BarrierSeen {
    const call = this.now();
    return (outcome) => {
      const base = { client, step, barrier, participant, call };
      if (outcome.outcome !== 'committed') {
        this.barriers.push(dropUndefined(unanswered(base, outcome, this.now())));
        return { kind: 'unknown' };
      }
      const answered = { ...base, index: outcome.index, return: this.now() };
      if (isRefusal(outcome.result)) {
        const code = outcome.result.error.code;
        this.barriers.push(dropUndefined({ ...answered, outcome: 'refused', code }));
        return { kind: 'refused', code };
      }
      const value = valueOf(outcome.result) ?? {};
      const generation = typeof value.generation === 'number' ? value.generation : -1;
      const status = step === 'create' ? (value.open === true ? 'open' : 'closed') : String(value.status);
      this.barriers.push(dropUndefined({ ...answered, outcome: 'ok', status, generation }));
      return { kind: 'ok', status, generation };
    };
  }

  /** A read of a barrier, to learn how the generation arrived for ended. */
  barrierRead(client: string, barrier: string): (outcome: QueryOutcome) => BarrierSeen {
    const call = this.now();
    return (outcome) => {
      const base = { client, step: 'read' as const, barrier, call };
      if (outcome.outcome !== 'answered') {
        this.barriers.push(dropUndefined(unanswered(base, outcome, this.now())));
        return { kind: 'unknown' };
      }
      const answered = { ...base, index: outcome.index, return: this.now() };
      if (isRefusal(outcome.answer)) {
        const code = outcome.answer.error.code;
        this.barriers.push(dropUndefined({ ...answered, outcome: 'refused', code }));
        return { kind: 'refused', code };
      }
      const value = valueOf(outcome.answer) ?? {};
      const last = value.last as BarrierSeenEnding | null | undefined;
      const view = {
        generation: Number(value.generation),
        open: value.open === true,
        last: last == null ? null : { generation: last.generation, outcome: last.outcome, reason: last.reason },
      };
      this.barriers.push(dropUndefined({ ...answered, outcome: 'ok', view }));
      return { kind: 'view', ...view };
    };
  }

  /** Barrier requests in the order they returned (or gave up). */
  barrierLog(): readonly BarrierLogEntry[] {
    return this.barriers;
  }

  /** Requests on keys checked by replay, in the order they returned. */
  replayedKvLog(): readonly ReplayedKvEntry[] {
    return this.replayedKv;
  }

  /** The KV operations so far, in call order; those still open are indeterminate. */
  kvHistory(): KvOperation[] {
    return this.kv.history();
  }

  /** Lock requests in the order they returned (or gave up). */
  lockLog(): readonly LockLogEntry[] {
    return this.locks;
  }

  private lockCommand(base: Omit<LockLogEntry, 'outcome'>): (outcome: SubmitOutcome) => DoneSeen {
    return (outcome) => {
      const status = outcome.outcome === 'committed' ? valueOf(outcome.result)?.status : undefined;
      this.lockEntry(base, outcome, typeof status === 'string' ? status : undefined);
      if (outcome.outcome !== 'committed') return { kind: 'unknown' };
      if (isRefusal(outcome.result)) return { kind: 'refused', code: outcome.result.error.code };
      return { kind: 'ok', status: typeof status === 'string' ? status : 'ok' };
    };
  }

  private lockEntry(base: Omit<LockLogEntry, 'outcome'>, outcome: SubmitOutcome, status: string | undefined): void {
    if (outcome.outcome !== 'committed') {
      this.push(unanswered(base, outcome, this.now()));
      return;
    }
    const refused = isRefusal(outcome.result) ? outcome.result.error.code : undefined;
    this.push({
      ...base,
      outcome: refused === undefined ? 'ok' : 'refused',
      status: refused === undefined ? status : undefined,
      code: refused,
      index: outcome.index,
      return: this.now(),
    });
  }

  /** Fields left undefined are dropped, so that entries compare and print as they read. */
  private push(entry: LockLogEntry): void {
    this.locks.push(Object.fromEntries(Object.entries(entry).filter(([, value]) => value !== undefined)) as unknown as LockLogEntry);
  }
}

function dropUndefined<T extends object>(entry: T): T {
  return Object.fromEntries(Object.entries(entry).filter(([, value]) => value !== undefined)) as T;
}

function stepOutcome(outcome: SubmitOutcome | QueryOutcome, refusedCode?: string): LockStepOutcome {
  if (outcome.outcome === 'aborted') return 'aborted';
  if (outcome.outcome === 'expired') return 'expired';
  if (refusedCode !== undefined) return 'refused';
  return outcome.outcome === 'committed' && isRefusal(outcome.result) ? 'refused' : 'ok';
}

function unanswered<B extends object>(base: B, outcome: Unanswered, now: number): B & { outcome: 'aborted' | 'expired'; code?: string; return?: number } {
  // An expired request's client never hears back: it has no return time, as in the KV history.
  return outcome.outcome === 'aborted' ? { ...base, outcome: 'aborted', code: outcome.reason, return: now } : { ...base, outcome: 'expired' };
}

/** An aborted request is refused before consensus; an expired one may yet commit. */
function unknownOrAborted(outcome: Unanswered): { readonly kind: 'refused'; readonly code: string } | { readonly kind: 'unknown' } {
  return outcome.outcome === 'aborted' ? { kind: 'refused', code: `aborted: ${outcome.reason}` } : { kind: 'unknown' };
}

function readWrite(outcome: SubmitOutcome): WriteSeen {
  if (outcome.outcome !== 'committed') return unknownOrAborted(outcome);
  if (isRefusal(outcome.result)) return { kind: 'refused', code: outcome.result.error.code };
  return { kind: 'accepted', clock: valueOf(outcome.result)?.clock as VectorClock | undefined };
}

function readAcquire(outcome: SubmitOutcome): AcquireSeen {
  if (outcome.outcome !== 'committed') return unknownOrAborted(outcome);
  if (isRefusal(outcome.result)) return { kind: 'refused', code: outcome.result.error.code };
  const value = valueOf(outcome.result);
  if (value?.status === 'granted' && typeof value.token === 'number') return { kind: 'granted', token: value.token };
  if (value?.status === 'queued') return { kind: 'queued' };
  return { kind: 'refused', code: `unexpected acquire result ${JSON.stringify(outcome.result)}` };
}
