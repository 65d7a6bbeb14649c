import type { AnyActorRef, AnyEventObject, InspectionEvent, Observer } from 'xstate';
import { resolveSanitizeOptions, sanitizeContext, sanitizeValue, type SanitizeOptions } from './sanitize';

/**
 * Inspection for the Stately inspector (`@statelyai/inspect`, XState v5's)
 * and for the offline live view, which reads the same events.
 *
 * Watch an embedded node in the Stately inspector:
 *
 * ```ts
 * import { createBrowserInspector } from '@statelyai/inspect'; // or createWebSocketInspector({ url })
 * const inspector = createBrowserInspector();
 * const node = createNode({ ...config, inspect: withSanitizedInspection(inspector.inspect) });
 * ```
 */

/** Anything XState's `inspect` option takes. */
export type InspectionObserver = Observer<InspectionEvent> | ((event: InspectionEvent) => void);

/** The inspection events the Stately inspector and the live view read; the others are not forwarded. */
export const FORWARDED_INSPECTION_TYPES = ['@xstate.actor', '@xstate.snapshot', '@xstate.event'] as const;
type ForwardedInspectionEvent = Extract<InspectionEvent, { type: (typeof FORWARDED_INSPECTION_TYPES)[number] }>;

/** The `_version` the Stately inspector expects on every event: the `@statelyai/inspect` this speaks for. */
export const STATELY_INSPECT_VERSION = '0.7.2';

/** A snapshot as it may be streamed: plain data, its context sanitized. */
export interface SanitizedSnapshot {
  status: string;
  value?: unknown;
  context?: unknown;
  output?: unknown;
  error?: unknown;
  input?: unknown;
  /** Child actors by id, as XState's `ActorRef.toJSON()` writes them. */
  children?: Record<string, { xstate$$type: 1; id: string }>;
}

interface StatelyBase {
  sessionId: string;
  rootId: string | undefined;
  createdAt: string;
  id: null;
  _version: string;
  /** Simulated ms when the event happened, when the source knows (the live view's cluster does). */
  at?: number;
}

/** `@xstate.actor` as `@statelyai/inspect` sends it: an actor came to life. */
export interface StatelyActorEvent extends StatelyBase {
  type: '@xstate.actor';
  name: string;
  parentId: string | undefined;
  definition: string | undefined;
  snapshot: SanitizedSnapshot;
}

/** `@xstate.snapshot`: an actor's new snapshot and the event that led to it. */
export interface StatelySnapshotEvent extends StatelyBase {
  type: '@xstate.snapshot';
  event: unknown;
  snapshot: SanitizedSnapshot;
}

/** `@xstate.event`: an event delivered to an actor (`sourceId`: who sent it). */
export interface StatelyEventEvent extends StatelyBase {
  type: '@xstate.event';
  event: unknown;
  sourceId: string | undefined;
}

export type StatelyInspectionEvent = StatelyActorEvent | StatelySnapshotEvent | StatelyEventEvent;

export function isForwardedInspectionEvent(event: InspectionEvent): event is ForwardedInspectionEvent {
  return (FORWARDED_INSPECTION_TYPES as readonly string[]).includes(event.type);
}

/** A snapshot as plain data: machine, promise, callback or any other actor's. */
export function sanitizeSnapshot(snapshot: unknown, options: Partial<SanitizeOptions> = {}): SanitizedSnapshot {
  const resolved = resolveSanitizeOptions(options);
  if (typeof snapshot !== 'object' || snapshot === null) return { status: 'active' };
  const source = snapshot as Record<string, unknown>;
  const result: SanitizedSnapshot = { status: typeof source.status === 'string' ? source.status : 'active' };
  if ('value' in source) result.value = sanitizeValue(source.value, resolved);
  if ('context' in source && source.context !== undefined) result.context = sanitizeContext(source.context, resolved);
  if (source.output !== undefined) result.output = sanitizeValue(source.output, resolved);
  if (source.error !== undefined) result.error = sanitizeValue(source.error, resolved);
  if (source.input !== undefined) result.input = sanitizeValue(source.input, resolved);
  if (typeof source.children === 'object' && source.children !== null) {
    const children: Record<string, { xstate$$type: 1; id: string }> = {};
    for (const key of Object.keys(source.children).slice(0, resolved.maxObjectEntries)) children[key] = { xstate$$type: 1, id: key };
    result.children = children;
  }
  return result;
}

/** An event as it may be streamed; its `type` survives whatever else is cut. */
export function sanitizeEventObject(event: unknown, options: Partial<SanitizeOptions> = {}): AnyEventObject {
  const sanitized = sanitizeValue(event, options);
  const type = typeof (event as { type?: unknown } | null)?.type === 'string' ? (event as { type: string }).type : 'unknown';
  return { ...(typeof sanitized === 'object' && sanitized !== null ? sanitized : {}), type };
}

const facades = new WeakMap<AnyActorRef, Map<string, AnyActorRef>>();

/**
 * The actor as an inspector sees it: every member is the real actor's (bound
 * to it), except `getSnapshot()`, which returns the sanitized snapshot. The
 * Stately inspector reads an actor's snapshot when it converts `@xstate.actor`,
 * so this is where that read is intercepted.
 */
function sanitizedActorRef(actorRef: AnyActorRef, options: SanitizeOptions, key: string): AnyActorRef {
  let byOptions = facades.get(actorRef);
  if (byOptions === undefined) facades.set(actorRef, (byOptions = new Map()));
  const cached = byOptions.get(key);
  if (cached !== undefined) return cached;
  const facade = new Proxy(actorRef, {
    get(target, property) {
      if (property === 'getSnapshot') return () => sanitizeSnapshot(target.getSnapshot(), options);
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  byOptions.set(key, facade);
  return facade;
}

/**
 * The same inspection event with nothing unsafe left in it: snapshots (also
 * the one `actorRef.getSnapshot()` returns) and events sanitized. Returns null
 * for the inspection types the Stately inspector ignores (`@xstate.microstep`,
 * `@xstate.action`, `@xstate.transition`): they carry raw contexts and action
 * parameters, so they are not forwarded at all.
 */
export function sanitizeInspectionEvent(
  event: InspectionEvent,
  options: Partial<SanitizeOptions> = {},
): InspectionEvent | null {
  if (!isForwardedInspectionEvent(event)) return null;
  const resolved = resolveSanitizeOptions(options);
  const key = optionsKey(options);
  const actorRef = sanitizedActorRef(event.actorRef as AnyActorRef, resolved, key);
  switch (event.type) {
    case '@xstate.actor':
      return { ...event, actorRef };
    case '@xstate.snapshot':
      return {
        ...event,
        actorRef,
        event: sanitizeEventObject(event.event, resolved),
        snapshot: sanitizeSnapshot(event.snapshot, resolved) as unknown as typeof event.snapshot,
      };
    case '@xstate.event':
      return {
        ...event,
        actorRef,
        sourceRef: event.sourceRef === undefined ? undefined : sanitizedActorRef(event.sourceRef as AnyActorRef, resolved, key),
        event: sanitizeEventObject(event.event, resolved),
      };
  }
}

/**
 * Wraps an inspection observer (e.g. `@statelyai/inspect`'s `inspector.inspect`)
 * so that it only ever sees sanitized events; pass the result as `inspect` to
 * `createNode`, `createConsensusEngine` or `createActor`.
 */
export function withSanitizedInspection(
  inspect: InspectionObserver,
  options: Partial<SanitizeOptions> = {},
): Observer<InspectionEvent> {
  const observer = typeof inspect === 'function' ? { next: inspect } : inspect;
  return {
    next(event) {
      const sanitized = sanitizeInspectionEvent(event, options);
      if (sanitized !== null) observer.next?.(sanitized);
    },
    error: (error) => observer.error?.(error),
    complete: () => observer.complete?.(),
  };
}

export interface StatelyConversionOptions extends Partial<SanitizeOptions> {
  /** Stamps the event with `at`, e.g. the simulated clock's time. */
  at?: number;
}

/**
 * The JSON `@statelyai/inspect` would send for an XState inspection event
 * (same types and fields; see its `convertXStateEvent`), sanitized. The live
 * view's server uses it to stream its in-process cluster without depending
 * on that ES-module-only package.
 *
 * XState announces an actor (`@xstate.actor`) before its first snapshot
 * exists, and the event carries the actor's *current* snapshot; like
 * `@statelyai/inspect`, convert it a moment later (a zero-delay timer, or a
 * batch flush) or its snapshot is just `{ status: 'active' }`.
 */
export function toStatelyInspectionEvent(
  event: InspectionEvent,
  options: StatelyConversionOptions = {},
): StatelyInspectionEvent | null {
  if (!isForwardedInspectionEvent(event)) return null;
  const resolved = resolveSanitizeOptions(options);
  const actorRef = event.actorRef as AnyActorRef & { _parent?: AnyActorRef; logic?: { config?: unknown } };
  const base = {
    sessionId: actorRef.sessionId,
    rootId: event.rootId,
    createdAt: Date.now().toString(),
    id: null,
    _version: STATELY_INSPECT_VERSION,
    ...(options.at === undefined ? {} : { at: options.at }),
  };
  switch (event.type) {
    case '@xstate.actor': {
      const config = actorRef.logic?.config as { id?: unknown } | undefined;
      const name = actorRef.id === actorRef.sessionId && typeof config?.id === 'string' ? config.id : actorRef.id;
      return {
        type: '@xstate.actor',
        ...base,
        name,
        parentId: actorRef._parent?.sessionId,
        definition: definitionOf(config, name),
        snapshot: sanitizeSnapshot(actorRef.getSnapshot(), resolved),
      };
    }
    case '@xstate.snapshot':
      return {
        type: '@xstate.snapshot',
        ...base,
        event: sanitizeEventObject(event.event, resolved),
        snapshot: sanitizeSnapshot(event.snapshot, resolved),
      };
    case '@xstate.event':
      return {
        type: '@xstate.event',
        ...base,
        event: sanitizeEventObject(event.event, resolved),
        sourceId: event.sourceRef?.sessionId,
      };
  }
}

/** Machine definitions are static, so each is serialised once. */
const definitions = new WeakMap<object, string>();
const DEFINITION_DEPTH = 10;

/**
 * A machine's config as JSON, the way the Stately inspector sends it
 * (functions as `{ type: name }`, nesting cut at depth 10), or just the name
 * for actors that are not machines.
 */
function definitionOf(config: unknown, name: string): string {
  if (typeof config !== 'object' || config === null) return JSON.stringify({ id: name });
  let json = definitions.get(config);
  if (json === undefined) {
    json = JSON.stringify(plainDefinition(config, 0, new Set()));
    definitions.set(config, json);
  }
  return json;
}

function plainDefinition(value: unknown, depth: number, ancestors: Set<object>): unknown {
  if (typeof value === 'function') return { type: value.name };
  if (typeof value !== 'object' || value === null) return typeof value === 'bigint' || typeof value === 'symbol' ? String(value) : value;
  if (depth >= DEFINITION_DEPTH || ancestors.has(value)) return '[…]';
  ancestors.add(value);
  try {
    if (Array.isArray(value)) return value.map((item) => plainDefinition(item, depth + 1, ancestors));
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) result[key] = plainDefinition(item, depth + 1, ancestors);
    return result;
  } finally {
    ancestors.delete(value);
  }
}

function optionsKey(options: Partial<SanitizeOptions>): string {
  const entries = Object.entries(options).map(([key, value]) => [key, value instanceof RegExp ? value.toString() : value]);
  return JSON.stringify(entries);
}

/**
 * The part of `@statelyai/inspect` this package uses. The visualizer's bundle
 * carries its own copy of it, and the published declarations name only this
 * much, so they need nothing installed beyond the engine's dependencies. An
 * app that wants the rest (the browser inspector, say) installs
 * `@statelyai/inspect` itself.
 */
export interface StatelyInspectModule {
  createWebSocketInspector(options: { url: string; maxDeferredEvents?: number; autoStart?: boolean }): StatelyWebSocketInspector;
}

export interface StatelyWebSocketInspector {
  /** Its connection; `status`, not part of its typed API, says when the socket is open. */
  readonly adapter: unknown;
  /** For an actor's `inspect` option. */
  readonly inspect: Observer<InspectionEvent>;
  start(): void;
  stop(): void;
}

/**
 * `@statelyai/inspect`, loaded the only way an ES-module-only package loads
 * from CommonJS: a real `import()`. It therefore works in Node and in the
 * built CLI, but not inside Jest's CommonJS sandbox (run it in a child process there).
 */
export function loadStatelyInspect(): Promise<StatelyInspectModule> {
  // The module's own types are checked against StatelyInspectModule here.
  return import('@statelyai/inspect');
}
