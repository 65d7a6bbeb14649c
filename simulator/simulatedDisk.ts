import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HardState, NodeStorage, RoundSafetyRecord, StorageHooks, StoredLogEntry, StoredSnapshot } from '../providers/storage';
import { openNodeStore, type NodeStore } from '../storage/nodeStore';

/** What a simulated node keeps its term, vote, lock and log in: in memory, or a store on disk. */
export interface SimulatedStorage extends NodeStorage {
  /** Fault hooks: a slow or failing disk. */
  hooks: StorageHooks;
  /** The term and vote a load would give now. */
  peekHardState(): HardState | null;
}

/**
 * Every simulated node's store on a real disk, each in its own directory
 * under one temp directory. Real writes take real time, which the simulated
 * clock knows nothing of: `idle()` resolves once no write (and no reopen) is
 * in flight, and the run waits for it after every instant, so a write is
 * durable before simulated time moves on and a seed replays the same run.
 */
export class SimulatedDisk {
  readonly root = mkdtempSync(join(tmpdir(), 'simulated-disk-'));
  /** Work in flight, in the order it began; each is told it finished only when `idle` says so. */
  private queue: Array<{ work: Promise<unknown>; tell: () => void }> = [];
  private readonly stores: DiskStorage[] = [];

  /** Opens `node`'s store. */
  async open(node: string): Promise<DiskStorage> {
    const dir = join(this.root, node);
    const storage = new DiskStorage(this, dir, await openNodeStore(dir));
    this.stores.push(storage);
    return storage;
  }

  /**
   * `work` as the simulation sees it: settled when `idle` releases it, in
   * the order the work began, whatever order the disk finished it in, so
   * the nodes waiting on it go on in the same order in every run of a seed.
   */
  track<T>(work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, tell: () => void work.then(resolve, reject) });
    });
  }

  /** Resolves once nothing is in flight, including what the released work started. */
  async idle(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0);
      await Promise.allSettled(batch.map(({ work }) => work));
      for (const { tell } of batch) tell();
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Closes every store and removes the directory. */
  async dispose(): Promise<void> {
    await this.idle();
    for (const storage of this.stores) await storage.close().catch(() => undefined);
    rmSync(this.root, { recursive: true, force: true });
  }
}

/**
 * One node's store on disk, with the simulator's fault hooks in front of it.
 * Saves go through one chain, so a hook that delays one delays those after
 * it and they still land in call order. A crash closes the store and opens
 * the directory again (`reopen`), so a restarted node reads what recovery
 * finds, as a killed process would.
 */
export class DiskStorage implements SimulatedStorage {
  hooks: StorageHooks = {};
  private tail: Promise<void> = Promise.resolve();
  /** Counts crashes: a save made before one never reaches the disk after it. */
  private incarnation = 0;

  constructor(
    private readonly disk: SimulatedDisk,
    private readonly dir: string,
    private store: NodeStore,
  ) {}

  loadHardState(): Promise<HardState | null> {
    return this.load(() => this.store.loadHardState());
  }

  loadRoundSafety(): Promise<RoundSafetyRecord | null> {
    return this.load(() => this.store.loadRoundSafety());
  }

  peekHardState(): HardState | null {
    return this.store.peekHardState();
  }

  readLog(): readonly StoredLogEntry[] {
    return this.store.readLog();
  }

  readSnapshot(): StoredSnapshot | null {
    return this.store.readSnapshot();
  }

  saveHardState(state: HardState): Promise<void> {
    const copy = { term: state.term, votedFor: state.votedFor };
    return this.save(copy, () => this.store.saveHardState(copy));
  }

  saveRoundSafety(record: RoundSafetyRecord): Promise<void> {
    const copy = JSON.parse(JSON.stringify(record)) as RoundSafetyRecord;
    return this.save(copy, () => this.store.saveRoundSafety(copy));
  }

  appendLogEntry(entry: StoredLogEntry): Promise<void> {
    return this.save(entry, () => this.store.appendLogEntry(entry));
  }

  compactLog(below: number): Promise<void> {
    return this.save(null, () => this.store.compactLog(below));
  }

  saveSnapshot(snapshot: StoredSnapshot): Promise<void> {
    return this.save(null, () => this.store.saveSnapshot(snapshot));
  }

  /**
   * The process died: saves still waiting for their turn are lost (a slow
   * disk's delay runs on simulated time, which waits for this), what was
   * written is read back by a fresh open of the directory.
   */
  reopen(): Promise<void> {
    this.incarnation += 1;
    const store = this.store;
    const reopened = (async () => {
      await store.close();
      this.store = await openNodeStore(this.dir);
    })();
    this.tail = reopened.catch(() => undefined);
    return this.disk.track(reopened);
  }

  close(): Promise<void> {
    return this.store.close();
  }

  private async load<T>(read: () => Promise<T>): Promise<T> {
    await this.hooks.beforeLoad?.();
    return read();
  }

  private save(record: HardState | RoundSafetyRecord | StoredLogEntry | null, write: () => Promise<void>): Promise<void> {
    const incarnation = this.incarnation;
    const saved = this.tail.then(async () => {
      if (record !== null) await this.hooks.beforeSave?.(record);
      if (incarnation !== this.incarnation) throw new Error('the node crashed before this save reached the disk');
      await this.disk.track(write());
    });
    this.tail = saved.catch(() => undefined);
    return saved;
  }
}
