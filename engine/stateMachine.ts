import type { ValueCodec } from '../providers/codec';
import type { LogStorage, StoredSnapshot } from '../providers/storage';
import type { TraceLogger } from '../providers/trace';
import type { Unique } from '../providers/unique';
import type { CommitLog, LogEntry } from './commitLog';
import { describeError } from './door';
import { StoredLogError } from './errors';
import type { CommitCertificate } from './signing/certificate';
import { storedValueOf } from './storedLog';
import type { MembershipRecord } from './membership/history';

/**
 * The app's state, rebuilt from the commit log: the engine applies every
 * committed value to it once, in index order, restarts included. It must be
 * deterministic (no wall clock, no randomness: time and inputs come from the
 * committed value), or nodes that applied the same log would disagree.
 */
export interface ReplicatedStateMachine<StateT> {
  /**
   * Applies the value committed at `index`. It may answer the payloads the
   * value carries, as (payload name, result) pairs: a proposer's `propose`
   * then resolves with its payload's result.
   */
  apply(value: StateT, index: number): void | AppliedResults;
  /** The state after the last value applied, as plain data (what JSON can carry). */
  snapshot(): unknown;
  /** Replaces the state with one `snapshot()` returned after applying the entry at `index`. */
  restore(data: unknown, index: number): void;
}

/** What applying one committed value answered, per payload name (the names `proposals.identify` gives). */
export type AppliedResults = Iterable<readonly [name: string, result: unknown]>;

/** Entries whose results are kept once applied, for the proposals that are told of them just after. */
const RESULTS_KEPT = 64;

const NO_RESULTS: ReadonlyMap<string, unknown> = new Map();

/** A snapshot this node took or restored: the state after `index`, and the committed entry it ends at. */
export interface Snapshot<StateT> {
  index: number;
  /** The value committed at `index`, with its certificate (null for an engine without keys). */
  value: StateT;
  valueDigest: string;
  certificate: CommitCertificate | null;
  /** What `snapshot()` returned, as JSON text: what its digest is taken over. */
  data: string;
  /** The memberships in force at `index` and scheduled after it, for an engine whose membership changes. */
  membership?: MembershipRecord;
}

export interface StateMachineRunnerOptions<StateT extends Unique, PeerIDT extends Unique> {
  machine: ReplicatedStateMachine<StateT>;
  log: CommitLog<StateT, PeerIDT>;
  codec: ValueCodec<StateT>;
  logger: TraceLogger;
  /** Entries applied between two snapshots. */
  interval: number;
  /** Where snapshots are kept; null: in memory only. */
  storage: LogStorage | null;
  /** The index applied before any entry: the initial state's rank, or a stored snapshot's index. */
  applied: number;
  /** The newest snapshot kept, restored into the machine already. */
  latest: Snapshot<StateT> | null;
  /** What a snapshot at an index carries of the membership; absent when it never changes. */
  membershipAt?: (index: number) => MembershipRecord | undefined;
}

/**
 * Applies the log to the app's state machine in index order, and every
 * `interval` entries takes a snapshot, which storage keeps before the log
 * entries it covers may be forgotten. A gap in the log holds application back
 * until it is filled. An `apply` or `snapshot` that throws stops application
 * (reported once): skipping an entry would leave this node's state unlike
 * every other's.
 */
export class StateMachineRunner<StateT extends Unique, PeerIDT extends Unique> {
  private appliedIndex: number;
  private latest: Snapshot<StateT> | null;
  /** The newest snapshot whose save resolved: the stored log may forget what it covers. */
  private durable: Snapshot<StateT> | null;
  private failed = false;
  private running = false;
  /** The results of the latest entries applied, by index: read by `whenApplied`. */
  private readonly results = new Map<number, ReadonlyMap<string, unknown>>();
  /** Who waits for an entry not yet applied, by index. */
  private readonly waiting = new Map<number, Array<(results: ReadonlyMap<string, unknown> | undefined) => void>>();

  constructor(private readonly options: StateMachineRunnerOptions<StateT, PeerIDT>) {
    this.appliedIndex = options.applied;
    this.latest = options.latest;
    this.durable = options.latest;
    options.log.watch(() => this.advance());
  }

  /** The index of the last entry applied. */
  get applied(): number {
    return this.appliedIndex;
  }

  /** The newest snapshot taken or restored. */
  get snapshot(): Snapshot<StateT> | null {
    return this.latest;
  }

  /** Entries below this may leave the stored log: a durable snapshot covers them. */
  get coveredBelow(): number {
    return this.durable === null ? -Infinity : this.durable.index + 1;
  }

  /**
   * Resolves once the entry at `index` is applied, with what applying it
   * answered, or with nothing when this node will not apply it itself: a
   * snapshot covered it, or application stopped on a state machine error.
   * An entry applied long ago resolves with nothing too (its results are
   * kept only for the latest entries).
   */
  whenApplied(index: number): Promise<ReadonlyMap<string, unknown> | undefined> {
    if (index <= this.appliedIndex || this.failed) return Promise.resolve(this.results.get(index));
    return new Promise((resolve) => {
      const waiters = this.waiting.get(index);
      if (waiters === undefined) this.waiting.set(index, [resolve]);
      else waiters.push(resolve);
    });
  }

  /** Applies whatever the log now holds past the last entry applied, in order. */
  advance(): void {
    // apply() may commit nothing, but a listener it triggers might append: no re-entry.
    if (this.running || this.failed) return;
    this.running = true;
    try {
      for (let next = this.options.log.get(this.appliedIndex + 1); next !== undefined; next = this.options.log.get(this.appliedIndex + 1)) {
        if (!this.applyEntry(next)) return;
      }
    } finally {
      this.running = false;
    }
  }

  /** Puts a snapshot in place of the state (one received from peers): entries up to its index count as applied. */
  restore(snapshot: Snapshot<StateT>, data: unknown): boolean {
    if (snapshot.index <= this.appliedIndex) return false;
    try {
      this.options.machine.restore(data, snapshot.index);
    } catch (error) {
      this.options.logger.error(`the state machine refused the snapshot at ${snapshot.index}`, error);
      return false;
    }
    this.appliedIndex = snapshot.index;
    this.failed = false;
    this.release((index) => index <= snapshot.index);
    this.keep(snapshot);
    this.advance();
    return true;
  }

  private applyEntry(entry: LogEntry<StateT, PeerIDT>): boolean {
    const { machine, interval, logger } = this.options;
    let results: ReadonlyMap<string, unknown>;
    try {
      const answered = machine.apply(entry.payload, entry.index);
      results = answered === undefined || answered === null ? NO_RESULTS : new Map(answered);
    } catch (error) {
      this.fail();
      logger.error(`the state machine threw applying entry ${entry.index}; nothing more is applied`, error);
      return false;
    }
    this.appliedIndex = entry.index;
    this.remember(entry.index, results);
    if (entry.index - (this.latest?.index ?? this.options.applied) >= interval) {
      let data: string;
      try {
        data = JSON.stringify(machine.snapshot()) ?? 'null';
      } catch (error) {
        this.fail();
        logger.error(`the state machine's snapshot after entry ${entry.index} threw: ${describeError(error)}`, error);
        return false;
      }
      const membership = this.options.membershipAt?.(entry.index);
      this.keep({ index: entry.index, value: entry.payload, valueDigest: entry.valueDigest, certificate: entry.certificate, data, ...(membership === undefined ? {} : { membership }) });
    }
    return true;
  }

  private remember(index: number, results: ReadonlyMap<string, unknown>): void {
    if (results.size > 0) {
      this.results.set(index, results);
      if (this.results.size > RESULTS_KEPT) this.results.delete(this.results.keys().next().value as number);
    }
    const waiters = this.waiting.get(index);
    if (waiters === undefined) return;
    this.waiting.delete(index);
    for (const resolve of waiters) resolve(results);
  }

  /** Application stopped: nobody waiting will hear of a result. */
  private fail(): void {
    this.failed = true;
    this.release(() => true);
  }

  /** Tells those waiting for the indices `which` picks that they will have no result from this node. */
  private release(which: (index: number) => boolean): void {
    for (const [index, waiters] of [...this.waiting]) {
      if (!which(index)) continue;
      this.waiting.delete(index);
      for (const resolve of waiters) resolve(undefined);
    }
  }

  private keep(snapshot: Snapshot<StateT>): void {
    this.latest = snapshot;
    const { storage, codec, logger } = this.options;
    if (storage === null) {
      this.durable = snapshot;
      return;
    }
    const { index, valueDigest, certificate, data, membership } = snapshot;
    const stored: StoredSnapshot = { index, valueDigest, certificate, value: storedValueOf(snapshot.value, codec), data, ...(membership === undefined ? {} : { membership }) };
    storage.saveSnapshot(stored).then(
      () => {
        if (snapshot.index > (this.durable?.index ?? -Infinity)) this.durable = snapshot;
      },
      (error: unknown) => logger.error(`the snapshot at ${snapshot.index} could not be stored`, error),
    );
  }
}

/**
 * Restores the app's state machine from the stored snapshot (`latest`, whose
 * index then counts as applied), applies the log after it, and keeps it
 * applying. A machine that refuses the stored snapshot is a `StoredLogError`.
 */
export function startStateMachine<StateT extends Unique, PeerIDT extends Unique>(
  options: StateMachineRunnerOptions<StateT, PeerIDT>,
): StateMachineRunner<StateT, PeerIDT> {
  const { latest, machine } = options;
  if (latest !== null) {
    try {
      machine.restore(JSON.parse(latest.data) as unknown, latest.index);
    } catch (error) {
      throw new StoredLogError(latest.index, `the state machine refused the stored snapshot: ${describeError(error)}`);
    }
  }
  const runner = new StateMachineRunner({ ...options, applied: latest?.index ?? options.applied });
  runner.advance();
  return runner;
}
