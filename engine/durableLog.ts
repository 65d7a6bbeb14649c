import type { LogStorage } from '../providers/storage';
import type { TraceLogger } from '../providers/trace';
import type { Unique } from '../providers/unique';
import type { ValueCodec } from '../providers/codec';
import type { CommitLog, LogEntry } from './commitLog';
import { storedEntryOf } from './storedLog';

/**
 * Writes every entry that enters the engine's log (committed here, or filled
 * in from peers) to its storage, and lets the storage forget what the
 * in-memory log no longer holds. `whenStored` is what a proposer's
 * acknowledgement waits for: nothing is reported committed before this node
 * could say so again after a crash.
 */
export class DurableLog<StateT extends Unique, PeerIDT extends Unique> {
  /** Stored entries below this were let go. */
  private compactedBelow: number;
  /** Writes in flight, by index: forgotten once durable. */
  private readonly pending = new Map<number, Promise<void>>();
  /** The first failed write: every acknowledgement after it fails too (a failed store stays failed). */
  private failure: Promise<void> | null = null;

  constructor(
    private readonly storage: LogStorage,
    private readonly log: CommitLog<StateT, PeerIDT>,
    private readonly codec: ValueCodec<StateT>,
    private readonly logger: TraceLogger,
    /** Entries dropped from memory between two compactions of the store. */
    private readonly compactionStep: number,
    /** Entries from this one on stay stored whatever the in-memory log holds: a restart applies them past the last durable snapshot. */
    private readonly keepFrom: () => number,
  ) {
    this.compactedBelow = log.first;
    log.watch((entry) => this.store(entry));
  }

  /** The write of the entry at `index`: pending, failed, or (undefined) already durable. */
  whenStored(index: number): Promise<void> | undefined {
    return this.pending.get(index) ?? this.failure ?? undefined;
  }

  private store(entry: LogEntry<StateT, PeerIDT>): void {
    const written = this.storage.appendLogEntry(storedEntryOf(entry, this.codec));
    this.pending.set(entry.index, written);
    written.then(
      () => this.pending.delete(entry.index),
      (error: unknown) => {
        this.pending.delete(entry.index);
        // One line per failing store, not per commit: a full disk fails every append after.
        if (this.failure === null) this.logger.error(`the commit log could not be stored from entry ${entry.index} on`, error);
        this.failure ??= written;
      },
    );
    const below = Math.min(this.log.first, this.keepFrom());
    if (below - this.compactedBelow >= this.compactionStep) {
      this.compactedBelow = below;
      this.storage.compactLog(this.compactedBelow).catch((error: unknown) => this.logger.error('compacting the stored commit log failed', error));
    }
  }
}
