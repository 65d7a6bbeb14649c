import {
  EMPTY_CLOCK,
  MAX_CLOCK_ENTRIES,
  VectorClockSchema,
  compareClocks,
  incrementClock,
  mergeClocks,
  type ClockResult,
  type VectorClock,
} from '../../services';

function clockOf(result: ClockResult): VectorClock {
  if (!result.ok) throw new Error(result.error.message);
  return result.clock;
}

function members(count: number, prefix = 'm'): VectorClock {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`${prefix}${i}`, 1]));
}

describe('compareClocks', () => {
  test.each([
    [{}, {}, 'equal'],
    [{ a: 1 }, { a: 1 }, 'equal'],
    [{}, { a: 1 }, 'before'],
    [{ a: 1 }, { a: 2 }, 'before'],
    [{ a: 1 }, { a: 1, b: 1 }, 'before'],
    [{ a: 2, b: 1 }, { a: 1 }, 'after'],
    [{ a: 1 }, { b: 1 }, 'concurrent'],
    [{ a: 2, b: 1 }, { a: 1, b: 2 }, 'concurrent'],
  ] as const)('%j against %j is %s', (a, b, order) => {
    expect(compareClocks(a, b)).toBe(order);
  });

  test('a member named like an Object.prototype property counts from 0', () => {
    expect(compareClocks({}, { constructor: 1 })).toBe('before');
    expect(compareClocks({ toString: 2 }, { toString: 1 })).toBe('after');
  });
});

describe('mergeClocks and incrementClock', () => {
  test('merge takes the larger counter of each member', () => {
    expect(clockOf(mergeClocks({ a: 3, b: 1 }, { b: 2, c: 1 }))).toEqual({ a: 3, b: 2, c: 1 });
  });

  test('equal clocks serialize to one text whatever order their members came in', () => {
    const one = clockOf(mergeClocks({ b: 1 }, { a: 1 }));
    const other = clockOf(mergeClocks({ a: 1 }, { b: 1 }));
    expect(JSON.stringify(one)).toBe(JSON.stringify(other));
    expect(Object.isFrozen(one)).toBe(true);
  });

  test('increment advances a member past its own counter and past the floor given', () => {
    expect(clockOf(incrementClock(EMPTY_CLOCK, 'a'))).toEqual({ a: 1 });
    expect(clockOf(incrementClock({ a: 2 }, 'a'))).toEqual({ a: 3 });
    expect(clockOf(incrementClock({ a: 2 }, 'a', 7))).toEqual({ a: 8 });
  });

  test(`a clock tracks at most ${MAX_CLOCK_ENTRIES} members`, () => {
    const full = members(MAX_CLOCK_ENTRIES);
    expect(incrementClock(full, 'm0').ok).toBe(true);
    expect(incrementClock(full, 'newcomer')).toMatchObject({ ok: false, error: { code: 'clock_too_large' } });
    expect(mergeClocks(full, { newcomer: 1 })).toMatchObject({ ok: false, error: { code: 'clock_too_large' } });
  });

  test('a counter at the largest safe integer cannot advance', () => {
    expect(incrementClock({ a: Number.MAX_SAFE_INTEGER }, 'a')).toMatchObject({ ok: false, error: { code: 'counter_exhausted' } });
  });
});

describe('VectorClockSchema', () => {
  test.each([
    ['a zero counter', { a: 0 }],
    ['a negative counter', { a: -1 }],
    ['a fractional counter', { a: 1.5 }],
    ['an empty member', { '': 1 }],
    [`${MAX_CLOCK_ENTRIES + 1} members`, members(MAX_CLOCK_ENTRIES + 1)],
  ])('refuses %s', (_, clock) => {
    expect(VectorClockSchema.safeParse(clock).success).toBe(false);
  });

  test(`accepts ${MAX_CLOCK_ENTRIES} members and sorts them`, () => {
    const parsed = VectorClockSchema.parse({ z: 1, a: 2, ...members(MAX_CLOCK_ENTRIES - 2) });
    expect(Object.keys(parsed).length).toBe(MAX_CLOCK_ENTRIES);
    expect(Object.keys(parsed)[0]).toBe('a');
  });
});
