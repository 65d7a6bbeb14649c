import { positionByIndex } from '../engine/byIndex';
import type { CommitCertificate } from '../engine/signing/certificate';
import type { RoundSafetyRecord } from '../machines/round.types';

export type { RoundSafetyRecord };

/**
 * The election's safety data: Raft's "persistent state on all servers"
 * (§5, figure 2). A node must not answer a vote request or ask for votes until
 * the state it acts on is durable, or a crash and restart could let it vote
 * twice in one term.
 */
export interface HardState {
  readonly term: number;
  readonly votedFor: string | null;
}

/**
 * Durable storage for election safety data. Every method is async so an
 * on-disk implementation (fsync, a database, a replicated KV) fits behind it.
 *
 * Contract an implementation must keep:
 * - `saveHardState` resolves only once the state would survive a crash.
 * - Saves take effect in call order: a later save is never overwritten by an
 *   earlier one that finished late. (The machine can have a save in flight
 *   when a newer one starts, e.g. a candidate stepping down mid-persist.)
 * - `loadHardState` returns the last state whose save resolved, or a later one;
 *   `null` for a node that never saved anything.
 *
 * More safety data (e.g. the round machine's lock and last vote) gets its own
 * record and its own load/save pair next to these, so the records can evolve
 * independently and an election save never clobbers them.
 */
export interface ElectionStorage {
  loadHardState(): Promise<HardState | null>;
  saveHardState(state: HardState): Promise<void>;
}

/**
 * The round's safety data (SPEC §2.8): the lock and the last attempt voted
 * and confirmed in, for the rank being decided. The same contract as the
 * hard state: a save resolves once durable, saves land in call order, a load
 * returns the last save that resolved.
 */
export interface RoundSafetyStorage {
  loadRoundSafety(): Promise<RoundSafetyRecord | null>;
  saveRoundSafety(record: RoundSafetyRecord): Promise<void>;
}

/** Everything a node must not forget across a crash: one object can keep both records. */
export type SafetyStorage = ElectionStorage & RoundSafetyStorage;

/** A commit log entry as storage keeps it: the value as plain data (the state codec's), the proposer by identity. */
export interface StoredLogEntry {
  index: number;
  rank: number;
  attempt: number;
  term: number | null;
  valueDigest: string;
  proposer: string | null;
  certificate: CommitCertificate | null;
  payload: unknown;
}

/**
 * The app's state after the entry at `index` (`data`: the JSON text its state
 * machine's `snapshot()` gave), with that entry's committed value (plain
 * data, as in a `StoredLogEntry`) and certificate: a restart restores it and
 * applies the log after it.
 */
export interface StoredSnapshot {
  index: number;
  valueDigest: string;
  certificate: CommitCertificate | null;
  value: unknown;
  data: string;
  /** The engine's memberships at `index` (`MembershipRecord`), for an engine whose membership changes through the log. */
  membership?: unknown;
}

/**
 * The engine's commit log, kept across restarts. An engine built over a
 * storage that has one resumes where its log ends: the last entry's value is
 * its active state if it is past the configured initial state.
 *
 * Contract: `readLog` is synchronous, so the store is opened (and its log
 * read) before the engine is built, and gives the entries in index order;
 * `appendLogEntry` takes an entry for an index not held (past the tail, or
 * filling a place below it that a sync skipped), resolves once it is
 * durable, and appends land in call order; `compactLog(below)` may forget
 * the entries below `below`, and only those.
 */
export interface LogStorage {
  readLog(): readonly StoredLogEntry[];
  appendLogEntry(entry: StoredLogEntry): Promise<void>;
  compactLog(below: number): Promise<void>;
  /** The newest snapshot saved, or null; synchronous like `readLog`. */
  readSnapshot(): StoredSnapshot | null;
  /** Resolves once durable; a snapshot older than the one kept changes nothing. */
  saveSnapshot(snapshot: StoredSnapshot): Promise<void>;
}

/** All a node keeps: term and vote, the round's lock and attempts, and the commit log. */
export type NodeStorage = SafetyStorage & LogStorage;

/** Whether `storage` keeps a commit log too. */
export function keepsLog(storage: object | undefined): storage is LogStorage {
  const candidate = storage as Partial<LogStorage> | undefined;
  return (
    typeof candidate?.readLog === 'function' &&
    typeof candidate.appendLogEntry === 'function' &&
    typeof candidate.compactLog === 'function' &&
    typeof candidate.readSnapshot === 'function' &&
    typeof candidate.saveSnapshot === 'function'
  );
}

/**
 * Fault hooks for tests and the simulator. A hook may throw (the operation
 * fails) or return a promise (the operation waits for it: a slow disk).
 */
export interface StorageHooks {
  beforeLoad?: () => void | Promise<void>;
  beforeSave?: (state: HardState | RoundSafetyRecord | StoredLogEntry) => void | Promise<void>;
}

const HARD_STATE_KEY = 'election/hard-state';
const ROUND_SAFETY_KEY = 'round/safety';

/**
 * Keeps records as JSON strings, like a disk would, so nobody can mutate a
 * stored state through a shared reference. Lives outside any actor: the
 * simulator models crash + restart by stopping an actor and creating a new one
 * over the same storage object.
 */
export class InMemorySafetyStorage implements NodeStorage {
  /** Replace or clear at any time to inject faults. */
  hooks: StorageHooks;

  private readonly records = new Map<string, string>();
  /** The commit log in index order, each entry as JSON. */
  private log: Array<{ index: number; encoded: string }> = [];
  private snapshot: string | null = null;
  private tail: Promise<void> = Promise.resolve();
  private completedSaves = 0;

  constructor(initial?: HardState | null, hooks: StorageHooks = {}) {
    this.hooks = hooks;
    if (initial) this.records.set(HARD_STATE_KEY, JSON.stringify(initial));
  }

  async loadHardState(): Promise<HardState | null> {
    await this.hooks.beforeLoad?.();
    return this.peekHardState();
  }

  saveHardState(state: HardState): Promise<void> {
    // Serialised now, so a caller mutating its object later changes nothing.
    return this.write(HARD_STATE_KEY, state, JSON.stringify({ term: state.term, votedFor: state.votedFor }));
  }

  async loadRoundSafety(): Promise<RoundSafetyRecord | null> {
    await this.hooks.beforeLoad?.();
    return this.peekRoundSafety();
  }

  saveRoundSafety(record: RoundSafetyRecord): Promise<void> {
    const { rank, votedAttempt, confirmedAttempt, lock, valid, proposal } = record;
    return this.write(ROUND_SAFETY_KEY, record, JSON.stringify({ rank, votedAttempt, confirmedAttempt, lock, valid, proposal }));
  }

  peekRoundSafety(): RoundSafetyRecord | null {
    const encoded = this.records.get(ROUND_SAFETY_KEY);
    return encoded === undefined ? null : (JSON.parse(encoded) as RoundSafetyRecord);
  }

  readLog(): StoredLogEntry[] {
    return this.log.map(({ encoded }) => JSON.parse(encoded) as StoredLogEntry);
  }

  appendLogEntry(entry: StoredLogEntry): Promise<void> {
    const encoded = JSON.stringify(entry);
    return this.chain(entry, () => {
      const at = positionByIndex(this.log, entry.index);
      if (this.log[at]?.index === entry.index) throw new RangeError(`log entry ${entry.index} is already stored`);
      this.log.splice(at, 0, { index: entry.index, encoded });
    });
  }

  readSnapshot(): StoredSnapshot | null {
    return this.snapshot === null ? null : (JSON.parse(this.snapshot) as StoredSnapshot);
  }

  saveSnapshot(snapshot: StoredSnapshot): Promise<void> {
    const encoded = JSON.stringify(snapshot);
    return this.chain(null, () => {
      if (this.snapshot === null || (JSON.parse(this.snapshot) as StoredSnapshot).index < snapshot.index) this.snapshot = encoded;
    });
  }

  compactLog(below: number): Promise<void> {
    return this.chain(null, () => {
      this.log = this.log.filter(({ index }) => index >= below);
    });
  }

  private write(key: string, record: HardState | RoundSafetyRecord, encoded: string): Promise<void> {
    return this.chain(record, () => this.records.set(key, encoded));
  }

  private chain(record: HardState | RoundSafetyRecord | StoredLogEntry | null, apply: () => void): Promise<void> {
    // Chained so saves land in call order even when a hook delays one of them.
    const write = this.tail.then(async () => {
      if (record !== null) await this.hooks.beforeSave?.(record);
      apply();
      this.completedSaves += 1;
    });
    this.tail = write.catch(() => undefined);
    return write;
  }

  /** What a load would return right now (synchronous, for tests). */
  peekHardState(): HardState | null {
    const encoded = this.records.get(HARD_STATE_KEY);
    return encoded === undefined ? null : (JSON.parse(encoded) as HardState);
  }

  /** How many saves have become durable. */
  get saveCount(): number {
    return this.completedSaves;
  }
}

/** The name the election's tests and the simulator first knew it by. */
export const InMemoryElectionStorage = InMemorySafetyStorage;
export type InMemoryElectionStorage = InMemorySafetyStorage;
