import type { HardState, NodeStorage, RoundSafetyRecord, StoredLogEntry, StoredSnapshot } from '../providers/storage';
import { WalError } from './errors';
import { mkdirSync } from 'node:fs';
import { positionByIndex } from '../engine/byIndex';
import { lockDirectory } from './dirLock';
import { openWal, type Wal, type WalOptions } from './wal';
import type { RecoveryReport } from './recovery';

/** A record of the node's store, as one write-ahead log record holds it (JSON). */
type StoreRecord =
  | { k: 'hard'; v: HardState }
  | { k: 'safety'; v: RoundSafetyRecord }
  | { k: 'entry'; v: StoredLogEntry }
  | { k: 'snapshot'; v: StoredSnapshot }
  /** Entries below `below` are let go. */
  | { k: 'compact'; below: number };

/** A record decoded fine but is not one this store writes: a different program's directory, or a newer format. */
export class StoreFormatError extends WalError {
  constructor(
    readonly seq: number,
    reason: string,
  ) {
    super(`node store record ${seq} is not one this version writes: ${reason}`);
  }
}

export interface NodeStoreOptions {
  /** Segment size of the write-ahead log; default 4 MiB, so compaction frees space in steps of that. */
  segmentBytes?: number;
  /**
   * Once records written since the last checkpoint outnumber the live ones
   * (term and vote, the round's record, the entries kept) this many times
   * over, everything live is written again and the segments before it are
   * deleted. Default 2: a store on disk stays within about three times what
   * it holds, and each record is rewritten at most about once per two writes.
   */
  checkpointFactor?: number;
  /** The file operations, for tests that make the disk fail. */
  fs?: WalOptions['fs'];
  /** Told of each save once it is durable, in the order saved: for metrics, and for crash tests to know what was acknowledged. */
  onDurable?: (saved: DurableSave) => void;
  /** Told once, when a write or sync first fails: from then on every save fails (see `failure`). */
  onFailure?: (error: Error) => void;
}

/** A save that became durable, as `onDurable` is told of it. */
export type DurableSave =
  | { kind: 'hard'; value: HardState }
  | { kind: 'safety'; value: RoundSafetyRecord }
  | { kind: 'entry'; value: StoredLogEntry }
  | { kind: 'snapshot'; index: number }
  | { kind: 'compact'; below: number };

const encoder = new TextEncoder();

/** The text of a record holding a value: `json` is the value's JSON, kept as is, so opening can take it back without writing it again. */
const valueRecord = (kind: 'hard' | 'safety' | 'entry' | 'snapshot', json: string) => `{"k":"${kind}","v":${json}}`;
/** The value's JSON inside a record: sliced from one `valueRecord` wrote, written again from any other shape. */
function valueJsonOf(text: string, record: { k: string; v?: unknown }): string {
  const prefix = `{"k":"${record.k}","v":`;
  return text.startsWith(prefix) && text.endsWith('}') ? text.slice(prefix.length, -1) : JSON.stringify(record.v);
}
const decoder = new TextDecoder();
const MIN_CHECKPOINT_RECORDS = 1024;

/**
 * Opens (creating if needed) a node's durable store in `dir`, which it locks
 * for this process (`DirectoryLockedError` while another live process has it): the election's
 * term and vote, the round's lock and attempts, and the commit log, in one
 * write-ahead log. Reads it all back before resolving, so an engine and an
 * election built over it resume where the process left off. Rejects with
 * `WalCorruptionError` for damage before the log's tail (a torn tail is cut
 * off and reported in `recovery`), `StoreFormatError` for a record it does
 * not know.
 */
export async function openNodeStore(dir: string, options: NodeStoreOptions = {}): Promise<NodeStore> {
  mkdirSync(dir, { recursive: true });
  const release = lockDirectory(dir);
  try {
    const state = new LiveState();
    const wal = await openWal(dir, {
      segmentBytes: options.segmentBytes ?? 4 * 1024 * 1024,
      ...(options.fs === undefined ? {} : { fs: options.fs }),
      onRecord: (seq, payload) => state.replay(seq, payload),
    });
    return new NodeStore(wal, state, options.checkpointFactor ?? 2, release, options.onDurable, options.onFailure);
  } catch (error) {
    release();
    throw error;
  }
}

/** What the store holds now, rebuilt from its records. Values are kept as JSON text: no caller shares an object with the store. */
class LiveState {
  hard: string | null = null;
  safety: string | null = null;
  entries: Array<{ index: number; json: string }> = [];
  snapshot: { index: number; json: string } | null = null;

  replay(seq: number, payload: Uint8Array): void {
    const text = decoder.decode(payload);
    let record: StoreRecord;
    try {
      record = JSON.parse(text) as StoreRecord;
    } catch (error) {
      throw new StoreFormatError(seq, `not JSON (${(error as Error).message})`);
    }
    const json = () => valueJsonOf(text, record);
    if (record?.k === 'hard') this.hard = json();
    else if (record?.k === 'safety') this.safety = json();
    else if (record?.k === 'entry' && Number.isSafeInteger(record.v?.index)) this.add(record.v.index, json());
    else if (record?.k === 'snapshot' && Number.isSafeInteger(record.v?.index)) this.keepSnapshot(record.v.index, json());
    else if (record?.k === 'compact' && Number.isSafeInteger(record.below)) this.compact(record.below);
    else throw new StoreFormatError(seq, `unknown record ${JSON.stringify(record)?.slice(0, 80)}`);
  }

  /** An entry in its place by index; a checkpoint's copy of one already held changes nothing. */
  add(index: number, json: string): void {
    const at = this.position(index);
    if (this.entries[at]?.index !== index) this.entries.splice(at, 0, { index, json });
  }

  has(index: number): boolean {
    return this.entries[this.position(index)]?.index === index;
  }

  private position(index: number): number {
    return positionByIndex(this.entries, index);
  }

  /** A snapshot newer than the one held replaces it. */
  keepSnapshot(index: number, json: string): void {
    if (this.snapshot === null || index > this.snapshot.index) this.snapshot = { index, json };
  }

  compact(below: number): void {
    let drop = 0;
    while (drop < this.entries.length && this.entries[drop].index < below) drop += 1;
    if (drop > 0) this.entries = this.entries.slice(drop);
  }

  get liveRecords(): number {
    return this.entries.length + (this.hard === null ? 0 : 1) + (this.safety === null ? 0 : 1) + (this.snapshot === null ? 0 : 1);
  }
}

/**
 * A node's durable store over one write-ahead log. Every save resolves once
 * its record is durable, and saves made together share one sync. After a write or sync failure every
 * later save rejects with that `WalWriteError` (`failure`): the round machine
 * and the election then stop voting rather than vote without a record.
 * Loads give the last save that resolved; `readLog` also the appends still
 * being written (it is read once, before an engine is built).
 */
export class NodeStore implements NodeStorage {
  private recordsSinceCheckpoint = 0;
  private checkpointing = false;
  /** What loads give: the last hard state and round record whose save resolved (appends resolve in order). */
  private durableHard: string | null;
  private durableSafety: string | null;

  constructor(
    private readonly wal: Wal,
    private readonly state: LiveState,
    private readonly checkpointFactor: number,
    private readonly release: () => void,
    private readonly onDurable: ((saved: DurableSave) => void) | undefined,
    private readonly onFailure: ((error: Error) => void) | undefined,
  ) {
    this.durableHard = state.hard;
    this.durableSafety = state.safety;
  }

  /** What opening found and repaired. */
  get recovery(): RecoveryReport {
    return this.wal.recovery;
  }

  /** The failure that stopped the store, or null. */
  get failure(): Error | null {
    return this.wal.failure;
  }

  get dir(): string {
    return this.wal.dir;
  }

  /** What `loadHardState` would give now, synchronously. */
  peekHardState(): HardState | null {
    return this.durableHard === null ? null : (JSON.parse(this.durableHard) as HardState);
  }

  async loadHardState(): Promise<HardState | null> {
    return this.peekHardState();
  }

  saveHardState(hard: HardState): Promise<void> {
    const json = JSON.stringify({ term: hard.term, votedFor: hard.votedFor });
    return this.write(valueRecord('hard', json), () => (this.state.hard = json)).then(() => {
      this.durableHard = json;
      this.tell(() => ({ kind: 'hard', value: JSON.parse(json) as HardState }));
    });
  }

  async loadRoundSafety(): Promise<RoundSafetyRecord | null> {
    return this.durableSafety === null ? null : (JSON.parse(this.durableSafety) as RoundSafetyRecord);
  }

  saveRoundSafety(record: RoundSafetyRecord): Promise<void> {
    const { rank, votedAttempt, confirmedAttempt, lock, valid, proposal } = record;
    const json = JSON.stringify({ rank, votedAttempt, confirmedAttempt, lock, valid, proposal });
    return this.write(valueRecord('safety', json), () => (this.state.safety = json)).then(() => {
      this.durableSafety = json;
      this.tell(() => ({ kind: 'safety', value: JSON.parse(json) as RoundSafetyRecord }));
    });
  }

  readLog(): StoredLogEntry[] {
    return this.state.entries.map(({ json }) => JSON.parse(json) as StoredLogEntry);
  }

  appendLogEntry(entry: StoredLogEntry): Promise<void> {
    if (!Number.isSafeInteger(entry.index) || entry.index < 0 || this.state.has(entry.index)) {
      return Promise.reject(new RangeError(`log entry ${entry.index} is already stored, or no index`));
    }
    const json = JSON.stringify(entry);
    return this.write(valueRecord('entry', json), () => this.state.add(entry.index, json)).then(() =>
      this.tell(() => ({ kind: 'entry', value: JSON.parse(json) as StoredLogEntry })),
    );
  }

  readSnapshot(): StoredSnapshot | null {
    return this.state.snapshot === null ? null : (JSON.parse(this.state.snapshot.json) as StoredSnapshot);
  }

  saveSnapshot(snapshot: StoredSnapshot): Promise<void> {
    const json = JSON.stringify(snapshot);
    return this.write(valueRecord('snapshot', json), () => this.state.keepSnapshot(snapshot.index, json)).then(() =>
      this.tell(() => ({ kind: 'snapshot', index: snapshot.index })),
    );
  }

  compactLog(below: number): Promise<void> {
    const at = Math.floor(below);
    return this.write(`{"k":"compact","below":${at}}`, () => this.state.compact(at)).then(() => this.tell(() => ({ kind: 'compact', below: at })));
  }

  /** Whether a save is still being written. */
  get busy(): boolean {
    return this.wal.busy;
  }

  /** Resolves once no save is being written (and no checkpoint is deleting old segments). */
  settled(): Promise<void> {
    return this.wal.settled();
  }

  /** Waits for what was saved to be durable, then closes the log. */
  async close(): Promise<void> {
    try {
      await this.wal.close();
    } finally {
      this.release();
    }
  }

  private toldFailure = false;

  private failed(error: Error): void {
    if (this.toldFailure || this.wal.failure === null) return;
    this.toldFailure = true;
    try {
      this.onFailure?.(error);
    } catch {
      // An observer's failure is not the store's.
    }
  }

  /** `saved` is built only for an observer: a store nobody watches parses nothing back. */
  private tell(saved: () => DurableSave): void {
    if (this.onDurable === undefined) return;
    try {
      this.onDurable(saved());
    } catch {
      // An observer's failure is not the save's.
    }
  }

  /**
   * Appends one record and applies it to the live state at once (the
   * contract lets a load return a save still in flight), so a checkpoint
   * copies every record written before it, durable yet or not.
   */
  private write(text: string, apply: () => void): Promise<void> {
    const written = this.wal.append(encoder.encode(text)).then(
      () => undefined,
      (error: unknown) => {
        this.failed(error as Error);
        throw error;
      },
    );
    // A store that failed keeps what was durable: nothing more is live.
    if (this.wal.failure === null) apply();
    this.recordsSinceCheckpoint += 1;
    this.checkpointIfDue();
    return written;
  }

  /**
   * Writes everything live again and deletes the segments wholly before it.
   * Taken from the live state at one instant and appended in one go, so the
   * log's order is kept: a save made later lands after the copies.
   */
  private checkpointIfDue(): void {
    if (this.checkpointing || this.wal.failure !== null) return;
    if (this.recordsSinceCheckpoint < Math.max(MIN_CHECKPOINT_RECORDS, this.checkpointFactor * this.state.liveRecords)) return;
    this.checkpointing = true;
    this.recordsSinceCheckpoint = 0;
    const from = this.wal.lastSeq + 1;
    const copies: Array<Promise<number>> = [];
    const copy = (text: string) => copies.push(this.wal.append(encoder.encode(text)));
    if (this.state.hard !== null) copy(valueRecord('hard', this.state.hard));
    if (this.state.safety !== null) copy(valueRecord('safety', this.state.safety));
    if (this.state.snapshot !== null) copy(valueRecord('snapshot', this.state.snapshot.json));
    for (const { json } of this.state.entries) copy(valueRecord('entry', json));
    Promise.all(copies)
      .then(() => this.wal.truncateBefore(from))
      // A failed checkpoint leaves the old records in place: nothing is lost, the log is only longer.
      .catch(() => undefined)
      .finally(() => (this.checkpointing = false));
  }
}
