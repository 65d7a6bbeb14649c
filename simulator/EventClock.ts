import type { ConsensusClock } from '../providers/clock';

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/** Lets every settled promise run its continuations before the next timer fires. */
export function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A discrete-event clock. Unlike XState's `SimulatedClock`, which jumps to a
 * time and fires everything due at once, this one fires timers one at a time
 * in (deadline, insertion) order, so two runs with the same inputs interleave
 * identically. `runUntil` lets promise continuations run after every timer;
 * `runInstantsUntil` after every instant (every timer due at one time), which
 * costs one macrotask per instant instead of one per timer.
 *
 * Satisfies `ConsensusClock`, so it is what XState schedules `after` delays
 * on; providers and the simulated network use it too, so there is one time.
 */
export class EventClock implements ConsensusClock {
  private current = 0;
  private sequence = 0;
  private fired = 0;
  /** A binary min-heap on (at, id): ids grow with insertion, which breaks ties. */
  private readonly heap: Timer[] = [];
  /** Ids scheduled and neither fired nor cancelled; heap entries not in it are skipped. */
  private readonly live = new Set<number>();

  now(): number {
    return this.current;
  }

  setTimeout(fn: (...args: any[]) => void, timeout: number): number {
    const delay = Number.isFinite(timeout) && timeout > 0 ? timeout : 0;
    const id = ++this.sequence;
    this.push({ id, at: this.current + delay, fn });
    this.live.add(id);
    return id;
  }

  clearTimeout(id: unknown): void {
    if (typeof id === 'number') this.live.delete(id);
  }

  /** Timers scheduled and not yet fired or cancelled. */
  get pending(): number {
    return this.live.size;
  }

  /** Timers fired so far: a cheap measure of how much happened. */
  get firedCount(): number {
    return this.fired;
  }

  /** When the next timer is due, or `null` when nothing is scheduled. */
  nextDeadline(): number | null {
    this.dropCancelledTop();
    return this.heap.length === 0 ? null : this.heap[0].at;
  }

  /**
   * Advances to the next deadline and fires that one timer (if it is not
   * after `limit`). Returns false when there is nothing to fire by `limit`.
   * Synchronous: the caller drains microtasks afterwards.
   */
  fireNext(limit = Number.POSITIVE_INFINITY): boolean {
    this.dropCancelledTop();
    const top = this.heap[0];
    if (top === undefined || top.at > limit) return false;
    this.pop();
    this.live.delete(top.id);
    this.current = top.at;
    this.fired += 1;
    top.fn();
    return true;
  }

  /**
   * Fires timers in order, draining microtasks after each, until `stop()`
   * holds, no timer is due by `limit`, or `maxEvents` timers fired. Time ends
   * at `limit` when the queue runs dry before it (if `limit` is finite).
   */
  async runUntil(stop: () => boolean, limit = Number.POSITIVE_INFINITY, maxEvents = Number.POSITIVE_INFINITY) {
    await drainMicrotasks();
    let events = 0;
    while (!stop() && events < maxEvents) {
      if (!this.fireNext(limit)) {
        if (Number.isFinite(limit) && limit > this.current) this.current = limit;
        break;
      }
      events += 1;
      await drainMicrotasks();
    }
    return events;
  }

  /**
   * Fires every timer due at the next deadline (if it is not after `limit`),
   * in insertion order, timers set for that same deadline while they fire
   * included, but at most `maxEvents`. Returns how many fired: 0 when nothing
   * is due by `limit`. Synchronous: no promise continuation runs in between.
   */
  fireInstant(limit = Number.POSITIVE_INFINITY, maxEvents = Number.POSITIVE_INFINITY): number {
    this.dropCancelledTop();
    const top = this.heap[0];
    if (top === undefined || top.at > limit) return 0;
    const instant = top.at;
    let fired = 0;
    while (fired < maxEvents) {
      this.dropCancelledTop();
      const next = this.heap[0];
      if (next === undefined || next.at !== instant) break;
      this.pop();
      this.live.delete(next.id);
      this.current = instant;
      this.fired += 1;
      fired += 1;
      next.fn();
    }
    return fired;
  }

  /**
   * As `runUntil`, but fires a whole instant at a time (`fireInstant`) and
   * drains microtasks once after each instant rather than after each timer:
   * what was due at one time happens before any continuation of it, in
   * (deadline, insertion) order, so a run stays deterministic. `afterInstant`
   * runs after each instant's timers and before the drain; `stop()` is asked
   * after the drain. A continuation that sets a timer for the current time
   * makes one more instant at that time. Counts timers, not instants.
   */
  async runInstantsUntil(
    stop: () => boolean,
    limit = Number.POSITIVE_INFINITY,
    maxEvents = Number.POSITIVE_INFINITY,
    afterInstant?: () => void,
    /** Work outside simulated time (a real disk's writes) the next instant must wait for. */
    settle?: () => Promise<void>,
  ): Promise<number> {
    await drainMicrotasks();
    await settle?.();
    let events = 0;
    while (!stop() && events < maxEvents) {
      const fired = this.fireInstant(limit, maxEvents - events);
      if (fired === 0) {
        if (Number.isFinite(limit) && limit > this.current) this.current = limit;
        break;
      }
      events += fired;
      afterInstant?.();
      await drainMicrotasks();
      await settle?.();
    }
    return events;
  }

  private dropCancelledTop(): void {
    while (this.heap.length > 0 && !this.live.has(this.heap[0].id)) this.pop();
  }

  private before(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.id < b.id);
  }

  private push(timer: Timer): void {
    const heap = this.heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop() as Timer;
    if (heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && this.before(heap[left], heap[smallest])) smallest = left;
      if (right < heap.length && this.before(heap[right], heap[smallest])) smallest = right;
      if (smallest === i) return;
      [heap[i], heap[smallest]] = [heap[smallest], heap[i]];
      i = smallest;
    }
  }
}
