import {
  DEFAULT_MAX_KEYS,
  KvCommandSchema,
  KvConfigSchema,
  KvQuerySchema,
  KvSnapshotSchema,
  MAX_KEY_LENGTH,
  MAX_KEY_SPACES,
  MAX_LIST_LIMIT,
  MAX_SIBLINGS,
  MAX_VALUE_BYTES,
  MAX_VALUE_DEPTH,
  type ConflictStrategy,
  type DeleteOutcome,
  type KvCommand,
  type KvConfig,
  type KvEntry,
  type KvErrorCode,
  type KvSettings,
  type KvVersion,
  type PutOutcome,
  type Resolution,
} from './kvCommands';
import { appMergeName, registerAppMerges, runAppMerge, type AppMerge } from './kvAppMerge';
import { mergeAccepts, mergeValues, type MergeName } from './kvMerge';
import type { FenceErrorCode } from './lockCommands';
import { jsonBytes, type JsonValue } from './plainJson';
import { describeIssues } from './schemas';
import { ServiceMachine, type Prepared, type Restoring, type ServiceCore } from './serviceMachine';
import { refuse, type Accepted, type AppliedAt, type Answered, type QueryErrorCode, type Refusal, type Validated } from './stateMachine';
import { EMPTY_CLOCK, clockSize, counterOf, covers, incrementClock, mergeClocks, type VectorClock } from './vectorClock';

/**
 * A key-value store whose versions carry vector clocks. A writer passes the
 * clock it read as the write's context; the write's clock is that context
 * with the writer's counter advanced. A stored version the new clock covers
 * was seen by the writer and is replaced; any other is concurrent with the
 * write, whatever order the two reached the log in, and the key's space
 * decides what happens to it:
 *
 * - last-writer-wins: the write committed later (higher index) replaces it;
 *   its clock takes in the replaced clocks, so it covers all it replaced.
 * - merge:<name>: the values are combined by the named merge;
 *   merge:app:<name> by the application's merge registered under it.
 * - reject: the write is refused; the writer must read and write again.
 * - siblings: both are kept, and `get` returns every one, for the
 *   application to resolve with a later write whose context covers them.
 *
 * Because the log orders everything, a write's counter for its writer is at
 * least the index of its entry, past every counter the store has given out,
 * even for versions since deleted: two writes never share a clock, a reader
 * holding the clock of a deleted version cannot cover a later write it never
 * saw, and one writer's writes are ordered as a process's events are.
 */

/** Asks the lock table whether a token is its holder's, at the entry's time. */
export type FenceChecker = (lock: string, token: number) => Refusal<FenceErrorCode> | null;

export type KvValue = PutOutcome | DeleteOutcome | { readonly keySpaces: number } | null;
export type KvResult = Accepted<KvValue>;
export type KvAnswer = Answered<KvEntry | { readonly keys: readonly string[]; readonly more: boolean } | KvSettings>;

type Outcome<V> = { readonly ok: true; readonly value: V; readonly commit: () => void } | Refusal<KvErrorCode>;

/** Versions are handed out by queries and snapshots as they are stored; freezing them keeps readers from changing them. */
function frozen<T extends object>(value: T): T {
  return Object.freeze(value);
}

function mergeAll(clocks: readonly VectorClock[]): { ok: true; clock: VectorClock } | Refusal<KvErrorCode> {
  let clock = EMPTY_CLOCK;
  for (const next of clocks) {
    const merged = mergeClocks(clock, next);
    if (!merged.ok) return merged;
    clock = merged.clock;
  }
  return { ok: true, clock };
}

function settingsOf(config: KvConfig): KvSettings {
  const parsed = KvConfigSchema.safeParse({
    maxKeys: config.maxKeys ?? DEFAULT_MAX_KEYS,
    defaultStrategy: config.defaultStrategy ?? 'last-writer-wins',
    keySpaces: config.keySpaces ?? [],
  });
  // A configuration is the host's own code, not a command: a wrong one is a bug to stop at, not to refuse.
  if (!parsed.success) throw new RangeError(`invalid KV configuration: ${describeIssues(parsed.error)}`);
  return freezeSettings(parsed.data);
}

function freezeSettings(settings: KvSettings): KvSettings {
  return frozen({ ...settings, keySpaces: frozen(settings.keySpaces.map((space) => frozen({ ...space }))) });
}

/**
 * Clocks of one key's versions as writes leave them: none empty, no two
 * where one covers the other (a covered version would have been replaced),
 * and all of them merged small enough to be a context.
 */
function clocksCouldBeWritten(clocks: readonly VectorClock[]): boolean {
  if (clocks.some((clock) => clockSize(clock) === 0)) return false;
  for (let i = 0; i < clocks.length; i += 1) {
    for (let j = 0; j < clocks.length; j += 1) {
      if (i !== j && covers(clocks[i]!, clocks[j]!)) return false;
    }
  }
  return mergeAll(clocks).ok;
}

/** The application merges `settings` names that are not in `merges`. */
function unregisteredMerges(settings: KvSettings, merges: ReadonlyMap<string, AppMerge>): string[] {
  const strategies = [settings.defaultStrategy, ...settings.keySpaces.map((space) => space.strategy)];
  const names = strategies.map(appMergeName).filter((name): name is string => name !== null && !merges.has(name));
  return [...new Set(names)].sort();
}

/** The committed store; what `KvService` and the coordination state run commands against. */
export class KvStore implements ServiceCore<KvCommand, KvResult, KvErrorCode, KvAnswer> {
  readonly format = 'statechart-consensus/kv@1';
  /**
   * A command holds one value and, at most, a clock: room for both at their
   * largest, and for a value up to twice too large, so that it is refused as
   * `value_too_large` rather than as a command too large to read.
   */
  readonly commandLimits = { maxDepth: MAX_VALUE_DEPTH + 1, maxChars: 2 * MAX_VALUE_BYTES + 32_768 };
  readonly snapshotDepth = MAX_VALUE_DEPTH + 5;
  private entries = new Map<string, readonly KvVersion[]>();
  private settings: KvSettings;
  /** The application's merges: the host's code, kept apart from the replicated settings, which only name them. */
  private readonly merges: ReadonlyMap<string, AppMerge>;

  constructor(config: KvConfig = {}) {
    this.merges = registerAppMerges(config.merges);
    this.settings = settingsOf(config);
    const missing = unregisteredMerges(this.settings, this.merges);
    if (missing.length > 0) throw new RangeError(`invalid KV configuration: no merge registered as ${missing.join(', ')}`);
  }

  parse(command: JsonValue): Validated<KvCommand> {
    const parsed = KvCommandSchema.safeParse(command);
    return parsed.success ? { ok: true, command: parsed.data } : refuse('invalid_command', describeIssues(parsed.error));
  }

  prepare(command: KvCommand, at: AppliedAt): Prepared<KvResult, KvErrorCode> {
    return this.prepareFenced(command, at, null);
  }

  /** As `prepare`, with fenced writes checked by `fence` against the lock table at the same entry. */
  prepareFenced(command: KvCommand, at: AppliedAt, fence: FenceChecker | null): Prepared<KvResult, KvErrorCode> {
    const outcome = this.decide(command, at, fence);
    if (!outcome.ok) return outcome;
    return { ok: true, result: { ok: true, value: outcome.value, events: [] }, commit: outcome.commit };
  }

  /** The strategy of the longest key-space prefix the key starts with. */
  strategyFor(key: string): ConflictStrategy {
    let best: { prefix: string; strategy: ConflictStrategy } | null = null;
    for (const space of this.settings.keySpaces) {
      if (key.startsWith(space.prefix) && (best === null || space.prefix.length > best.prefix.length)) best = space;
    }
    return best?.strategy ?? this.settings.defaultStrategy;
  }

  private decide(command: KvCommand, at: AppliedAt, fence: FenceChecker | null): Outcome<KvValue> {
    switch (command.op) {
      case 'put':
        return this.put(command, at, fence);
      case 'delete':
        return this.remove(command, fence);
      case 'setKeySpace':
      case 'clearKeySpace':
        return this.configure(command);
      case 'tick':
        return { ok: true, value: null, commit: () => {} };
    }
  }

  private checkWrite(key: string, fenced: { lock: string; token: number } | undefined, fence: FenceChecker | null): Refusal<KvErrorCode> | null {
    if (key.length > MAX_KEY_LENGTH) return refuse('key_too_long', `a key of ${key.length} characters; at most ${MAX_KEY_LENGTH}`);
    if (fenced === undefined) return null;
    if (fence === null) return refuse('fencing_unavailable', 'this KV store has no lock table to check fences against');
    return fence(fenced.lock, fenced.token);
  }

  private put(command: Extract<KvCommand, { op: 'put' }>, at: AppliedAt, fence: FenceChecker | null): Outcome<PutOutcome> {
    const { key, writer } = command;
    const value = command.value as JsonValue;
    const refused = this.checkWrite(key, command.fence, fence);
    if (refused !== null) return refused;
    const bytes = jsonBytes(value);
    if (bytes > MAX_VALUE_BYTES) return refuse('value_too_large', `a value of ${bytes} bytes of JSON; at most ${MAX_VALUE_BYTES}`);
    const strategy = this.strategyFor(key);
    const app = appMergeName(strategy);
    // Only a restore could leave such a key space, and a restore refuses to; checked so that a write never reaches a missing merge.
    if (app !== null && !this.merges.has(app)) return refuse('unknown_merge', `keys of ${strategy} need a merge registered as ${app}`);
    const merge = app === null && strategy.startsWith('merge:') ? (strategy.slice('merge:'.length) as MergeName) : null;
    if (merge !== null) {
      const accepted = mergeAccepts(merge, value);
      if (!accepted.ok) return refuse('value_not_mergeable', `keys of ${strategy} hold ${accepted.expects}`);
    }
    const existing = this.entries.get(key) ?? [];
    if (existing.length === 0 && this.entries.size >= this.settings.maxKeys) {
      return refuse('too_many_keys', `the store holds ${this.settings.maxKeys} keys already`);
    }
    // Past every counter the store ever gave out, deleted versions' too: those were earlier entries' indexes.
    const past = Math.max(at.index - 1, ...existing.map((version) => counterOf(version.clock, writer)));
    const advanced = incrementClock(command.context ?? EMPTY_CLOCK, writer, past);
    if (!advanced.ok) return advanced;
    const concurrent = existing.filter((version) => !covers(advanced.clock, version.clock));
    const written: KvVersion = frozen({ value, clock: advanced.clock, writer, index: at.index, time: at.time });
    const settled = this.settle(strategy, written, concurrent);
    if (!settled.ok) return settled;
    // Every version's clock merged is the context `get` hands out; it must fit a command.
    const context = mergeAll(settled.versions.map((version) => version.clock));
    if (!context.ok) return context;
    const versions = frozen([...settled.versions]);
    const last = versions[versions.length - 1]!;
    return {
      ok: true,
      value: { key, clock: last.clock, resolution: settled.resolution, siblings: versions.length },
      commit: () => {
        this.entries.set(key, versions);
      },
    };
  }

  /** The versions a key keeps after `written`, given the stored versions it has not seen. */
  private settle(
    strategy: ConflictStrategy,
    written: KvVersion,
    concurrent: readonly KvVersion[],
  ): { ok: true; versions: readonly KvVersion[]; resolution: Resolution } | Refusal<KvErrorCode> {
    if (concurrent.length === 0) return { ok: true, versions: [written], resolution: 'none' };
    if (strategy === 'reject') {
      const unseen = `${concurrent.length} version(s) it has not seen`;
      return refuse('concurrent_write', `the write is concurrent with ${unseen}; read the key and write again`);
    }
    if (strategy === 'siblings') {
      if (concurrent.length + 1 > MAX_SIBLINGS) {
        return refuse('too_many_siblings', `the key would hold ${concurrent.length + 1} versions; at most ${MAX_SIBLINGS}, resolve them first`);
      }
      return { ok: true, versions: [...concurrent, written], resolution: 'siblings' };
    }
    const clock = mergeAll([written.clock, ...concurrent.map((version) => version.clock)]);
    if (!clock.ok) return clock;
    if (strategy === 'last-writer-wins') return { ok: true, versions: [frozen({ ...written, clock: clock.clock })], resolution: 'last-writer-wins' };
    const merged = this.combine(strategy, [written.value, ...concurrent.map((version) => version.value)]);
    if (!merged.ok) return merged;
    const { value } = merged;
    const combined = typeof value === 'object' && value !== null ? frozen(value) : value;
    return { ok: true, versions: [frozen({ ...written, value: combined, clock: clock.clock })], resolution: 'merged' };
  }

  /** The value of a merge strategy's key after concurrent writes, or why the write that needed it is refused. */
  private combine(strategy: ConflictStrategy, values: readonly JsonValue[]): { ok: true; value: JsonValue } | Refusal<KvErrorCode> {
    const app = appMergeName(strategy);
    if (app !== null) {
      // Registered: `put` refused the write otherwise.
      const outcome = runAppMerge(app, this.merges.get(app)!, values, { maxDepth: MAX_VALUE_DEPTH, maxBytes: MAX_VALUE_BYTES });
      if (outcome.ok) return outcome;
      return refuse(outcome.failure === 'too_large' ? 'value_too_large' : 'merge_failed', outcome.message);
    }
    const value = mergeValues(strategy.slice('merge:'.length) as MergeName, values);
    const bytes = jsonBytes(value);
    if (bytes > MAX_VALUE_BYTES) return refuse('value_too_large', `the merged value takes ${bytes} bytes of JSON; at most ${MAX_VALUE_BYTES}`);
    return { ok: true, value };
  }

  /**
   * A delete removes the versions its context has seen. Versions it has not
   * seen stay under the siblings strategy, refuse it under reject, and go
   * with the rest under last-writer-wins and merge, where the later
   * committed delete wins. Without a context a delete is unconditional.
   */
  private remove(command: Extract<KvCommand, { op: 'delete' }>, fence: FenceChecker | null): Outcome<DeleteOutcome> {
    const { key, context } = command;
    const refused = this.checkWrite(key, command.fence, fence);
    if (refused !== null) return refused;
    const existing = this.entries.get(key) ?? [];
    const unseen = context === undefined ? [] : existing.filter((version) => !covers(context, version.clock));
    const strategy = this.strategyFor(key);
    if (unseen.length > 0 && strategy === 'reject') {
      return refuse('concurrent_write', `the delete is concurrent with ${unseen.length} version(s) it has not seen`);
    }
    const remaining = frozen(strategy === 'siblings' ? unseen : []);
    return {
      ok: true,
      value: { key, removed: existing.length - remaining.length, remaining: remaining.length },
      commit: () => {
        if (remaining.length === 0) this.entries.delete(key);
        else this.entries.set(key, remaining);
      },
    };
  }

  private configure(command: Extract<KvCommand, { op: 'setKeySpace' | 'clearKeySpace' }>): Outcome<{ readonly keySpaces: number }> {
    const app = command.op === 'setKeySpace' ? appMergeName(command.strategy) : null;
    if (app !== null && !this.merges.has(app)) {
      return refuse('unknown_merge', `no merge is registered as ${app}; every replica must register the same merges`);
    }
    const others = this.settings.keySpaces.filter((space) => space.prefix !== command.prefix);
    const keySpaces = command.op === 'setKeySpace' ? [...others, { prefix: command.prefix, strategy: command.strategy }] : others;
    if (keySpaces.length > MAX_KEY_SPACES) return refuse('too_many_key_spaces', `at most ${MAX_KEY_SPACES} key spaces`);
    return {
      ok: true,
      value: { keySpaces: keySpaces.length },
      commit: () => {
        this.settings = freezeSettings({ ...this.settings, keySpaces });
      },
    };
  }

  get(key: string): KvEntry {
    const versions = this.entries.get(key) ?? [];
    // Bounded at every write, so the merge always fits.
    const merged = mergeAll(versions.map((version) => version.clock));
    return {
      key,
      found: versions.length > 0,
      values: versions.map((version) => version.value),
      clock: merged.ok ? merged.clock : EMPTY_CLOCK,
      versions,
    };
  }

  answer(query: JsonValue): KvAnswer | Refusal<QueryErrorCode> {
    const parsed = KvQuerySchema.safeParse(query);
    if (!parsed.success) return refuse('invalid_query', describeIssues(parsed.error));
    const request = parsed.data;
    switch (request.op) {
      case 'get':
        return { ok: true, value: this.get(request.key) };
      case 'keys': {
        const prefix = request.prefix ?? '';
        const after = request.after;
        const limit = request.limit ?? MAX_LIST_LIMIT;
        const keys = [...this.entries.keys()].filter((key) => key.startsWith(prefix) && (after === undefined || key > after)).sort();
        return { ok: true, value: { keys: keys.slice(0, limit), more: keys.length > limit } };
      }
      case 'config':
        return { ok: true, value: this.settings };
    }
  }

  snapshotState(): JsonValue {
    const entries = [...this.entries.keys()].sort().map((key) => ({
      key,
      versions: this.entries.get(key)!.map((version) => ({ ...version })),
    }));
    const { maxKeys, defaultStrategy, keySpaces } = this.settings;
    return { config: { maxKeys, defaultStrategy, keySpaces: keySpaces.map((space) => ({ ...space })) }, entries } as unknown as JsonValue;
  }

  /** The snapshot's configuration replaces the constructor's: replicas restored from one snapshot agree. */
  prepareRestore(state: JsonValue): Restoring {
    const parsed = KvSnapshotSchema.safeParse(state);
    if (!parsed.success) return refuse('invalid_snapshot', describeIssues(parsed.error));
    const { config, entries } = parsed.data;
    if (entries.length > config.maxKeys) return refuse('invalid_snapshot', `${entries.length} keys, more than its maxKeys ${config.maxKeys}`);
    // Restoring it would leave key spaces this replica cannot settle, and it would part from replicas that can.
    const missing = unregisteredMerges(config, this.merges);
    if (missing.length > 0) return refuse('unknown_merge', `the snapshot names merges not registered here: ${missing.join(', ')}`);
    const restored = new Map<string, readonly KvVersion[]>();
    for (const { key, versions } of entries) {
      if (restored.has(key)) return refuse('invalid_snapshot', `key ${JSON.stringify(key)} appears twice`);
      for (const version of versions) {
        if (jsonBytes(version.value as JsonValue) > MAX_VALUE_BYTES) {
          return refuse('invalid_snapshot', `a value of key ${JSON.stringify(key)} is larger than ${MAX_VALUE_BYTES} bytes`);
        }
      }
      if (!clocksCouldBeWritten(versions.map((version) => version.clock))) {
        return refuse('invalid_snapshot', `the versions of key ${JSON.stringify(key)} do not have clocks writes could give them`);
      }
      restored.set(key, frozen(versions.map((version) => frozen({ ...version, value: version.value as JsonValue }))));
    }
    return {
      ok: true,
      commit: () => {
        this.entries = restored;
        this.settings = freezeSettings(config);
      },
    };
  }
}

/** The KV store on its own, as a replicated state machine; fenced writes need `CoordinationState`. */
export class KvService extends ServiceMachine<KvCommand, KvResult, KvErrorCode, KvAnswer> {
  constructor(config: KvConfig = {}) {
    super(new KvStore(config));
  }
}
