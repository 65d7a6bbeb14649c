import { positionByIndex } from './byIndex';
import type { CommitCertificate } from './signing/certificate';

/** One committed value, in commit order, with what proves it. */
export interface LogEntry<StateT, PeerIDT> {
  /** The entry's place in the log: the rank it decided. */
  index: number;
  rank: number;
  /** The attempt whose confirmations committed it. */
  attempt: number;
  /** The election term when this node committed it, for a node that runs one; null for an engine alone, and for an entry filled in from peers. */
  term: number | null;
  /** SHA-256 of the value's identity, hex: what the certificate's signatures name. */
  valueDigest: string;
  /** The prover whose proposal it is, when this node held the proposal. */
  proposer: PeerIDT | null;
  /** A quorum's signed confirmations; null for an engine without keys. */
  certificate: CommitCertificate | null;
  /** The committed value. */
  payload: StateT;
}

/** What an app reads of an engine's commit log. */
export interface CommitLogView<StateT, PeerIDT> {
  /** The entry at `index`, if held (older ones are dropped past the log's retention). */
  get(index: number): LogEntry<StateT, PeerIDT> | undefined;
  /** Held entries with `from ≤ index ≤ to`, in order. */
  range(from: number, to: number): LogEntry<StateT, PeerIDT>[];
  /** The last entry, if any. */
  tail(): LogEntry<StateT, PeerIDT> | undefined;
  /** Entries held. */
  readonly size: number;
  /** The lowest index an entry is held or still expected for: older ones were dropped past the retention, or precede the log. */
  readonly first: number;
  /**
   * Indices below the tail this node has no entry for yet, as `[from, to]`
   * ranges: ranks it skipped by syncing, still being fetched from peers.
   * Ranges given up on (no peer had them in time) are not listed: see `holes`.
   */
  missing(): Array<[number, number]>;
  /** Ranges given up on that are still empty: still asked for now and then, filled if a peer sends them. */
  holes(): Array<[number, number]>;
}

/**
 * An engine's ordered log of commits, in memory: ranks commit in order, so
 * each entry's index is its rank. A node that adopts a state through sync
 * skips ranks; their entries may be filled in later, each proven by its
 * certificate (`fill`), or given up on (`skip`). At most `retention` entries
 * are held, the oldest dropped first. Readers of `follow` get entries in
 * index order: past a missing range they wait until it is filled or given up.
 */
export class CommitLog<StateT, PeerIDT> implements CommitLogView<StateT, PeerIDT> {
  private readonly entries: LogEntry<StateT, PeerIDT>[] = [];
  private readonly followers = new Set<() => void>();
  private readonly watchers = new Set<(entry: LogEntry<StateT, PeerIDT>, how: 'appended' | 'filled') => void>();
  /** Ranges given up on: readers pass over them. */
  private skipped: Array<[number, number]> = [];
  /** The lowest index an entry may still arrive for: the first rank after the initial state, raised as old entries are dropped. */
  private floor: number;
  /** Whether an append ever left a place missing that is not yet known filled: spares a scan per commit. */
  private mayMiss = false;
  /** The highest index known committed (a state adopted by syncing), held or not: places up to it are missing until filled. */
  private horizon = -1;

  constructor(
    private readonly retention: number,
    first = 1,
  ) {
    this.floor = first;
  }

  /** Appends an entry past the tail; an entry at or below the tail's index is a bug, refused with a `RangeError`. */
  append(entry: LogEntry<StateT, PeerIDT>): void {
    const tail = this.tail();
    if (tail !== undefined && entry.index <= tail.index) {
      throw new RangeError(`log entry ${entry.index} is not past the tail ${tail.index}`);
    }
    if (entry.index > (tail === undefined ? this.floor : tail.index + 1)) this.mayMiss = true;
    this.entries.push(entry);
    this.changed();
    this.tell(entry, 'appended');
  }

  /** Calls `watcher` synchronously with each entry as it is appended or filled in; returns an unsubscribe function. */
  watch(watcher: (entry: LogEntry<StateT, PeerIDT>, how: 'appended' | 'filled') => void): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  /**
   * Puts an entry into an empty place below the tail: a missing one, or one
   * given up on (readers have passed over it, but the log is whole again).
   * False, nothing changed, if the place is held, past the tail or below the floor.
   */
  fill(entry: LogEntry<StateT, PeerIDT>): boolean {
    if (!this.isMissing(entry.index) && !this.isHole(entry.index)) return false;
    this.entries.splice(this.position(entry.index), 0, entry);
    this.changed();
    this.tell(entry, 'filled');
    return true;
  }

  /**
   * The cluster committed every index up to `index` (this node adopted the
   * state there by syncing): places up to it that are not held are missing,
   * to be filled from peers, before anything is appended past it.
   */
  expect(index: number): void {
    if (index <= this.horizon || index <= (this.tail()?.index ?? this.floor - 1)) return;
    this.horizon = index;
    this.mayMiss = true;
    this.changed();
  }

  /** Gives up on `[from, to]`: no longer missing, and readers pass over it. */
  skip(from: number, to: number): void {
    if (to < from) return;
    this.skipped.push([from, to]);
    this.changed();
  }

  /** Whether `index` is below the tail, at or above the floor, neither held nor given up on. */
  isMissing(index: number): boolean {
    const tail = this.tail();
    const end = Math.max(tail?.index ?? -1, this.horizon);
    if (index < this.floor || index > end || (tail !== undefined && index === tail.index)) return false;
    return this.get(index) === undefined && this.skippedRange(index) === undefined;
  }

  /** Whether `index` was given up on and is still empty: a late entry may fill it. */
  isHole(index: number): boolean {
    return index >= this.floor && this.skippedRange(index) !== undefined && this.get(index) === undefined;
  }

  /** Places given up on that are still empty, as `[from, to]` ranges at or above the floor, lowest first. */
  holes(): Array<[number, number]> {
    const holes: Array<[number, number]> = [];
    for (const [start, end] of [...this.skipped].sort((x, y) => x[0] - y[0])) {
      // Walk the entries held inside the range, not every index of it: a range a snapshot skipped may be long.
      let from = Math.max(start, this.floor);
      for (let at = this.position(from); at < this.entries.length && this.entries[at].index <= end; at += 1) {
        const held = this.entries[at].index;
        if (held > from) holes.push([from, held - 1]);
        from = held + 1;
      }
      if (from <= end) holes.push([from, end]);
    }
    return holes;
  }

  missing(): Array<[number, number]> {
    if (!this.mayMiss) return [];
    const gaps: Array<[number, number]> = [];
    let expected = this.floor;
    const close = (below: number) => {
      // A missing stretch, minus what was given up on.
      let from = expected;
      while (from < below) {
        const skip = this.skippedRange(from);
        if (skip !== undefined) {
          from = skip[1] + 1;
          continue;
        }
        let to = from;
        while (to + 1 < below && this.skippedRange(to + 1) === undefined) to += 1;
        gaps.push([from, to]);
        from = to + 1;
      }
    };
    for (const entry of this.entries) {
      if (entry.index > expected) close(entry.index);
      expected = entry.index + 1;
    }
    if (this.horizon >= expected) close(this.horizon + 1);
    if (gaps.length === 0) this.mayMiss = false;
    return gaps;
  }

  get(index: number): LogEntry<StateT, PeerIDT> | undefined {
    const at = this.position(index);
    return at < this.entries.length && this.entries[at].index === index ? this.entries[at] : undefined;
  }

  range(from: number, to: number): LogEntry<StateT, PeerIDT>[] {
    const result: LogEntry<StateT, PeerIDT>[] = [];
    for (let at = this.position(from); at < this.entries.length && this.entries[at].index <= to; at += 1) result.push(this.entries[at]);
    return result;
  }

  tail(): LogEntry<StateT, PeerIDT> | undefined {
    return this.entries[this.entries.length - 1];
  }

  /** The lowest index an entry is or may still be held for: entries below it were dropped past the retention or precede the log. */
  get first(): number {
    return this.floor;
  }

  get size(): number {
    return this.entries.length;
  }

  /**
   * Every entry from `from` on, in index order: held ones first, then each as
   * it arrives. A missing range holds the reader back until it is filled or
   * given up on; entries dropped past the retention are passed over. Ends
   * when `signal` aborts.
   */
  async *follow(from = 0, signal?: AbortSignal): AsyncGenerator<LogEntry<StateT, PeerIDT>> {
    let next = from;
    let wake: (() => void) | null = null;
    const follower = () => wake?.();
    this.followers.add(follower);
    signal?.addEventListener('abort', follower);
    try {
      for (;;) {
        for (;;) {
          if (signal?.aborted) return;
          const entry = this.deliverable(next);
          if (entry === 'none') break;
          if (entry === 'passed') {
            next = this.passOver(next);
            continue;
          }
          next = entry.index + 1;
          yield entry;
        }
        if (signal?.aborted) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
      }
    } finally {
      this.followers.delete(follower);
      signal?.removeEventListener('abort', follower);
    }
  }

  /** What a reader at `next` gets: the entry, a place to pass over (given up on, dropped, or before the first), or nothing yet. */
  private deliverable(next: number): LogEntry<StateT, PeerIDT> | 'passed' | 'none' {
    const held = this.get(next);
    if (held !== undefined) return held;
    if (next < this.floor || this.skippedRange(next) !== undefined) return 'passed';
    return 'none';
  }

  private passOver(next: number): number {
    if (next < this.floor) return this.floor;
    const skip = this.skippedRange(next);
    return skip === undefined ? next + 1 : skip[1] + 1;
  }

  private tell(entry: LogEntry<StateT, PeerIDT>, how: 'appended' | 'filled'): void {
    for (const watcher of [...this.watchers]) watcher(entry, how);
  }

  private skippedRange(index: number): [number, number] | undefined {
    return this.skipped.find(([from, to]) => from <= index && index <= to);
  }

  private changed(): void {
    if (this.entries.length > this.retention) {
      this.entries.splice(0, this.entries.length - this.retention);
      this.floor = this.entries[0].index;
    }
    // Ranges wholly below the floor are past caring.
    if (this.skipped.length > 0) this.skipped = this.skipped.filter(([, to]) => to >= this.floor);
    for (const follower of [...this.followers]) follower();
  }

  /** Where `index` is or would be among the held entries. */
  private position(index: number): number {
    return positionByIndex(this.entries, index);
  }
}
