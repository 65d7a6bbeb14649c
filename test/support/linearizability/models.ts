import type { History, Operation } from './history';

/**
 * A sequential specification: what one operation may answer in a state, and
 * the state it leaves. The checker searches for an order of a history's
 * operations that this model accepts one by one.
 */
export interface Model<S, I, O> {
  init(): S;
  /**
   * Whether `input` answered with `output` is legal in `state`, and the state
   * after it. `output` undefined means nothing was observed (an operation that
   * never completed, or one with no answer): apply the input and accept.
   * States are values: never change the one passed in.
   */
  step(state: S, input: I, output: O | undefined): { ok: boolean; state: S };
  /**
   * Independent parts of a history (one per key of a map, say), each checked
   * alone: linearizability is local (Herlihy and Wing), and small parts are
   * exponentially cheaper to search than their union.
   */
  partition?(history: History<I, O>): Partition<I, O>[];
  /**
   * Whether `input` answered with `output` leaves every state it is legal in
   * unchanged: a read, a refused write. The search places such an operation
   * as soon as it is legal and tries nothing else there, which is what keeps
   * histories full of reads cheap. Being wrong makes the checker unsound
   * (a state-dependent "no change", like a write of the value already held,
   * is not read-only), so when unsure, say false, or leave this out.
   */
  readOnly?(input: I, output: O | undefined): boolean;
  /** Equal states, equal keys; the search remembers states by key. JSON by default. */
  key?(state: S): string;
  describe?(input: I, output: O | undefined): string;
  describeState?(state: S): string;
}

export interface Partition<I, O> {
  readonly key: string;
  readonly operations: readonly Operation<I, O>[];
}

/** Splits a history by a key of each operation's input, keys in first-seen order. */
export function partitionBy<I, O>(keyOf: (input: I) => string): (history: History<I, O>) => Partition<I, O>[] {
  return (history) => {
    const parts = new Map<string, Operation<I, O>[]>();
    for (const operation of history) {
      const key = keyOf(operation.input);
      const part = parts.get(key);
      if (part === undefined) parts.set(key, [operation]);
      else part.push(operation);
    }
    return [...parts].map(([key, operations]) => ({ key, operations }));
  };
}

export type Value = string | number | null;

const show = (value: unknown): string => (value === undefined ? '?' : JSON.stringify(value));

// ---------------------------------------------------------------------------
// A register: read, write, compare-and-set.

export type RegisterInput =
  | { readonly op: 'read' }
  | { readonly op: 'write'; readonly value: Value }
  | { readonly op: 'cas'; readonly from: Value; readonly to: Value };
/** A read's value; a cas's whether it swapped; a write's nothing. */
export type RegisterOutput = Value | boolean;

export function registerModel(initial: Value = null): Model<Value, RegisterInput, RegisterOutput> {
  return {
    init: () => initial,
    step(state, input, output) {
      switch (input.op) {
        case 'read':
          return { ok: output === undefined || output === state, state };
        case 'write':
          return { ok: true, state: input.value };
        case 'cas': {
          const swapped = state === input.from;
          return { ok: output === undefined || output === swapped, state: swapped ? input.to : state };
        }
      }
    },
    readOnly: (input, output) => input.op === 'read' || (input.op === 'cas' && output === false),
    describe(input, output) {
      switch (input.op) {
        case 'read':
          return `read → ${show(output)}`;
        case 'write':
          return `write(${show(input.value)})`;
        case 'cas':
          return `cas(${show(input.from)} → ${show(input.to)}) → ${show(output)}`;
      }
    },
    describeState: show,
  };
}

// ---------------------------------------------------------------------------
// A key-value map, checked one key at a time.

export type KvInput =
  | { readonly op: 'get'; readonly key: string }
  | { readonly op: 'put'; readonly key: string; readonly value: Value }
  /** Writes `value` only if the key holds `expected` (null: is absent). */
  | { readonly op: 'putIf'; readonly key: string; readonly expected: Value; readonly value: Value };
/** A get's value (null when absent); a putIf's whether it wrote; a put's nothing. */
export type KvOutput = Value | boolean;
/** A null value is an absent key. */
export type KvState = ReadonlyMap<string, Value>;

export function kvModel(): Model<KvState, KvInput, KvOutput> {
  const read = (state: KvState, key: string): Value => state.get(key) ?? null;
  const written = (state: KvState, key: string, value: Value): KvState => {
    const next = new Map(state);
    if (value === null) next.delete(key);
    else next.set(key, value);
    return next;
  };
  return {
    init: () => new Map(),
    step(state, input, output) {
      const current = read(state, input.key);
      switch (input.op) {
        case 'get':
          return { ok: output === undefined || output === current, state };
        case 'put':
          return { ok: true, state: written(state, input.key, input.value) };
        case 'putIf': {
          const wrote = current === input.expected;
          return { ok: output === undefined || output === wrote, state: wrote ? written(state, input.key, input.value) : state };
        }
      }
    },
    partition: partitionBy((input) => input.key),
    readOnly: (input, output) => input.op === 'get' || (input.op === 'putIf' && output === false),
    key: (state) => JSON.stringify([...state].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    describe(input, output) {
      switch (input.op) {
        case 'get':
          return `get(${show(input.key)}) → ${show(output)}`;
        case 'put':
          return `put(${show(input.key)}, ${show(input.value)})`;
        case 'putIf':
          return `putIf(${show(input.key)}, ${show(input.expected)} → ${show(input.value)}) → ${show(output)}`;
      }
    },
    describeState: (state) => JSON.stringify(Object.fromEntries(state)),
  };
}

// ---------------------------------------------------------------------------
// An append-only log, the commit log's shape: an append is answered with its
// entry's index, a read with the whole log so far.

export type LogInput<E> = { readonly op: 'append'; readonly entry: E } | { readonly op: 'read' };
export type LogOutput<E> = number | readonly E[];

/**
 * A log is a node in a trie of every log the search has built: a log is
 * reached by the same appends in the same order however it is reached, so it
 * is one node, and its key is the node's number however long the log grows.
 */
export interface LogState<E> {
  readonly length: number;
  readonly entry: E | undefined;
  readonly entryKey: string;
  readonly parent: LogState<E> | null;
  readonly id: number;
  readonly children: Map<string, LogState<E>>;
  readonly ids: { next: number };
}

export interface LogModelOptions<E> {
  /** The index of the first entry; 0 unless the log under test numbers from elsewhere. */
  readonly firstIndex?: number;
  /** Equal entries, equal keys. JSON by default. */
  readonly keyOf?: (entry: E) => string;
}

export function logModel<E>(options: LogModelOptions<E> = {}): Model<LogState<E>, LogInput<E>, LogOutput<E>> {
  const firstIndex = options.firstIndex ?? 0;
  const keyOf = options.keyOf ?? ((entry: E) => JSON.stringify(entry));
  const appended = (log: LogState<E>, entry: E): LogState<E> => {
    const entryKey = keyOf(entry);
    const known = log.children.get(entryKey);
    if (known !== undefined) return known;
    const child: LogState<E> = { length: log.length + 1, entry, entryKey, parent: log, id: log.ids.next++, children: new Map(), ids: log.ids };
    log.children.set(entryKey, child);
    return child;
  };
  const holds = (log: LogState<E>, entries: readonly E[]): boolean => {
    if (entries.length !== log.length) return false;
    let node: LogState<E> | null = log;
    for (let at = entries.length - 1; at >= 0 && node !== null; at -= 1, node = node.parent) {
      if (keyOf(entries[at]) !== node.entryKey) return false;
    }
    return true;
  };
  const entries = (log: LogState<E>): E[] => {
    const out: E[] = [];
    for (let node: LogState<E> | null = log; node !== null && node.parent !== null; node = node.parent) out.push(node.entry as E);
    return out.reverse();
  };
  return {
    init: () => ({ length: 0, entry: undefined, entryKey: '', parent: null, id: 0, children: new Map(), ids: { next: 1 } }),
    step(state, input, output) {
      if (input.op === 'append') return { ok: output === undefined || output === firstIndex + state.length, state: appended(state, input.entry) };
      return { ok: output === undefined || (Array.isArray(output) && holds(state, output)), state };
    },
    readOnly: (input) => input.op === 'read',
    key: (state) => String(state.id),
    describe(input, output) {
      return input.op === 'append' ? `append(${show(input.entry)}) → ${show(output)}` : `read → ${show(output)}`;
    },
    describeState: (state) => show(entries(state)),
  };
}

// ---------------------------------------------------------------------------
// A fenced lock (Kleppmann): each grant carries a token greater than every
// earlier one, and a fenced write is accepted only with the current holder's
// token, so a holder that was paused past its turn is refused, not obeyed.

export type LockInput =
  | { readonly op: 'acquire'; readonly lock?: string }
  | { readonly op: 'release'; readonly lock?: string; readonly token: number }
  | { readonly op: 'write'; readonly lock?: string; readonly token: number; readonly value: Value }
  | { readonly op: 'read'; readonly lock?: string };
/**
 * An acquire's token, or null when refused because the lock was held; a
 * release's or write's whether it was accepted; a read's last accepted value.
 */
export type LockOutput = Value | boolean;

export interface LockState {
  /** The holder's token; `unseen` when granted to an acquire whose answer was lost, so no client can name it. */
  readonly holder: number | 'unseen' | null;
  /** Every later grant's token is greater. */
  readonly lastToken: number;
  readonly value: Value;
}

/**
 * Leases and waiting queues are not modelled: a blocking acquire is recorded
 * as one operation from its request to its grant, and an expiry, which no
 * client observes directly, is absent from the model, so a history that
 * relies on one needs the lease's holder to release it (or to have never
 * completed its acquire, which the checker may leave out).
 */
export function lockModel(): Model<LockState, LockInput, LockOutput> {
  return {
    init: () => ({ holder: null, lastToken: 0, value: null }),
    step(state, input, output) {
      switch (input.op) {
        case 'acquire': {
          if (output === undefined) return { ok: true, state: state.holder === null ? { ...state, holder: 'unseen' } : state };
          if (output === null) return { ok: state.holder !== null, state };
          const granted = typeof output === 'number' && state.holder === null && output > state.lastToken;
          return granted ? { ok: true, state: { ...state, holder: output, lastToken: output } } : { ok: false, state };
        }
        case 'release': {
          const released = state.holder === input.token;
          return { ok: output === undefined || output === released, state: released ? { ...state, holder: null } : state };
        }
        case 'write': {
          const accepted = state.holder === input.token;
          return { ok: output === undefined || output === accepted, state: accepted ? { ...state, value: input.value } : state };
        }
        case 'read':
          return { ok: output === undefined || output === state.value, state };
      }
    },
    partition: partitionBy((input) => input.lock ?? ''),
    readOnly: (input, output) => input.op === 'read' || output === null || output === false,
    key: (state) => `${state.holder}|${state.lastToken}|${JSON.stringify(state.value)}`,
    describe(input, output) {
      switch (input.op) {
        case 'acquire':
          return `acquire → ${show(output)}`;
        case 'release':
          return `release(${input.token}) → ${show(output)}`;
        case 'write':
          return `write(${input.token}, ${show(input.value)}) → ${show(output)}`;
        case 'read':
          return `read → ${show(output)}`;
      }
    },
    describeState: (state) => `holder ${state.holder ?? 'none'}, last token ${state.lastToken}, value ${show(state.value)}`,
  };
}
