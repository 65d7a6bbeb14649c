import type { AnyActorRef, InspectionEvent } from 'xstate';
import {
  FORWARDED_INSPECTION_TYPES,
  sanitizeInspectionEvent,
  STATELY_INSPECT_VERSION,
  toStatelyInspectionEvent,
  type StatelyActorEvent,
  withSanitizedInspection,
} from '../../visualizer/inspector';
import { REDACTED } from '../../visualizer/sanitize';
import { heartbeat, solo, type Solo } from '../node/soloNode';
import { Peer } from '../support/fixtures';

/** A member id that carries key material, as an app's peer type might. */
class KeyedPeer extends Peer {
  constructor(
    name: string,
    readonly privateKey: string,
  ) {
    super(name);
  }
  override clone() {
    return new KeyedPeer(this.name, this.privateKey) as this;
  }
}

const SECRET = 'PRIVATE-KEY-0123456789';

/** A node n1 (whose id carries SECRET) that hears n2 lead and runs a round, with two observers: raw and sanitized. */
async function inspectedNode(): Promise<{ solo: Solo; raw: InspectionEvent[]; sanitized: InspectionEvent[] }> {
  const raw: InspectionEvent[] = [];
  const sanitized: InspectionEvent[] = [];
  const wrapped = withSanitizedInspection({ next: (event) => sanitized.push(event) });
  const node = await solo({
    config: {
      id: new KeyedPeer('n1', SECRET),
      inspect: (event) => {
        raw.push(event);
        wrapped.next!(event);
      },
    },
  });
  await node.deliver('n2', heartbeat('n2', 1));
  await node.advance(60);
  return { solo: node, raw, sanitized };
}

const json = (event: InspectionEvent) =>
  JSON.stringify({
    snapshot: 'snapshot' in event ? event.snapshot : undefined,
    event: 'event' in event ? event.event : undefined,
    actorSnapshot: event.type === '@xstate.actor' ? event.actorRef.getSnapshot() : undefined,
  });

describe('withSanitizedInspection on an embedded node', () => {
  let run: Awaited<ReturnType<typeof inspectedNode>>;
  beforeAll(async () => {
    run = await inspectedNode();
  });
  afterAll(() => run.solo.node.actor.stop());

  test('forwards actor, snapshot and event inspections of the node, round and election actors, and nothing else', () => {
    const types = new Set(run.sanitized.map((event) => event.type));
    expect([...types].sort()).toEqual([...FORWARDED_INSPECTION_TYPES].sort());
    // The raw stream also has microsteps and actions: they carry raw contexts and action parameters.
    expect(run.raw.some((event) => event.type === '@xstate.microstep')).toBe(true);
    expect(run.raw.some((event) => event.type === '@xstate.action')).toBe(true);
    const forwarded = run.raw.filter((event) => (FORWARDED_INSPECTION_TYPES as readonly string[]).includes(event.type));
    expect(run.sanitized).toHaveLength(forwarded.length);
    const actors = run.sanitized.filter((event) => event.type === '@xstate.actor').map((event) => (event.actorRef as AnyActorRef).id);
    expect(actors.slice(0, 4)).toEqual([run.solo.node.actor.id, 'round', 'election', 'electionRelay']);
  });

  test("no secret reaches the observer, although the node's own context still holds it", () => {
    expect(run.raw.some((event) => json(event).includes(SECRET))).toBe(true);
    expect(run.sanitized.filter((event) => json(event).includes(SECRET))).toEqual([]);
    expect(run.solo.node.roundActor.getSnapshot().context.self).toMatchObject({ privateKey: SECRET });
  });

  test("an actor's getSnapshot() seen through an inspection event is the sanitized one", () => {
    const round = run.sanitized.find((event) => event.type === '@xstate.actor' && (event.actorRef as AnyActorRef).id === 'round')!;
    const snapshot = round.actorRef.getSnapshot() as { context: { self: unknown; proposals: unknown } };
    expect(snapshot.context.self).toEqual({ name: 'n1', privateKey: REDACTED });
    expect(round.actorRef.sessionId).toBe(run.solo.node.roundActor.sessionId);
  });

  test('every forwarded snapshot and event is plain data: no functions, no class instances', () => {
    const payloads = (event: InspectionEvent) => [
      'snapshot' in event ? event.snapshot : undefined,
      'event' in event ? event.event : undefined,
      event.type === '@xstate.actor' ? event.actorRef.getSnapshot() : undefined,
    ];
    expect(run.sanitized.flatMap((event) => payloads(event).flatMap((value) => notPlain(value)))).toEqual([]);
    // The raw stream is full of them (peers, frames, snapshot methods).
    expect(run.raw.flatMap((event) => payloads(event).flatMap((value) => notPlain(value))).length).toBeGreaterThan(0);
  });
});

/** Paths inside `value` holding a function or an object that is not a plain object or array. */
function notPlain(value: unknown, path = '$', seen = new Set<object>()): string[] {
  if (typeof value === 'function') return [path];
  if (typeof value !== 'object' || value === null || seen.has(value)) return [];
  seen.add(value);
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== Array.prototype && proto !== null) return [path];
  return Object.entries(value).flatMap(([key, item]) => notPlain(item, `${path}.${key}`, seen));
}

describe('toStatelyInspectionEvent', () => {
  let run: Awaited<ReturnType<typeof inspectedNode>>;
  beforeAll(async () => {
    run = await inspectedNode();
  });
  afterAll(() => run.solo.node.actor.stop());

  const convert = (event: InspectionEvent) => toStatelyInspectionEvent(event, { at: 7 })!;

  test('writes @xstate.actor with the fields @statelyai/inspect sends: root named by its machine id, children by invoke id', () => {
    const actors = run.raw.filter((event) => event.type === '@xstate.actor').map((event) => convert(event) as StatelyActorEvent);
    const rootId = run.solo.node.actor.sessionId;
    expect(actors.slice(0, 3).map(({ name, sessionId, parentId, rootId: root }) => ({ name, sessionId, parentId, rootId: root }))).toEqual([
      { name: 'node', sessionId: rootId, parentId: undefined, rootId },
      { name: 'round', sessionId: run.solo.node.roundActor.sessionId, parentId: rootId, rootId },
      { name: 'election', sessionId: run.solo.node.electionActor.sessionId, parentId: rootId, rootId },
    ]);
    expect(Object.keys(actors[1]!).sort()).toEqual(
      ['_version', 'at', 'createdAt', 'definition', 'id', 'name', 'parentId', 'rootId', 'sessionId', 'snapshot', 'type'].sort(),
    );
    expect(actors[1]).toMatchObject({ type: '@xstate.actor', id: null, _version: STATELY_INSPECT_VERSION, at: 7 });
    expect(JSON.parse(actors[1]!.definition!)).toMatchObject({ id: 'round', initial: 'stopped' });
  });

  test('writes @xstate.snapshot and @xstate.event with sanitized payloads', () => {
    const snapshots = run.raw.filter((event) => event.type === '@xstate.snapshot').map(convert);
    const events = run.raw.filter((event) => event.type === '@xstate.event').map(convert);
    expect(snapshots.length).toBeGreaterThan(0);
    expect(events.length).toBeGreaterThan(0);
    expect(Object.keys(snapshots[0]!).sort()).toEqual(['_version', 'at', 'createdAt', 'event', 'id', 'rootId', 'sessionId', 'snapshot', 'type']);
    expect(Object.keys(events[0]!).sort()).toEqual(['_version', 'at', 'createdAt', 'event', 'id', 'rootId', 'sessionId', 'sourceId', 'type']);
    const heard = events.find((event) => event.type === '@xstate.event' && (event.event as { type: string }).type === 'election_message');
    expect(heard).toMatchObject({ event: { type: 'election_message', from: 'n2', message: { type: 'heartbeat', term: 1, leaderId: 'n2' } } });
    expect([...snapshots, ...events].filter((event) => JSON.stringify(event).includes(SECRET))).toEqual([]);
  });

  test('returns null for inspection types the Stately inspector does not read', () => {
    const microstep = run.raw.find((event) => event.type === '@xstate.microstep')!;
    expect(toStatelyInspectionEvent(microstep)).toBeNull();
    expect(sanitizeInspectionEvent(microstep)).toBeNull();
    const action = { type: '@xstate.action', actorRef: {} as AnyActorRef, rootId: 'x', action: { type: 'a', params: { secret: 1 } } } as InspectionEvent;
    expect(sanitizeInspectionEvent(action)).toBeNull();
  });
});
