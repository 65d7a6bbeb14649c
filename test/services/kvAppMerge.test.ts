import {
  CoordinationState,
  KvService,
  MAX_VALUE_BYTES,
  MAX_VALUE_DEPTH,
  type AppMerges,
  type JsonValue,
  type KvConfig,
  type KvEntry,
  type PutOutcome,
} from '../../services';
import { commands } from '../../services/commandBuilders';
import { CoordinationHost } from '../../services/host';
import { expectRefused, LogDriver, taken } from './driver';

/** Key spaces settled by a merge the application registers by name (`merge:app:<name>`). */

/** Counters per member, merged by taking each member's highest: what a G-counter's merge is. */
const counters = (values: readonly JsonValue[]): JsonValue => {
  const merged: Record<string, number> = {};
  for (const value of values as ReadonlyArray<Record<string, number>>) {
    for (const [member, count] of Object.entries(value)) merged[member] = Math.max(merged[member] ?? 0, count);
  }
  return merged;
};

/** Order-sensitive on purpose: it shows what order the store calls a merge with. */
const first = (values: readonly JsonValue[]): JsonValue => values[0]!;
const joined = (values: readonly JsonValue[]): JsonValue => values.map((value) => JSON.stringify(value)).join('+');

const MERGES: AppMerges = { counters, first, joined };

function store(config: KvConfig = {}, merges: AppMerges = MERGES): LogDriver<unknown, unknown> {
  return new LogDriver(new KvService({ merges, ...config }) as never);
}

function put(key: string, value: unknown, writer: string): Record<string, unknown> {
  return { op: 'put', key, value, writer };
}

function get(kv: LogDriver<unknown, unknown>, key: string): KvEntry {
  return taken<KvEntry>(kv.machine.query({ op: 'get', key }));
}

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

describe('merging concurrent writes with an application merge', () => {
  test('concurrent writes are combined by the registered callback into one version covering them all', () => {
    const kv = store({ keySpaces: [{ prefix: 'hits/', strategy: 'merge:app:counters' }] });
    kv.apply(put('hits/page', { a: 3, b: 1 }, 'a'));
    const merged = taken<PutOutcome>(kv.apply(put('hits/page', { a: 1, b: 4, c: 2 }, 'b')));
    expect(merged).toMatchObject({ resolution: 'merged', siblings: 1, clock: { a: 1, b: 2 } });
    expect(get(kv, 'hits/page').values).toEqual([{ a: 3, b: 4, c: 2 }]);
    // A write that has seen the merged value replaces it without a merge.
    kv.apply({ ...put('hits/page', { a: 0 }, 'a'), context: get(kv, 'hits/page').clock });
    expect(get(kv, 'hits/page').values).toEqual([{ a: 0 }]);
  });

  test('the callback gets the values in canonical order, keys sorted and frozen, whichever write committed first', () => {
    const seen: JsonValue[][] = [];
    const record = (values: readonly JsonValue[]): JsonValue => {
      expect(Object.isFrozen(values)).toBe(true);
      seen.push([...values]);
      return values[0]!;
    };
    for (const order of [
      [{ y: 1, x: 2 }, 'b'],
      ['b', { x: 2, y: 1 }],
    ]) {
      const kv = store({ defaultStrategy: 'merge:app:record' }, { record });
      kv.apply(put('k', order[0], 'w1'));
      kv.apply(put('k', order[1], 'w2'));
    }
    expect(seen.map((values) => JSON.stringify(values))).toEqual(['["b",{"x":2,"y":1}]', '["b",{"x":2,"y":1}]']);
  });

  test('two concurrent writes give the same value in either arrival order, even with a merge that is not commutative', () => {
    const results = permutations(['"b"', '"a"']).map((order) => {
      const kv = store({ defaultStrategy: 'merge:app:joined' });
      order.forEach((text, i) => kv.apply(put('k', JSON.parse(text), `w${i}`)));
      return get(kv, 'k').values;
    });
    expect(results).toEqual([['"a"+"b"'], ['"a"+"b"']]);
  });

  test('three concurrent writes give the same value in every arrival order with an associative merge', () => {
    const values = [{ n: 3 }, 'x', [1, 2]];
    const results = permutations(values).map((order) => {
      const kv = store({ defaultStrategy: 'merge:app:first' });
      order.forEach((value, i) => kv.apply(put('k', value, `w${i}`)));
      return JSON.stringify(get(kv, 'k').values);
    });
    expect(new Set(results)).toEqual(new Set(['["x"]']));
  });

  test('replicas fed the same log hold the same state', () => {
    const replicas = [store({ defaultStrategy: 'merge:app:counters' }), store({ defaultStrategy: 'merge:app:counters' })];
    for (const kv of replicas) {
      kv.apply(put('k', { a: 1 }, 'a'), 10);
      kv.apply(put('k', { b: 2 }, 'b'), 20);
      kv.apply(put('k', { a: 5 }, 'c'), 30);
    }
    expect(replicas[0]!.snapshotText()).toBe(replicas[1]!.snapshotText());
    expect(get(replicas[0]!, 'k').values).toEqual([{ a: 5, b: 2 }]);
  });
});

describe('refusals', () => {
  test('a key space naming a merge this store has not registered is refused, and changes nothing', () => {
    const kv = store();
    expectRefused(kv, { op: 'setKeySpace', prefix: 'p/', strategy: 'merge:app:nope' }, 'unknown_merge');
    expect(taken(kv.apply({ op: 'setKeySpace', prefix: 'p/', strategy: 'merge:app:counters' }))).toEqual({ keySpaces: 1 });
  });

  test.each(['merge:app:', 'merge:app:Upper', 'merge:app:9lives', `merge:app:${'a'.repeat(33)}`, 'merge:sum', 'merge:app:a b'])(
    'a strategy that is not one by its syntax is an invalid command: %s',
    (strategy) => {
      expectRefused(store(), { op: 'setKeySpace', prefix: 'p/', strategy }, 'invalid_command');
    },
  );

  test('a configuration naming an unregistered merge, or a registry with a bad name or no function, is a bug of the host', () => {
    expect(() => new KvService({ defaultStrategy: 'merge:app:nope' })).toThrow(/no merge registered as nope/);
    expect(() => new KvService({ keySpaces: [{ prefix: 'a/', strategy: 'merge:app:x' }], merges: { y: first } })).toThrow(RangeError);
    expect(() => new KvService({ merges: { 'Bad Name': first } })).toThrow(RangeError);
    expect(() => new KvService({ merges: { fine: 'not a function' as never } })).toThrow(RangeError);
    expect(() => new KvService({ defaultStrategy: 'merge:app:first', merges: { first } })).not.toThrow();
  });

  test('a callback that throws refuses the write that needed it, and only that one', () => {
    const kv = store({ defaultStrategy: 'merge:app:boom' }, {
      boom: () => {
        throw new Error(`at ${Date.now()}`);
      },
    });
    kv.apply(put('k', 1, 'w1'));
    expectRefused(kv, put('k', 2, 'w2'), 'merge_failed');
    const refusal = kv.apply(put('k', 2, 'w2')) as { error: { message: string } };
    // What was thrown is not in the refusal: it could differ between replicas.
    expect(refusal.error.message).toBe('the merge boom threw');
    expect(get(kv, 'k').values).toEqual([1]);
    // A write that has seen the value needs no merge.
    expect(kv.apply({ ...put('k', 3, 'w2'), context: get(kv, 'k').clock })).toMatchObject({ ok: true });
  });

  const deep = (levels: number): JsonValue => (levels === 0 ? 0 : [deep(levels - 1)]);

  test.each<[string, unknown]>([
    ['undefined', undefined],
    ['a function', () => 1],
    ['NaN', Number.NaN],
    ['an instance of a class', new Date(0)],
    ['an object with a getter', Object.defineProperty({}, 'x', { get: () => 1, enumerable: true })],
    ['a value nested too deep', deep(MAX_VALUE_DEPTH + 1)],
  ])('a callback returning %s refuses the write as merge_failed', (_what, returned) => {
    const kv = store({ defaultStrategy: 'merge:app:bad' }, { bad: () => returned as JsonValue });
    kv.apply(put('k', 1, 'w1'));
    expectRefused(kv, put('k', 2, 'w2'), 'merge_failed');
  });

  test('a value as deep as a put may write is taken', () => {
    const kv = store({ defaultStrategy: 'merge:app:deep' }, { deep: () => deep(MAX_VALUE_DEPTH) });
    kv.apply(put('k', 1, 'w1'));
    expect(kv.apply(put('k', 2, 'w2'))).toMatchObject({ ok: true, value: { resolution: 'merged' } });
  });

  test('a callback returning more than a value may hold refuses the write as value_too_large', () => {
    const justOver = 'x'.repeat(MAX_VALUE_BYTES - 1);
    const huge = 'x'.repeat(4 * MAX_VALUE_BYTES);
    for (const returned of [justOver, huge]) {
      const kv = store({ defaultStrategy: 'merge:app:big' }, { big: () => returned });
      kv.apply(put('k', 1, 'w1'));
      expectRefused(kv, put('k', 2, 'w2'), 'value_too_large');
    }
  });

  test('the merged value is a copy: what the callback keeps cannot change the stored value', () => {
    const kept: Array<Record<string, number>> = [];
    const kv = store({ defaultStrategy: 'merge:app:leak' }, {
      leak: () => {
        const value = { n: 1 };
        kept.push(value);
        return value;
      },
    });
    kv.apply(put('k', 1, 'w1'));
    kv.apply(put('k', 2, 'w2'));
    kept[0]!.n = 99;
    expect(get(kv, 'k').values).toEqual([{ n: 1 }]);
  });
});

describe('snapshots', () => {
  function mergedStore(): LogDriver<unknown, unknown> {
    const kv = store({ keySpaces: [{ prefix: 'hits/', strategy: 'merge:app:counters' }] });
    kv.apply(put('hits/page', { a: 3 }, 'a'));
    kv.apply(put('hits/page', { b: 4 }, 'b'));
    return kv;
  }

  test('a snapshot naming an application merge restores on a replica that registered it, and merges go on the same', () => {
    const kv = mergedStore();
    const other = store();
    expect(other.machine.restore(JSON.parse(kv.snapshotText()))).toEqual({ ok: true });
    expect(other.snapshotText()).toBe(kv.snapshotText());
    for (const driver of [kv, other]) {
      driver.index = 2;
      driver.apply(put('hits/page', { a: 9, c: 1 }, 'c'));
    }
    expect(other.snapshotText()).toBe(kv.snapshotText());
    expect(get(other, 'hits/page').values).toEqual([{ a: 9, b: 4, c: 1 }]);
  });

  test('on a replica without it the restore is refused as unknown_merge, and its state is left as it was', () => {
    const snapshot = JSON.parse(mergedStore().snapshotText());
    const other = store({}, { first });
    other.apply(put('mine', 1, 'w'));
    const before = other.snapshotText();
    expect(other.machine.restore(snapshot)).toEqual({
      ok: false,
      error: { code: 'unknown_merge', message: 'the snapshot names merges not registered here: counters' },
    });
    expect(other.snapshotText()).toBe(before);
  });

  test('the coordination host stops with the reason rather than run without the merge', () => {
    const carried = { commandsIn: () => [], timeOf: () => 0 };
    const withMerge = new CoordinationHost<unknown>({ ...carried, config: { kv: { merges: { counters } } } });
    withMerge.state.apply(commands.setKeySpace('hits/', 'merge:app:counters'), { index: 1, time: 0 });
    const snapshot = withMerge.snapshot();
    const replica = new CoordinationHost<unknown>({ ...carried, config: { kv: { merges: { counters } } } });
    replica.restore(snapshot, 7);
    expect(replica.applied).toBe(7);
    const without = new CoordinationHost<unknown>(carried);
    expect(() => without.restore(snapshot, 7)).toThrow(/cannot be restored here: .*counters/);
    expect(without.applied).toBe(0);
  });

  test('the coordination state takes the merges in its kv configuration', () => {
    const state = new CoordinationState({ kv: { merges: { joined } } });
    const at = (index: number) => ({ index, time: 0 });
    expect(state.apply(commands.setKeySpace('', 'merge:app:joined'), at(1))).toMatchObject({ ok: true });
    state.apply(commands.put('k', 'y', { writer: 'a' }), at(2));
    expect(state.apply(commands.put('k', 'x', { writer: 'b' }), at(3))).toMatchObject({ ok: true, value: { resolution: 'merged' } });
    expect(state.query({ service: 'kv', op: 'get', key: 'k' })).toMatchObject({ value: { values: ['"x"+"y"'] } });
    expect(new CoordinationState().apply(commands.setKeySpace('', 'merge:app:joined'), at(1))).toMatchObject({ error: { code: 'unknown_merge' } });
  });
});
