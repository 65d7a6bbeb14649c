import type { InspectionEvent } from 'xstate';
import {
  isForwardedInspectionEvent,
  sanitizeEventObject,
  sanitizeSnapshot,
  toStatelyInspectionEvent,
  type StatelyActorEvent,
  type StatelyInspectionEvent,
  type StatelySnapshotEvent,
} from './inspector';

/**
 * Bounds on what the hub forwards per flush: a 16-node cluster produces
 * thousands of inspection events per simulated second, a page redraws at
 * most ten times per wall-clock second, so most of them would be drawn over
 * before anyone saw them.
 */
export interface HubLimits {
  /** Snapshots kept per actor per flush. Consecutive ones in the same top-level state collapse into the last. */
  snapshotsPerSession: number;
  /** `@xstate.event`s kept per actor system per flush (the newest). */
  eventsPerRoot: number;
  /** Actor systems remembered for pages that connect later; the oldest are forgotten first. */
  maxRoots: number;
  /** Live actors remembered in all. */
  maxSessions: number;
}

export const DEFAULT_HUB_LIMITS: Readonly<HubLimits> = Object.freeze({
  snapshotsPerSession: 12,
  eventsPerRoot: 16,
  maxRoots: 64,
  maxSessions: 4_096,
});

interface Pending {
  kind: StatelyInspectionEvent['type'];
  sessionId: string;
  rootId: string;
  /** Sanitizing is the expensive part, so it waits until the flush, for what survived coalescing. */
  make: () => StatelyInspectionEvent | null;
}

interface LiveSession {
  rootId: string;
  actor: StatelyActorEvent;
  snapshot: StatelySnapshotEvent | null;
}

/**
 * Collects inspection events between flushes (from an in-process actor
 * system, or already in the Stately wire format from an app), coalesces and
 * bounds them, and remembers each live actor's registration and latest
 * snapshot so a page that connects late starts from the current picture.
 */
export class InspectionHub {
  private queue: (Pending | null)[] = [];
  /** Per session: queue index and top-level state of its last queued snapshot, and how many it has. */
  private readonly lastSnapshot = new Map<string, { index: number; top: string; count: number }>();
  private readonly eventsByRoot = new Map<string, number[]>();
  private readonly live = new Map<string, LiveSession>();
  private readonly roots: string[] = [];
  private readonly limits: HubLimits;
  private droppedCount = 0;

  constructor(limits: Partial<HubLimits> = {}) {
    this.limits = { ...DEFAULT_HUB_LIMITS, ...limits };
  }

  /** Events dropped by coalescing or the per-flush bounds so far. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** An XState inspection event from this process; `at` stamps it (the simulated time). */
  pushInspection(event: InspectionEvent, at?: number): void {
    if (!isForwardedInspectionEvent(event)) return;
    const sessionId = event.actorRef.sessionId;
    const make = () => toStatelyInspectionEvent(event, at === undefined ? {} : { at });
    const top = event.type === '@xstate.snapshot' ? topStateOf((event.snapshot as { value?: unknown }).value) : '';
    this.enqueue({ kind: event.type, sessionId, rootId: event.rootId, make }, top);
  }

  /**
   * An event an app streamed (e.g. through `createWebSocketInspector`). It is
   * sanitized again: the app may not have done it. Returns false for
   * anything that is not a Stately inspection event.
   */
  pushStately(candidate: unknown): boolean {
    const event = asStatelyEvent(candidate);
    if (event === null) return false;
    const rootId = event.rootId ?? event.sessionId;
    const top = event.type === '@xstate.snapshot' ? topStateOf(event.snapshot.value) : '';
    this.enqueue({ kind: event.type, sessionId: event.sessionId, rootId, make: () => resanitize(event) }, top);
    return true;
  }

  /** Forgets an actor system (a crashed node): its actors are gone and will send nothing more. */
  forgetRoot(rootId: string): void {
    for (const [sessionId, session] of this.live) if (session.rootId === rootId) this.live.delete(sessionId);
    const index = this.roots.indexOf(rootId);
    if (index >= 0) this.roots.splice(index, 1);
    this.queue = this.queue.map((item) => (item !== null && item.rootId === rootId ? null : item));
  }

  /** What arrived since the last drain, coalesced, in arrival order. */
  drain(): StatelyInspectionEvent[] {
    const queue = this.queue;
    this.queue = [];
    this.lastSnapshot.clear();
    this.eventsByRoot.clear();
    const out: StatelyInspectionEvent[] = [];
    for (const item of queue) {
      if (item === null) continue;
      const event = item.make();
      if (event === null) continue;
      this.remember(event, item.rootId);
      out.push(event);
    }
    return out;
  }

  /** Every live actor's registration and latest snapshot: the picture a new page starts from. */
  current(): StatelyInspectionEvent[] {
    const out: StatelyInspectionEvent[] = [];
    for (const session of this.live.values()) {
      out.push(session.actor);
      if (session.snapshot !== null) out.push(session.snapshot);
    }
    return out;
  }

  private enqueue(item: Pending, top: string): void {
    if (item.kind === '@xstate.snapshot') {
      const last = this.lastSnapshot.get(item.sessionId);
      if (last !== undefined && (last.top === top || last.count >= this.limits.snapshotsPerSession)) {
        // The newer snapshot takes the older one's place in the count, and its own place in the order.
        this.queue[last.index] = null;
        last.index = this.queue.length;
        last.top = top;
        this.droppedCount += 1;
        this.queue.push(item);
        return;
      }
      this.lastSnapshot.set(item.sessionId, { index: this.queue.length, top, count: (last?.count ?? 0) + 1 });
    } else if (item.kind === '@xstate.event') {
      let indices = this.eventsByRoot.get(item.rootId);
      if (indices === undefined) this.eventsByRoot.set(item.rootId, (indices = []));
      indices.push(this.queue.length);
      if (indices.length > this.limits.eventsPerRoot) {
        this.queue[indices.shift()!] = null;
        this.droppedCount += 1;
      }
    }
    this.queue.push(item);
  }

  private remember(event: StatelyInspectionEvent, rootId: string): void {
    if (event.type === '@xstate.actor') {
      if (!this.roots.includes(rootId)) {
        this.roots.push(rootId);
        while (this.roots.length > this.limits.maxRoots) this.forgetRoot(this.roots[0]!);
      }
      if (this.live.size >= this.limits.maxSessions) return;
      this.live.set(event.sessionId, { rootId, actor: event, snapshot: null });
    } else if (event.type === '@xstate.snapshot') {
      const session = this.live.get(event.sessionId);
      if (session === undefined) return;
      // A finished actor (a provider call that settled) will not be drawn again.
      if (event.snapshot.status !== 'active') this.live.delete(event.sessionId);
      else session.snapshot = event;
    }
  }
}

/** A state value's top-level state: `'voting'` for `{ voting: 'tallying' }`. */
export function topStateOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) return Object.keys(value)[0] ?? '';
  return '';
}

function asStatelyEvent(candidate: unknown): StatelyInspectionEvent | null {
  if (typeof candidate !== 'object' || candidate === null) return null;
  const event = candidate as Partial<StatelyInspectionEvent>;
  if (typeof event.sessionId !== 'string' || event.sessionId.length === 0 || event.sessionId.length > 256) return null;
  if (event.rootId !== undefined && typeof event.rootId !== 'string') return null;
  switch (event.type) {
    case '@xstate.actor':
    case '@xstate.snapshot':
      return typeof event.snapshot === 'object' && event.snapshot !== null ? (event as StatelyInspectionEvent) : null;
    case '@xstate.event':
      return typeof event.event === 'object' && event.event !== null ? (event as StatelyInspectionEvent) : null;
    default:
      return null;
  }
}

/** Already JSON, but maybe not summarised (rank books arrive whole) nor free of secrets. */
function resanitize(event: StatelyInspectionEvent): StatelyInspectionEvent {
  const base = {
    sessionId: String(event.sessionId),
    rootId: event.rootId,
    createdAt: String(event.createdAt ?? ''),
    id: null,
    _version: String(event._version ?? ''),
    ...(typeof event.at === 'number' ? { at: event.at } : {}),
  };
  switch (event.type) {
    case '@xstate.actor':
      return {
        type: event.type,
        ...base,
        name: String(event.name ?? event.sessionId).slice(0, 256),
        parentId: typeof event.parentId === 'string' ? event.parentId : undefined,
        // The live view does not draw definitions; the Stately inspector gets them from the app directly.
        definition: undefined,
        snapshot: sanitizeSnapshot(event.snapshot),
      };
    case '@xstate.snapshot':
      return { type: event.type, ...base, event: sanitizeEventObject(event.event), snapshot: sanitizeSnapshot(event.snapshot) };
    case '@xstate.event':
      return {
        type: event.type,
        ...base,
        event: sanitizeEventObject(event.event),
        sourceId: typeof event.sourceId === 'string' ? event.sourceId : undefined,
      };
  }
}
