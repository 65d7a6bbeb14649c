import { assign, createActor, fromPromise, setup } from 'xstate';
import { InspectionHub } from '../../visualizer/inspectionHub';
import type { StatelyInspectionEvent, StatelySnapshotEvent } from '../../visualizer/inspector';
import { REDACTED } from '../../visualizer/sanitize';

const machine = setup({
  types: { context: {} as { ticks: number; votes: Record<string, Record<string, number>>; token: string }, events: {} as { type: 'tick' } | { type: 'go' } },
  actors: { work: fromPromise(async () => 1) },
}).createMachine({
  id: 'toy',
  context: { ticks: 0, votes: { '1': { a: 1, b: 1 } }, token: 'bearer-xyz' },
  initial: 'idle',
  states: {
    idle: { on: { tick: { actions: assign({ ticks: ({ context }) => context.ticks + 1 }) }, go: 'busy' } },
    busy: { invoke: { src: 'work' }, on: { go: 'idle' } },
  },
});

const snapshotsOf = (events: StatelyInspectionEvent[], sessionId: string) =>
  events.filter((e): e is StatelySnapshotEvent => e.type === '@xstate.snapshot' && e.sessionId === sessionId);

describe('InspectionHub', () => {
  test('collapses snapshots within one top-level state into the last, keeping one per state change, in order', () => {
    const hub = new InspectionHub();
    const actor = createActor(machine, { inspect: (event) => hub.pushInspection(event, 5) }).start();
    actor.send({ type: 'tick' });
    actor.send({ type: 'tick' });
    actor.send({ type: 'go' });
    actor.send({ type: 'go' });
    actor.send({ type: 'tick' });
    const snapshots = snapshotsOf(hub.drain(), actor.sessionId);
    expect(snapshots.map((e) => [e.snapshot.value, (e.snapshot.context as { ticks: number }).ticks])).toEqual([
      ['idle', 2],
      ['busy', 2],
      ['idle', 3],
    ]);
    expect(snapshots.every((e) => e.at === 5)).toBe(true);
    expect(hub.dropped).toBeGreaterThan(0);
    actor.stop();
  });

  test('keeps the newest events per actor system per flush', () => {
    const hub = new InspectionHub({ eventsPerRoot: 3 });
    const actor = createActor(machine, { inspect: (event) => hub.pushInspection(event) }).start();
    hub.drain();
    for (let i = 0; i < 10; i += 1) actor.send({ type: 'tick' });
    actor.send({ type: 'go' });
    const events = hub.drain().filter((e) => e.type === '@xstate.event');
    // `go` starts the invoked promise actor, whose init event belongs to the same actor system.
    expect(events.map((e) => [(e.event as { type: string }).type, e.sessionId === actor.sessionId])).toEqual([
      ['tick', true],
      ['go', true],
      ['xstate.init', false],
    ]);
    actor.stop();
  });

  test('remembers each live actor and its latest snapshot for a page that connects later, and forgets finished and forgotten ones', async () => {
    const hub = new InspectionHub();
    const actor = createActor(machine, { inspect: (event) => hub.pushInspection(event) }).start();
    actor.send({ type: 'go' });
    hub.drain();
    const invoked = Object.values(actor.getSnapshot().children)[0]!;
    expect(hub.current().map((e) => [e.type, e.sessionId])).toEqual([
      ['@xstate.actor', actor.sessionId],
      ['@xstate.snapshot', actor.sessionId],
      ['@xstate.actor', invoked.sessionId],
      ['@xstate.snapshot', invoked.sessionId],
    ]);
    await new Promise((resolve) => setImmediate(resolve));
    hub.drain();
    // The promise settled: its actor is done and will not be drawn again.
    expect(hub.current().map((e) => e.sessionId)).toEqual([actor.sessionId, actor.sessionId]);
    hub.forgetRoot(actor.sessionId);
    expect(hub.current()).toEqual([]);
    actor.stop();
  });

  test("sanitizes what an app relays (rank books to counts, secrets redacted) and refuses what is not an inspection event", () => {
    const hub = new InspectionHub();
    const relayed = {
      type: '@xstate.snapshot',
      sessionId: 'x:9',
      rootId: 'x:9',
      createdAt: '1',
      id: null,
      _version: '0.7.2',
      event: { type: 'vote_received', voter: { name: 'n1', privateKey: 'k' } },
      snapshot: { status: 'active', value: { voting: 'tallying' }, context: { activeRank: 3, votes: { '4': { n1: {}, n2: {} } }, apiToken: 't' } },
    };
    expect(hub.pushStately(relayed)).toBe(true);
    expect([null, 1, 'x', { type: '@xstate.snapshot' }, { type: 'other', sessionId: 'x:1' }].map((junk) => hub.pushStately(junk))).toEqual([
      false, false, false, false, false,
    ]);
    expect(hub.drain()).toEqual([
      {
        type: '@xstate.snapshot',
        sessionId: 'x:9',
        rootId: 'x:9',
        createdAt: '1',
        id: null,
        _version: '0.7.2',
        event: { type: 'vote_received', voter: { name: 'n1', privateKey: REDACTED } },
        snapshot: { status: 'active', value: { voting: 'tallying' }, context: { activeRank: 3, votes: { '4': 2 }, apiToken: REDACTED } },
      },
    ]);
  });
});
