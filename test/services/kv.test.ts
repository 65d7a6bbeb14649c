import {
  KvService,
  MAX_KEY_LENGTH,
  MAX_KEY_SPACES,
  MAX_SIBLINGS,
  MAX_VALUE_BYTES,
  type KvConfig,
  type KvEntry,
  type PutOutcome,
  type VectorClock,
} from '../../services';
import { expectRefused, LogDriver, taken } from './driver';

/** The KV store alone: conflict strategies keyed on vector clocks, deletes, key spaces and every bound. */

function store(config: KvConfig = {}): LogDriver<unknown, unknown> {
  return new LogDriver(new KvService(config) as never);
}

function put(key: string, value: unknown, writer: string, context?: VectorClock): Record<string, unknown> {
  return context === undefined ? { op: 'put', key, value, writer } : { op: 'put', key, value, writer, context };
}

function get(kv: LogDriver<unknown, unknown>, key: string): KvEntry {
  return taken<KvEntry>(kv.machine.query({ op: 'get', key }));
}

function written(kv: LogDriver<unknown, unknown>, command: Record<string, unknown>): PutOutcome {
  return taken<PutOutcome>(kv.apply(command));
}

describe('reads and writes', () => {
  test('a put is read back with its clock, writer and entry', () => {
    const kv = store();
    kv.apply(put('k', { on: true }, 'w1'), 42);
    expect(get(kv, 'k')).toEqual({
      key: 'k',
      found: true,
      values: [{ on: true }],
      clock: { w1: 1 },
      versions: [{ value: { on: true }, clock: { w1: 1 }, writer: 'w1', index: 1, time: 42 }],
    });
    expect(get(kv, 'missing')).toEqual({ key: 'missing', found: false, values: [], clock: {}, versions: [] });
  });

  test("a write's counter is its entry's index, so one writer's blind writes follow each other and never conflict", () => {
    const kv = store({ defaultStrategy: 'reject' });
    written(kv, put('k', 1, 'w1'));
    expect(written(kv, put('k', 2, 'w1'))).toEqual({ key: 'k', clock: { w1: 2 }, resolution: 'none', siblings: 1 });
    expect(get(kv, 'k').values).toEqual([2]);
  });

  test('a write with a context that covers the stored version replaces it, whoever wrote it', () => {
    const kv = store({ defaultStrategy: 'siblings' });
    written(kv, put('k', 1, 'w1'));
    expect(written(kv, put('k', 2, 'w2', get(kv, 'k').clock))).toMatchObject({ clock: { w1: 1, w2: 2 }, resolution: 'none' });
    expect(get(kv, 'k').values).toEqual([2]);
  });

  test('concurrency is read from clocks, not from arrival order', () => {
    const kv = store({ defaultStrategy: 'siblings' });
    written(kv, put('k', 'v1', 'w1'));
    const read = get(kv, 'k').clock;
    written(kv, put('k', 'v2', 'w2', read));
    // w3 read before v2 was written: its write arrives later, but has not seen v2.
    expect(written(kv, put('k', 'v3', 'w3', read))).toMatchObject({ resolution: 'siblings', siblings: 2 });
    expect(get(kv, 'k').values).toEqual(['v2', 'v3']);
  });

  test('a reader holding the clock of a deleted version cannot cover a later write it never saw', () => {
    const kv = store({ defaultStrategy: 'siblings' });
    kv.apply(put('k', 'old', 'w1'));
    const stale = get(kv, 'k').clock;
    kv.apply({ op: 'delete', key: 'k' });
    kv.apply(put('k', 'new', 'w1'));
    expect(written(kv, put('k', 'from a stale read', 'w2', stale)).resolution).toBe('siblings');
    expect(get(kv, 'k').values).toEqual(['new', 'from a stale read']);
  });

  test('keys are listed in order, by prefix, a page at a time', () => {
    const kv = store();
    for (const key of ['b/2', 'a/1', 'b/1', 'b/3']) kv.apply(put(key, 0, 'w'));
    expect(kv.machine.query({ op: 'keys', prefix: 'b/', limit: 2 })).toEqual({ ok: true, value: { keys: ['b/1', 'b/2'], more: true } });
    expect(kv.machine.query({ op: 'keys', prefix: 'b/', after: 'b/2' })).toEqual({ ok: true, value: { keys: ['b/3'], more: false } });
  });
});

describe('conflict strategies', () => {
  test('last-writer-wins: the later committed write replaces a concurrent one, and its clock covers both', () => {
    const kv = store({ defaultStrategy: 'last-writer-wins' });
    written(kv, put('k', 'first', 'w1'));
    expect(written(kv, put('k', 'second', 'w2'))).toEqual({ key: 'k', clock: { w1: 1, w2: 2 }, resolution: 'last-writer-wins', siblings: 1 });
    expect(get(kv, 'k').values).toEqual(['second']);
  });

  test('siblings: concurrent writes are both kept, and a write whose context covers them resolves them', () => {
    const kv = store({ defaultStrategy: 'siblings' });
    written(kv, put('k', 'x', 'w1'));
    written(kv, put('k', 'y', 'w2'));
    const both = get(kv, 'k');
    expect(both.values).toEqual(['x', 'y']);
    expect(both.clock).toEqual({ w1: 1, w2: 2 });
    expect(written(kv, put('k', 'xy', 'w3', both.clock))).toMatchObject({ resolution: 'none', siblings: 1 });
    expect(get(kv, 'k').values).toEqual(['xy']);
  });

  test('siblings: a write that covers only some siblings replaces only those', () => {
    const kv = store({ defaultStrategy: 'siblings' });
    written(kv, put('k', 'x', 'w1'));
    written(kv, put('k', 'y', 'w2'));
    written(kv, put('k', 'x2', 'w1', { w1: 1 }));
    expect(get(kv, 'k').values).toEqual(['y', 'x2']);
  });

  test('reject: a concurrent write is refused and changes nothing; the same write with a fresh context is taken', () => {
    const kv = store({ defaultStrategy: 'reject' });
    written(kv, put('k', 1, 'w1'));
    expectRefused(kv, put('k', 2, 'w2'), 'concurrent_write');
    expectRefused(kv, put('k', 2, 'w2', { w2: 5 }), 'concurrent_write');
    expect(written(kv, put('k', 2, 'w2', get(kv, 'k').clock))).toMatchObject({ resolution: 'none' });
  });

  test('merge:max keeps the largest of concurrent numbers; a write that has seen the value may lower it', () => {
    const kv = store({ defaultStrategy: 'merge:max' });
    written(kv, put('n', 7, 'w1'));
    expect(written(kv, put('n', 5, 'w2'))).toMatchObject({ resolution: 'merged', clock: { w1: 1, w2: 2 } });
    expect(get(kv, 'n').values).toEqual([7]);
    written(kv, put('n', 3, 'w2', get(kv, 'n').clock));
    expect(get(kv, 'n').values).toEqual([3]);
  });

  test('merge:min keeps the smallest of concurrent numbers', () => {
    const kv = store({ defaultStrategy: 'merge:min' });
    written(kv, put('n', 7, 'w1'));
    written(kv, put('n', 5, 'w2'));
    written(kv, put('n', 9, 'w3'));
    expect(get(kv, 'n').values).toEqual([5]);
  });

  test('merge:union unites concurrent arrays, equal elements once (key order aside), sorted by canonical JSON', () => {
    const kv = store({ defaultStrategy: 'merge:union' });
    written(kv, put('s', ['b', { x: 1, y: 2 }], 'w1'));
    written(kv, put('s', ['a', { y: 2, x: 1 }, 'b'], 'w2'));
    expect(get(kv, 's').values).toEqual([['a', 'b', { x: 1, y: 2 }]]);
  });

  test('a merge key space refuses a value its merge cannot combine', () => {
    const kv = store({ keySpaces: [{ prefix: 'max/', strategy: 'merge:max' }, { prefix: 'set/', strategy: 'merge:union' }] });
    expectRefused(kv, put('max/n', '7', 'w1'), 'value_not_mergeable');
    expectRefused(kv, put('set/s', { a: 1 }, 'w1'), 'value_not_mergeable');
  });

  test('a merged value larger than a value may be is refused', () => {
    const kv = store({ defaultStrategy: 'merge:union' });
    const half = (tag: string) => Array.from({ length: 40 }, (_, i) => `${tag}${i}`.padEnd(1_000, '.'));
    written(kv, put('s', half('a'), 'w1'));
    expectRefused(kv, put('s', half('b'), 'w2'), 'value_too_large');
  });
});

describe('deletes', () => {
  test('without a context a delete removes every version', () => {
    const kv = store({ defaultStrategy: 'siblings' });
    kv.apply(put('k', 1, 'w1'));
    kv.apply(put('k', 2, 'w2'));
    expect(taken(kv.apply({ op: 'delete', key: 'k' }))).toEqual({ key: 'k', removed: 2, remaining: 0 });
    expect(get(kv, 'k').found).toBe(false);
    expect(taken(kv.apply({ op: 'delete', key: 'k' }))).toEqual({ key: 'k', removed: 0, remaining: 0 });
  });

  test('siblings: a delete removes only the versions its context has seen', () => {
    const kv = store({ defaultStrategy: 'siblings' });
    kv.apply(put('k', 1, 'w1'));
    kv.apply(put('k', 2, 'w2'));
    expect(taken(kv.apply({ op: 'delete', key: 'k', context: { w1: 1 } }))).toEqual({ key: 'k', removed: 1, remaining: 1 });
    expect(get(kv, 'k').values).toEqual([2]);
  });

  test('reject: a delete concurrent with a version it has not seen is refused', () => {
    const kv = store({ defaultStrategy: 'reject' });
    kv.apply(put('k', 1, 'w1'));
    kv.apply(put('k', 2, 'w1'));
    expectRefused(kv, { op: 'delete', key: 'k', context: { w1: 1 } }, 'concurrent_write');
    expect(taken(kv.apply({ op: 'delete', key: 'k', context: { w1: 2 } }))).toMatchObject({ removed: 1 });
  });

  test('last-writer-wins: the later committed delete removes what it has not seen too', () => {
    const kv = store();
    kv.apply(put('k', 1, 'w1'));
    expect(taken(kv.apply({ op: 'delete', key: 'k', context: { w2: 1 } }))).toMatchObject({ removed: 1, remaining: 0 });
  });
});

describe('key spaces', () => {
  test('the longest matching prefix decides; keys no space matches follow the default', () => {
    const kv = store({
      defaultStrategy: 'siblings',
      keySpaces: [
        { prefix: 'a/', strategy: 'last-writer-wins' },
        { prefix: 'a/strict/', strategy: 'reject' },
      ],
    });
    kv.apply(put('a/strict/k', 1, 'w1'));
    expectRefused(kv, put('a/strict/k', 2, 'w2'), 'concurrent_write');
    kv.apply(put('a/k', 1, 'w1'));
    expect(written(kv, put('a/k', 2, 'w2')).resolution).toBe('last-writer-wins');
    kv.apply(put('b', 1, 'w1'));
    expect(written(kv, put('b', 2, 'w2')).resolution).toBe('siblings');
  });

  test('key spaces are set and cleared by commands, so every replica agrees on them', () => {
    const kv = store();
    expect(taken(kv.apply({ op: 'setKeySpace', prefix: 'c/', strategy: 'merge:max' }))).toEqual({ keySpaces: 1 });
    expect(kv.machine.query({ op: 'config' })).toEqual({
      ok: true,
      value: { maxKeys: 10_000, defaultStrategy: 'last-writer-wins', keySpaces: [{ prefix: 'c/', strategy: 'merge:max' }] },
    });
    kv.apply(put('c/n', 4, 'w1'));
    kv.apply(put('c/n', 2, 'w2'));
    expect(get(kv, 'c/n').values).toEqual([4]);
    expect(taken(kv.apply({ op: 'clearKeySpace', prefix: 'c/' }))).toEqual({ keySpaces: 0 });
    kv.apply(put('c/n', 1, 'w3'));
    expect(get(kv, 'c/n').values).toEqual([1]);
  });

  test(`at most ${MAX_KEY_SPACES} key spaces`, () => {
    const kv = store();
    for (let i = 0; i < MAX_KEY_SPACES; i += 1) kv.apply({ op: 'setKeySpace', prefix: `p${i}/`, strategy: 'reject' });
    expectRefused(kv, { op: 'setKeySpace', prefix: 'one-more/', strategy: 'reject' }, 'too_many_key_spaces');
    // Replacing the strategy of an existing space adds none.
    expect(kv.apply({ op: 'setKeySpace', prefix: 'p0/', strategy: 'siblings' })).toMatchObject({ ok: true });
  });

  test('an invalid configuration is a bug of the host: the constructor throws', () => {
    expect(() => new KvService({ maxKeys: 0 })).toThrow(RangeError);
    expect(() => new KvService({ defaultStrategy: 'merge:sum' as never })).toThrow(RangeError);
  });
});

describe('bounds', () => {
  test('the number of keys is bounded by maxKeys; overwriting and deleting make room as expected', () => {
    const kv = store({ maxKeys: 2 });
    kv.apply(put('a', 1, 'w'));
    kv.apply(put('b', 1, 'w'));
    expectRefused(kv, put('c', 1, 'w'), 'too_many_keys');
    expect(kv.apply(put('a', 2, 'w'))).toMatchObject({ ok: true });
    kv.apply({ op: 'delete', key: 'a' });
    expect(kv.apply(put('c', 1, 'w'))).toMatchObject({ ok: true });
  });

  test('the default store holds 10,000 keys', () => {
    const kv = store();
    for (let i = 0; i < 10_000; i += 1) kv.apply(put(`k${i}`, i, 'w'));
    expectRefused(kv, put('k10000', 0, 'w'), 'too_many_keys');
  });

  test(`a key is at most ${MAX_KEY_LENGTH} characters`, () => {
    const kv = store();
    expect(kv.apply(put('k'.repeat(MAX_KEY_LENGTH), 1, 'w'))).toMatchObject({ ok: true });
    expectRefused(kv, put('k'.repeat(MAX_KEY_LENGTH + 1), 1, 'w'), 'key_too_long');
    expectRefused(kv, { op: 'delete', key: 'k'.repeat(MAX_KEY_LENGTH + 1) }, 'key_too_long');
    expectRefused(kv, put('', 1, 'w'), 'invalid_command');
  });

  test(`a value's JSON is at most ${MAX_VALUE_BYTES} bytes of UTF-8`, () => {
    const kv = store();
    // Two characters of JSON are the quotes.
    expect(kv.apply(put('k', 'x'.repeat(MAX_VALUE_BYTES - 2), 'w'))).toMatchObject({ ok: true });
    expectRefused(kv, put('k', 'x'.repeat(MAX_VALUE_BYTES - 1), 'w'), 'value_too_large');
    // é is two bytes of UTF-8.
    expectRefused(kv, put('k', 'é'.repeat(MAX_VALUE_BYTES / 2), 'w'), 'value_too_large');
  });

  test('a value nested deeper than 32 levels is refused with the command', () => {
    const nest = (depth: number): unknown => (depth === 0 ? 0 : [nest(depth - 1)]);
    const kv = store();
    expect(kv.apply(put('k', nest(32), 'w'))).toMatchObject({ ok: true });
    expectRefused(kv, put('k', nest(33), 'w'), 'invalid_command');
  });

  test(`a key keeps at most ${MAX_SIBLINGS} siblings`, () => {
    const kv = store({ defaultStrategy: 'siblings' });
    for (let i = 0; i < MAX_SIBLINGS; i += 1) kv.apply(put('k', i, `w${i}`));
    expect(get(kv, 'k').values).toHaveLength(MAX_SIBLINGS);
    expectRefused(kv, put('k', 'more', 'late'), 'too_many_siblings');
    // A write that resolves them is still taken.
    expect(written(kv, put('k', 'one', 'late', get(kv, 'k').clock)).siblings).toBe(1);
  });

  test('a key whose clock would track more than 64 writers refuses the next one', () => {
    const kv = store();
    for (let i = 0; i < 64; i += 1) kv.apply(put('k', i, `w${i}`, get(kv, 'k').clock));
    expect(Object.keys(get(kv, 'k').clock)).toHaveLength(64);
    expectRefused(kv, put('k', 'x', 'w64', get(kv, 'k').clock), 'clock_too_large');
    expect(kv.apply(put('k', 'x', 'w0', get(kv, 'k').clock))).toMatchObject({ ok: true });
  });

  test('a fenced write needs a lock table: the KV store alone refuses it', () => {
    expectRefused(store(), { ...put('k', 1, 'w'), fence: { lock: 'L', token: 1 } }, 'fencing_unavailable');
  });
});

describe('snapshots', () => {
  test("a snapshot carries the store's configuration: a replica built otherwise restores to the same store", () => {
    const kv = store({ defaultStrategy: 'siblings', maxKeys: 5 });
    kv.apply(put('k', 1, 'w1'));
    kv.apply(put('k', 2, 'w2'));
    const other = new KvService({ defaultStrategy: 'reject' });
    expect(other.restore(JSON.parse(kv.snapshotText()))).toEqual({ ok: true });
    expect(JSON.stringify(other.snapshot())).toBe(kv.snapshotText());
    expect(other.apply(put('k', 3, 'w3'), { index: 3, time: 0 })).toMatchObject({ ok: true, value: { resolution: 'siblings', siblings: 3 } });
  });

  test('a snapshot with versions no writes could leave is refused', () => {
    const kv = store({ defaultStrategy: 'siblings' });
    kv.apply(put('k', 1, 'w1'));
    kv.apply(put('k', 2, 'w2'));
    const snapshot = JSON.parse(kv.snapshotText());
    snapshot.state.entries[0].versions[1].clock = { w1: 1, w2: 1 };
    expect(new KvService().restore(snapshot)).toMatchObject({ ok: false, error: { code: 'invalid_snapshot' } });
  });
});
