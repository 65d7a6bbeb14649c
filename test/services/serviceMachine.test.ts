import { CoordinationState, KvService, LockService } from '../../services';
import { expectRefused, LogDriver, taken } from './driver';

/**
 * What every service shares: the position rules, plain-data input, refusals
 * that change nothing, and snapshots that restore to the same machine.
 */

const put = (key: string, value: unknown, writer = 'w') => ({ op: 'put', key, value, writer });

describe('applied position', () => {
  test('an index at or below the last applied one is refused as already applied', () => {
    const kv = new LogDriver(new KvService());
    kv.apply(put('a', 1));
    const before = kv.snapshotText();
    const replay = kv.machine.apply(put('a', 2), { index: 1, time: 0 });
    expect(replay).toMatchObject({ ok: false, error: { code: 'already_applied' } });
    expect(kv.snapshotText()).toBe(before);
  });

  test('indexes may skip: entries for other state machines sit between', () => {
    const kv = new KvService();
    expect(kv.apply(put('a', 1), { index: 5, time: 0 }).ok).toBe(true);
    expect(kv.apply(put('a', 2), { index: 9, time: 0 }).ok).toBe(true);
    expect(kv.position).toEqual({ index: 9, time: 0 });
  });

  test.each([
    ['a negative index', { index: -1, time: 0 }],
    ['a fractional time', { index: 1, time: 1.5 }],
    ['a missing time', { index: 1 }],
    ['an extra field', { index: 1, time: 0, term: 3 }],
    ['a time past the last a Date can hold', { index: 1, time: 8_640_000_000_000_001 }],
    ['not an object', 'now'],
  ])('%s is refused as an invalid position', (_, at) => {
    const kv = new KvService();
    const before = JSON.stringify(kv.snapshot());
    expect(kv.apply(put('a', 1), at as never)).toMatchObject({ ok: false, error: { code: 'invalid_position' } });
    expect(JSON.stringify(kv.snapshot())).toBe(before);
  });

  test('committed time never goes backwards: an earlier time is read as the last one', () => {
    const locks = new LockService();
    locks.apply({ op: 'acquire', lock: 'L', owner: 'a', leaseMs: 100 }, { index: 1, time: 1_000 });
    // A lease must not come back to life because a later entry carries an earlier clock.
    locks.apply({ op: 'tick' }, { index: 2, time: 1_100 });
    expect(locks.apply({ op: 'tick' }, { index: 3, time: 500 }).ok).toBe(true);
    expect(locks.position).toEqual({ index: 3, time: 1_100 });
    expect(locks.query({ op: 'get', lock: 'L' })).toMatchObject({ ok: true, value: { holder: null } });
  });
});

describe('commands are plain JSON', () => {
  test.each([
    ['NaN', put('a', Number.NaN)],
    ['Infinity', put('a', Number.POSITIVE_INFINITY)],
    ['undefined inside a value', put('a', { x: undefined })],
    ['a function', put('a', () => 1)],
    ['a Date', put('a', new Date(0))],
    ['a Map', put('a', new Map())],
    ['a bigint', put('a', 1n)],
    ['a sparse array', put('a', [1, , 3])],
    ['a __proto__ key', put('a', JSON.parse('{"__proto__": {"polluted": true}}'))],
    ['an unknown op', { op: 'upsert', key: 'a', value: 1, writer: 'w' }],
    ['an unknown field', { ...put('a', 1), ttl: 5 }],
    ['a missing value', { op: 'put', key: 'a', writer: 'w' }],
    ['a null command', null],
    ['an array', [put('a', 1)]],
    ['a name with a control character', put('a', 1, 'w\u0000')],
  ])('%s is refused as an invalid command', (_, command) => {
    expectRefused(new LogDriver(new KvService()), command, 'invalid_command');
  });

  test('a getter is never run: it is refused', () => {
    let reads = 0;
    const command = { op: 'put', key: 'a', writer: 'w' } as Record<string, unknown>;
    Object.defineProperty(command, 'value', { enumerable: true, get: () => ++reads });
    expectRefused(new LogDriver(new KvService()), command, 'invalid_command');
    expect(reads).toBe(0);
  });

  test('a cyclic value is refused, not followed', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expectRefused(new LogDriver(new KvService()), put('a', cyclic), 'invalid_command');
  });

  test('a Proxy that throws is refused', () => {
    const hostile = new Proxy({}, { ownKeys: () => { throw new Error('boom'); } });
    expectRefused(new LogDriver(new KvService()), put('a', hostile), 'invalid_command');
  });

  test('a command too large to read is refused as too large before it is read in full', () => {
    expectRefused(new LogDriver(new KvService()), put('a', 'x'.repeat(400_000)), 'command_too_large');
  });

  test('changing a command after it was applied changes nothing stored', () => {
    const kv = new LogDriver(new KvService());
    const value = { list: [1, 2] };
    kv.apply(put('a', value));
    value.list.push(3);
    expect(kv.machine.query({ op: 'get', key: 'a' })).toMatchObject({ value: { values: [{ list: [1, 2] }] } });
  });

  test('what a query hands out cannot be changed by its reader', () => {
    const kv = new LogDriver(new KvService());
    kv.apply(put('a', { list: [1] }));
    const read = taken<{ values: { list: number[] }[]; versions: unknown[] }>(kv.machine.query({ op: 'get', key: 'a' }));
    expect(() => read.values[0]!.list.push(2)).toThrow(TypeError);
    expect(() => read.versions.pop()).toThrow(TypeError);
  });

  test('validate checks a command without applying it', () => {
    const kv = new KvService();
    expect(kv.validate(put('a', 1))).toMatchObject({ ok: true, command: { op: 'put', key: 'a' } });
    expect(kv.validate({ op: 'put' })).toMatchObject({ ok: false, error: { code: 'invalid_command' } });
    expect(kv.position).toBeNull();
    expect(kv.query({ op: 'keys' })).toEqual({ ok: true, value: { keys: [], more: false } });
  });

  test('a malformed query is refused and changes nothing', () => {
    const kv = new LogDriver(new KvService());
    kv.apply(put('a', 1));
    const before = kv.snapshotText();
    expect(kv.machine.query({ op: 'scan' })).toMatchObject({ ok: false, error: { code: 'invalid_query' } });
    expect(kv.machine.query(undefined)).toMatchObject({ ok: false, error: { code: 'invalid_query' } });
    expect(kv.snapshotText()).toBe(before);
  });
});

describe('snapshots', () => {
  test('restoring a snapshot on a fresh replica gives the same machine, position included', () => {
    const first = new LogDriver(new CoordinationState());
    first.apply({ service: 'locks', op: 'acquire', lock: 'L', owner: 'a' }, 10);
    first.apply({ service: 'kv', op: 'put', key: 'k', value: [1], writer: 'a', fence: { lock: 'L', token: 1 } }, 20);
    first.apply({ service: 'barriers', op: 'create', barrier: 'B', participants: ['a', 'b'] }, 30);
    const text = first.snapshotText();
    const second = new CoordinationState();
    expect(second.restore(JSON.parse(text))).toEqual({ ok: true });
    expect(JSON.stringify(second.snapshot())).toBe(text);
    expect(second.position).toEqual({ index: 3, time: 30 });
    expect(second.apply({ service: 'kv', op: 'put', key: 'k', value: 2, writer: 'a' }, { index: 3, time: 40 })).toMatchObject({
      ok: false,
      error: { code: 'already_applied' },
    });
  });

  test('a snapshot holding a value of the deepest nesting allowed restores, alone and inside the coordination state', () => {
    const nest = (depth: number): unknown => (depth === 0 ? 0 : [nest(depth - 1)]);
    const kv = new LogDriver(new KvService());
    expect(kv.apply(put('deep', nest(32)))).toMatchObject({ ok: true });
    expect(new KvService().restore(JSON.parse(kv.snapshotText()))).toEqual({ ok: true });
    const state = new LogDriver(new CoordinationState());
    expect(state.apply({ service: 'kv', ...put('deep', nest(32)) })).toMatchObject({ ok: true });
    expect(new CoordinationState().restore(JSON.parse(state.snapshotText()))).toEqual({ ok: true });
  });

  test.each([
    ['another service', (snapshot: Record<string, unknown>) => ({ ...snapshot, format: 'statechart-consensus/locks@1' })],
    ['a missing position', ({ applied: _, ...rest }: Record<string, unknown>) => rest],
    ['extra fields', (snapshot: Record<string, unknown>) => ({ ...snapshot, extra: 1 })],
    ['not JSON', () => ({ when: new Date(0) })],
  ])('a snapshot of %s is refused and changes nothing', (_, corrupt) => {
    const source = new LogDriver(new KvService());
    source.apply(put('a', 1));
    const target = new LogDriver(new KvService());
    target.apply(put('b', 2));
    const before = target.snapshotText();
    const result = target.machine.restore(corrupt(JSON.parse(source.snapshotText())));
    expect(result).toMatchObject({ ok: false, error: { code: 'invalid_snapshot' } });
    expect(target.snapshotText()).toBe(before);
  });
});
