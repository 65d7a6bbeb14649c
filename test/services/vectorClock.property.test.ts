import fc from 'fast-check';
import { compareClocks, covers, incrementClock, mergeClocks, type ClockOrder, type ClockResult, type VectorClock } from '../../services';

/**
 * The algebra conflict detection rests on: comparison is a partial order
 * read the same from both sides, and merge is the least upper bound
 * (commutative, associative, idempotent).
 */

const SEED = 20_240_611;
const RUNS = 300;

const MEMBERS = ['a', 'b', 'c', 'd', 'e'];
const clock: fc.Arbitrary<VectorClock> = fc.dictionary(fc.constantFrom(...MEMBERS), fc.integer({ min: 1, max: 4 }), { maxKeys: 5 });

function clockOf(result: ClockResult): VectorClock {
  if (!result.ok) throw new Error(result.error.message);
  return result.clock;
}

const merge = (a: VectorClock, b: VectorClock): VectorClock => clockOf(mergeClocks(a, b));
const text = (c: VectorClock): string => JSON.stringify(c);

const MIRROR: Record<ClockOrder, ClockOrder> = { before: 'after', after: 'before', equal: 'equal', concurrent: 'concurrent' };

const params = { seed: SEED, numRuns: RUNS };

test('compare is antisymmetric: b against a is the mirror of a against b', () => {
  fc.assert(fc.property(clock, clock, (a, b) => compareClocks(b, a) === MIRROR[compareClocks(a, b)]), params);
});

test('compare is reflexive and transitive', () => {
  fc.assert(
    fc.property(clock, clock, clock, (a, b, c) => {
      expect(compareClocks(a, a)).toBe('equal');
      if (covers(b, a) && covers(c, b)) expect(covers(c, a)).toBe(true);
    }),
    params,
  );
});

test('merge is commutative', () => {
  fc.assert(fc.property(clock, clock, (a, b) => text(merge(a, b)) === text(merge(b, a))), params);
});

test('merge is associative', () => {
  fc.assert(fc.property(clock, clock, clock, (a, b, c) => text(merge(merge(a, b), c)) === text(merge(a, merge(b, c)))), params);
});

test('merge is idempotent', () => {
  fc.assert(
    fc.property(clock, clock, (a, b) => {
      const ab = merge(a, b);
      expect(text(merge(ab, ab))).toBe(text(ab));
      expect(text(merge(ab, a))).toBe(text(ab));
      expect(compareClocks(merge(a, a), a)).toBe('equal');
    }),
    params,
  );
});

test('merge is the least clock that covers both', () => {
  fc.assert(
    fc.property(clock, clock, clock, (a, b, c) => {
      const ab = merge(a, b);
      expect(covers(ab, a) && covers(ab, b)).toBe(true);
      if (covers(c, a) && covers(c, b)) expect(covers(c, ab)).toBe(true);
    }),
    params,
  );
});

test('an increment is after the clock it advanced, and concurrent increments by two members are concurrent', () => {
  fc.assert(
    fc.property(clock, fc.constantFrom(...MEMBERS), fc.constantFrom(...MEMBERS), (a, m, n) => {
      const one = clockOf(incrementClock(a, m));
      expect(compareClocks(one, a)).toBe('after');
      if (m !== n) expect(compareClocks(one, clockOf(incrementClock(a, n)))).toBe('concurrent');
    }),
    params,
  );
});
