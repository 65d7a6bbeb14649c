import { createHash, type Hash } from 'node:crypto';

export type TraceEventType =
  | 'deliver'
  | 'drop'
  | 'duplicate'
  | 'transition'
  | 'commit'
  | 'attempt'
  | 'sync'
  | 'crash'
  | 'restart'
  | 'partition'
  | 'heal'
  | 'byzantine'
  /** An election role, term or leader change at an honest node. */
  | 'election'
  /** A membership change proposed or committed. */
  | 'membership'
  | 'violation'
  | 'stall';

export interface TraceEvent {
  /** Position in the whole run, from 1. */
  seq: number;
  /** Simulated ms. */
  at: number;
  type: TraceEventType;
  /** The node it happened at, if one. */
  node: string | null;
  detail: string;
}

/** Events kept for a violation report when the caller does not say: enough to see a round. */
export const DEFAULT_TRACE_TAIL = 64;

/**
 * The run's event trace: every event feeds a running SHA-256 (so two runs
 * compare by digest without keeping millions of events), and the last
 * `capacity` events stay in a ring buffer for the report of a violation.
 *
 * A trace constructed with `enabled` false only counts events: it builds no
 * detail (pass the detail as a function to save the work of describing the
 * event), hashes nothing and keeps nothing; `digest()` is then `''` and
 * `tail()` empty. A run whose speed is measured (the rounds bench) uses it.
 */
export class EventTrace {
  private readonly ring: (TraceEvent | undefined)[];
  private readonly hash: Hash | null;
  private count = 0;
  private readonly full: TraceEvent[] | null;

  constructor(
    readonly capacity = DEFAULT_TRACE_TAIL,
    /** Keep every event too (tests compare whole traces); memory grows with the run. */
    keepAll = false,
    /** False: count events only (no detail, no hash, no tail). */
    readonly enabled = true,
  ) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`trace capacity must be >= 1, got ${capacity}`);
    if (keepAll && !enabled) throw new RangeError('a trace that keeps every event must be enabled');
    this.ring = enabled ? new Array(capacity) : [];
    this.hash = enabled ? createHash('sha256') : null;
    this.full = keepAll ? [] : null;
  }

  /**
   * Records one event; `detail` may be a function, called only when the
   * trace is enabled. Returns the event, or null when the trace only counts.
   */
  record(at: number, type: TraceEventType, node: string | null, detail: string | (() => string)): TraceEvent | null {
    this.count += 1;
    if (this.hash === null) return null;
    const event: TraceEvent = { seq: this.count, at, type, node, detail: typeof detail === 'string' ? detail : detail() };
    this.ring[(this.count - 1) % this.capacity] = event;
    this.hash.update(`${event.seq}|${at}|${type}|${node ?? '-'}|${event.detail}\n`);
    this.full?.push(event);
    return event;
  }

  get length(): number {
    return this.count;
  }

  /** The last events, oldest first (none when the trace only counts). */
  tail(limit = this.capacity): TraceEvent[] {
    if (!this.enabled) return [];
    const kept = Math.min(limit, this.capacity, this.count);
    const events: TraceEvent[] = [];
    for (let i = this.count - kept; i < this.count; i += 1) events.push(this.ring[i % this.capacity] as TraceEvent);
    return events;
  }

  /** Every event, when constructed with `keepAll`. */
  all(): readonly TraceEvent[] {
    if (this.full === null) throw new Error('this trace keeps only its tail; construct it with keepAll');
    return this.full;
  }

  /** SHA-256 of every event so far (the trace's fingerprint), `''` when the trace only counts; does not end the trace. */
  digest(): string {
    return this.hash === null ? '' : this.hash.copy().digest('hex');
  }
}
