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

/**
 * Fault hooks for tests and the simulator. A hook may throw (the operation
 * fails) or return a promise (the operation waits for it: a slow disk).
 */
export interface StorageHooks {
  beforeLoad?: () => void | Promise<void>;
  beforeSave?: (state: HardState | RoundSafetyRecord) => void | Promise<void>;
}

const HARD_STATE_KEY = 'election/hard-state';
const ROUND_SAFETY_KEY = 'round/safety';

/**
 * Keeps records as JSON strings, like a disk would, so nobody can mutate a
 * stored state through a shared reference. Lives outside any actor: the
 * simulator models crash + restart by stopping an actor and creating a new one
 * over the same storage object.
 */
export class InMemorySafetyStorage implements SafetyStorage {
  /** Replace or clear at any time to inject faults. */
  hooks: StorageHooks;

  private readonly records = new Map<string, string>();
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

  private write(key: string, record: HardState | RoundSafetyRecord, encoded: string): Promise<void> {
    // Chained so saves land in call order even when a hook delays one of them.
    const write = this.tail.then(async () => {
      await this.hooks.beforeSave?.(record);
      this.records.set(key, encoded);
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
