import { Actor } from 'xstate';
import { LedgerStore } from '../examples/ledger/LedgerStore';
import type { LedgerFrame } from '../examples/ledger/types';

/**
 * Counters for the rounds bench, taken without touching the engine or the
 * simulator (whose `inspect` option `runSimulation` does not expose): for the
 * length of one run, three prototype methods are wrapped with a counter and
 * put back afterwards.
 *
 * - XState events: `Actor.prototype._send`, through which every event reaches
 *   an actor's mailbox, counted when the actor is a state machine: an app's
 *   `send`, a delayed (`after`) event, a child's done or error event,
 *   `sendTo`/`sendParent` between machines. Each is one macrostep of a
 *   machine, what the floor's `usPerSend` times. Not counted: events a
 *   machine `raise`s (handled inside the macrostep that raised them) and the
 *   events a promise actor sends itself when its promise settles (part of
 *   an invoke's cost, which the floor's `usPerInvoke` times).
 * - Child actors: `Actor.prototype.start` on an actor with a parent: every
 *   invoked (or spawned) actor, promise actors (the providers, the storage)
 *   and callback actors alike.
 * - Payloads: `LedgerStore.prototype.append`, which every ledger node calls
 *   with each frame it finalizes; the entries of the first frame appended at
 *   each height are the payloads committed there (every honest node appends
 *   the same frame at a height).
 *
 * `_send` is internal to XState: if a release renames it, `events` is null
 * and the bench falls back on the simulator's own event count.
 *
 * The wrappers cost an increment and a call each (tens of ns, against a
 * floor of µs per event), so the run they count is also the run timed.
 */
export interface RunCounts {
  /** Events delivered to state machines' mailboxes, or null if `Actor.prototype._send` is not there to count them. */
  events: number | null;
  /** Child actors started. */
  childActors: number;
  /** Entries of the frame finalized at each height, by height. */
  payloadsByHeight: ReadonlyMap<number, number>;
}

type Method = (this: unknown, ...args: unknown[]) => unknown;

export async function countDuring<T>(run: () => Promise<T>): Promise<{ result: T; counts: RunCounts }> {
  const actorProto = Actor.prototype as unknown as Record<string, Method>;
  const storeProto = LedgerStore.prototype as unknown as Record<string, Method>;
  const originalSend = actorProto._send;
  const originalStart = actorProto.start;
  const originalAppend = storeProto.append;
  let events = 0;
  let childActors = 0;
  const payloadsByHeight = new Map<number, number>();
  const canCountEvents = typeof originalSend === 'function';
  if (canCountEvents) {
    actorProto._send = function countedSend(this: unknown, ...args: unknown[]) {
      // A machine's logic has a root state node; a promise's or a callback's has none.
      if ((this as { logic?: { root?: unknown } }).logic?.root !== undefined) events += 1;
      return originalSend.apply(this, args);
    };
  }
  actorProto.start = function countedStart(this: unknown, ...args: unknown[]) {
    if ((this as { _parent?: unknown })._parent !== undefined) childActors += 1;
    return originalStart.apply(this, args);
  };
  storeProto.append = function countedAppend(this: unknown, ...args: unknown[]) {
    const frame = args[0] as LedgerFrame;
    if (!payloadsByHeight.has(frame.height)) payloadsByHeight.set(frame.height, frame.entries.length);
    return originalAppend.apply(this, args);
  };
  try {
    const result = await run();
    return { result, counts: { events: canCountEvents ? events : null, childActors, payloadsByHeight } };
  } finally {
    if (canCountEvents) actorProto._send = originalSend;
    actorProto.start = originalStart;
    storeProto.append = originalAppend;
  }
}
