import {
  BarrierService,
  DEFAULT_BARRIER_TIMEOUT_MS,
  MAX_BARRIERS,
  MAX_PARTICIPANTS,
  requiredArrivals,
  type BarrierEvent,
  type BarrierView,
} from '../../services';
import { eventsOf, expectRefused, LogDriver, taken } from './driver';

/** Barriers alone: full, partial, timed and cascading, membership changes, generations and every refusal. */

function board(): LogDriver<unknown, unknown> {
  return new LogDriver(new BarrierService() as never);
}

const create = (barrier: string, participants: string[], options: Record<string, unknown> = {}) => ({
  op: 'create',
  barrier,
  participants,
  ...options,
});
const arrive = (barrier: string, participant: string, generation?: number) =>
  generation === undefined ? { op: 'arrive', barrier, participant } : { op: 'arrive', barrier, participant, generation };

function view(barriers: LogDriver<unknown, unknown>, barrier: string): BarrierView {
  return taken<BarrierView>(barriers.machine.query({ op: 'get', barrier }));
}

function types(result: unknown): string[] {
  return eventsOf<BarrierEvent>(result).map((event) => `${event.type}:${event.barrier}:${event.generation}`);
}

describe('full and partial barriers', () => {
  test('a full barrier releases its generation when every participant has arrived, then opens the next', () => {
    const barriers = board();
    expect(taken(barriers.apply(create('B', ['a', 'b', 'c'])))).toEqual({ barrier: 'B', generation: 1, open: true, required: 3 });
    expect(taken(barriers.apply(arrive('B', 'a')))).toEqual({ status: 'waiting', generation: 1, arrived: 1, required: 3 });
    expect(taken(barriers.apply(arrive('B', 'a')))).toEqual({ status: 'waiting', generation: 1, arrived: 1, required: 3 });
    barriers.apply(arrive('B', 'c'));
    const last = barriers.apply(arrive('B', 'b'), 7);
    expect(last).toEqual({
      ok: true,
      value: { status: 'released', generation: 1, arrived: 3, required: 3 },
      events: [
        { type: 'barrier_released', barrier: 'B', generation: 1, reason: 'arrivals', arrived: ['a', 'c', 'b'] },
        { type: 'barrier_opened', barrier: 'B', generation: 2, deadline: 7 + DEFAULT_BARRIER_TIMEOUT_MS },
      ],
    });
    expect(view(barriers, 'B')).toMatchObject({ generation: 2, arrived: [], open: true, last: { generation: 1, outcome: 'released' } });
  });

  test('a partial barrier releases at its threshold: 0.75 of 4 participants is 3', () => {
    const barriers = board();
    barriers.apply(create('P', ['a', 'b', 'c', 'd'], { threshold: 0.75 }));
    barriers.apply(arrive('P', 'a'));
    barriers.apply(arrive('P', 'b'));
    expect(taken(barriers.apply(arrive('P', 'c')))).toMatchObject({ status: 'released', generation: 1, required: 3 });
  });

  test.each([
    [1, 4, 4],
    [0.75, 4, 3],
    [0.7, 10, 7],
    [0.5, 3, 2],
    [0.01, 3, 1],
  ])('threshold %d of %d participants needs %d arrivals', (threshold, participants, required) => {
    expect(requiredArrivals(threshold, participants)).toBe(required);
  });

  test('an arrival may name its generation; one meant for a generation that ended is refused', () => {
    const barriers = board();
    barriers.apply(create('B', ['a'], { timeoutMs: 100 }), 0);
    barriers.apply({ op: 'tick' }, 100);
    expectRefused(barriers, arrive('B', 'a', 1), 'wrong_generation');
    expect(taken(barriers.apply(arrive('B', 'a', 2)))).toMatchObject({ status: 'released', generation: 2 });
  });
});

describe('participants join and leave', () => {
  test('a joiner raises what a generation needs; a leaver may complete it', () => {
    const barriers = board();
    barriers.apply(create('B', ['a', 'b']));
    barriers.apply(arrive('B', 'a'));
    expect(taken(barriers.apply({ op: 'join', barrier: 'B', participant: 'c' }))).toEqual({
      status: 'waiting',
      generation: 1,
      arrived: 1,
      required: 3,
    });
    barriers.apply(arrive('B', 'c'));
    const left = barriers.apply({ op: 'leave', barrier: 'B', participant: 'b' });
    expect(taken(left)).toEqual({ status: 'released', generation: 1, arrived: 2, required: 2 });
    expect(view(barriers, 'B').participants).toEqual(['a', 'c']);
  });

  test('a leaver that had arrived is no longer counted', () => {
    const barriers = board();
    barriers.apply(create('B', ['a', 'b', 'c']));
    barriers.apply(arrive('B', 'a'));
    barriers.apply({ op: 'leave', barrier: 'B', participant: 'a' });
    expect(view(barriers, 'B')).toMatchObject({ arrived: [], required: 2 });
  });
});

describe('timed barriers', () => {
  test('by default a generation that is not complete 30 s after it opened fails', () => {
    const barriers = board();
    barriers.apply(create('T', ['a', 'b']), 1_000);
    barriers.apply(arrive('T', 'a'), 2_000);
    expect(types(barriers.apply({ op: 'tick' }, 30_999))).toEqual([]);
    const expired = barriers.apply({ op: 'tick' }, 31_000);
    expect(eventsOf<BarrierEvent>(expired)[0]).toEqual({
      type: 'barrier_failed',
      barrier: 'T',
      generation: 1,
      reason: 'timeout',
      arrived: ['a'],
    });
    expect(view(barriers, 'T')).toMatchObject({ generation: 2, open: true, deadline: 61_000, last: { outcome: 'failed', reason: 'timeout' } });
  });

  test("with onTimeout 'release', the deadline releases the generation with whoever arrived", () => {
    const barriers = board();
    barriers.apply(create('T', ['a', 'b'], { timeoutMs: 500, onTimeout: 'release' }), 0);
    barriers.apply(arrive('T', 'b'), 10);
    expect(eventsOf<BarrierEvent>(barriers.apply({ op: 'tick' }, 500))[0]).toMatchObject({
      type: 'barrier_released',
      reason: 'timeout',
      arrived: ['b'],
    });
  });

  test('a barrier with timeoutMs null waits without limit', () => {
    const barriers = board();
    barriers.apply(create('B', ['a', 'b'], { timeoutMs: null }), 0);
    barriers.apply({ op: 'tick' }, 86_400_000 * 365);
    expect(view(barriers, 'B')).toMatchObject({ generation: 1, open: true, deadline: null });
  });

  test('an arrival at an entry past the deadline counts for the next generation', () => {
    const barriers = board();
    barriers.apply(create('B', ['a', 'b'], { timeoutMs: 100 }), 0);
    barriers.apply(arrive('B', 'a'), 50);
    expect(taken(barriers.apply(arrive('B', 'b'), 100))).toEqual({ status: 'waiting', generation: 2, arrived: 1, required: 2 });
  });
});

describe('cascading stages', () => {
  test('stage 2 opens generation g only when stage 1 releases it', () => {
    const barriers = board();
    barriers.apply(create('s1', ['a', 'b']));
    expect(taken(barriers.apply(create('s2', ['a', 'b'], { after: 's1' })))).toMatchObject({ generation: 1, open: false });
    expectRefused(barriers, arrive('s2', 'a'), 'barrier_not_open');
    barriers.apply(arrive('s1', 'a'));
    const released = barriers.apply(arrive('s1', 'b'), 5);
    expect(types(released)).toEqual(['barrier_released:s1:1', 'barrier_opened:s2:1']);
    // Stage 1 does not run ahead: its generation 2 waits for stage 2 to finish generation 1.
    expect(view(barriers, 's1')).toMatchObject({ generation: 2, open: false });
    expectRefused(barriers, arrive('s1', 'a'), 'barrier_not_open');
    barriers.apply(arrive('s2', 'a'));
    expect(types(barriers.apply(arrive('s2', 'b')))).toEqual(['barrier_released:s2:1', 'barrier_opened:s1:2']);
    expect(view(barriers, 's2')).toMatchObject({ generation: 2, open: false });
  });

  test('a failed generation fails the same generation of every later stage', () => {
    const barriers = board();
    barriers.apply(create('s1', ['a'], { timeoutMs: 100 }), 0);
    barriers.apply(create('s2', ['a'], { after: 's1' }), 0);
    barriers.apply(create('s3', ['a'], { after: 's2' }), 0);
    const failed = barriers.apply({ op: 'tick' }, 100);
    expect(types(failed)).toEqual(['barrier_failed:s1:1', 'barrier_failed:s2:1', 'barrier_failed:s3:1', 'barrier_opened:s1:2']);
    expect(eventsOf<BarrierEvent>(failed)[1]).toMatchObject({ reason: 'predecessor_failed' });
  });

  test('a stage that is followed cannot be deleted; deleting the follower first frees it', () => {
    const barriers = board();
    barriers.apply(create('s1', ['a']));
    barriers.apply(create('s2', ['a'], { after: 's1' }));
    expectRefused(barriers, { op: 'delete', barrier: 's1' }, 'has_successors');
    barriers.apply(arrive('s1', 'a'));
    expect(view(barriers, 's1').open).toBe(false);
    expect(types(barriers.apply({ op: 'delete', barrier: 's2' }))).toEqual(['barrier_deleted:s2:1', 'barrier_opened:s1:2']);
  });

  test('a stage must follow a barrier that exists', () => {
    expectRefused(board(), create('s2', ['a'], { after: 's1' }), 'unknown_barrier');
  });
});

describe('bounds and refusals', () => {
  test(`at most ${MAX_BARRIERS} barriers`, () => {
    const barriers = board();
    for (let i = 0; i < MAX_BARRIERS; i += 1) barriers.apply(create(`B${i}`, ['a']));
    expectRefused(barriers, create('one-more', ['a']), 'too_many_barriers');
  });

  test(`at most ${MAX_PARTICIPANTS} participants`, () => {
    const barriers = board();
    const names = Array.from({ length: MAX_PARTICIPANTS }, (_, i) => `p${i}`);
    barriers.apply(create('B', names));
    expectRefused(barriers, { op: 'join', barrier: 'B', participant: 'late' }, 'too_many_participants');
    expectRefused(barriers, create('C', [...names, 'late']), 'invalid_command');
  });

  test('each refusal leaves the barriers as they were', () => {
    const barriers = board();
    barriers.apply(create('B', ['a', 'b']));
    expectRefused(barriers, create('B', ['a']), 'barrier_exists');
    expectRefused(barriers, arrive('C', 'a'), 'unknown_barrier');
    expectRefused(barriers, { op: 'delete', barrier: 'C' }, 'unknown_barrier');
    expectRefused(barriers, { op: 'join', barrier: 'C', participant: 'a' }, 'unknown_barrier');
    expectRefused(barriers, arrive('B', 'z'), 'not_participant');
    expectRefused(barriers, { op: 'leave', barrier: 'B', participant: 'z' }, 'not_participant');
    barriers.apply({ op: 'leave', barrier: 'B', participant: 'b' });
    expectRefused(barriers, { op: 'leave', barrier: 'B', participant: 'a' }, 'last_participant');
    expect(barriers.machine.query({ op: 'get', barrier: 'C' })).toMatchObject({ ok: false, error: { code: 'unknown_barrier' } });
  });

  test.each([
    ['no participants', create('B', [])],
    ['a participant twice', create('B', ['a', 'a'])],
    ['a threshold of 0', create('B', ['a'], { threshold: 0 })],
    ['a threshold above 1', create('B', ['a'], { threshold: 1.5 })],
    ['a timeout of 0', create('B', ['a'], { timeoutMs: 0 })],
    ['an unknown timeout mode', create('B', ['a'], { onTimeout: 'retry' })],
    ['generation 0', arrive('B', 'a', 0)],
  ])('%s is an invalid command', (_, command) => {
    expectRefused(board(), command, 'invalid_command');
  });
});

describe('snapshots', () => {
  test('a snapshot whose stages are more than one generation apart is refused', () => {
    const barriers = board();
    barriers.apply(create('s1', ['a']));
    barriers.apply(create('s2', ['a'], { after: 's1' }));
    const snapshot = JSON.parse(barriers.snapshotText());
    snapshot.state.barriers[0].generation = 3;
    expect(new BarrierService().restore(snapshot)).toMatchObject({ ok: false, error: { code: 'invalid_snapshot' } });
  });

  test('a snapshot with a cycle of stages is refused', () => {
    const barriers = board();
    barriers.apply(create('s1', ['a']));
    barriers.apply(create('s2', ['a'], { after: 's1' }));
    const snapshot = JSON.parse(barriers.snapshotText());
    snapshot.state.barriers[0].after = 's2';
    expect(new BarrierService().restore(snapshot)).toMatchObject({ ok: false, error: { code: 'invalid_snapshot' } });
  });
});
