// SPEC §2.10: the quorum arithmetic the engine owns. With total weight n and
// tolerated faulty weight f ≤ ⌊(n − 1)/3⌋, a quorum is any set of weight at
// least ⌊(n + f)/2⌋ + 1. Two properties make it safe and live, for every n
// (not only n = 3f + 1) and any weights: two quorums share more than f
// weight, so an honest member; and the honest weight alone is a quorum.
import fc from 'fast-check';
import {
  createMembership,
  isQuorum,
  maxFaultTolerance,
  quorumThreshold,
  weightOfSenders,
  type Membership,
} from '../../guards/quorum';

const equal = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `m${i}`, weight: 1 }));

/** Every subset of the members, as the weight it carries (exhaustive, for small clusters). */
function subsetWeights(weights: number[]): number[][] {
  const subsets: number[][] = [];
  for (let mask = 0; mask < 1 << weights.length; mask += 1) {
    subsets.push(weights.map((_, i) => ((mask >> i) & 1 ? 1 : 0)));
  }
  return subsets;
}

describe('the quorum rule ⌊(n + f)/2⌋ + 1 (SPEC §2.10)', () => {
  it('for n from 1 to 50 and every allowed f: two quorums overlap in more than f, n − f is a quorum, and one less would not be safe', () => {
    for (let n = 1; n <= 50; n += 1) {
      for (let f = 0; f <= maxFaultTolerance(n); f += 1) {
        const q = quorumThreshold(n, f);
        // The least two quorums can share is 2q − n.
        expect({ n, f, overlap: 2 * q - n > f }).toEqual({ n, f, overlap: true });
        expect({ n, f, honestAlone: n - f >= q }).toEqual({ n, f, honestAlone: true });
        // Tight: with q − 1, two sets of that weight could share f or less.
        expect({ n, f, tight: 2 * (q - 1) - n <= f }).toEqual({ n, f, tight: true });
        expect(q).toBeLessThanOrEqual(n);
      }
    }
  });

  it('is 2f + 1 exactly when n = 3f + 1, and something else for every other n', () => {
    for (let n = 1; n <= 50; n += 1) {
      const f = maxFaultTolerance(n);
      const q = quorumThreshold(n, f);
      if (n === 3 * f + 1) expect(q).toBe(2 * f + 1);
      else expect({ n, q }).not.toEqual({ n, q: 2 * f + 1 });
    }
  });

  it('the table the README gives: n, the f tolerated, and the quorum', () => {
    const table = Array.from({ length: 10 }, (_, i) => {
      const { total, faulty, quorum } = createMembership(equal(i + 1));
      return [total, faulty, quorum];
    });
    expect(table).toEqual([
      [1, 0, 1],
      [2, 0, 2],
      [3, 0, 2],
      [4, 1, 3],
      [5, 1, 4],
      [6, 1, 4],
      [7, 2, 5],
      [8, 2, 6],
      [9, 2, 6],
      [10, 3, 7],
    ]);
  });

  it('exhaustively for up to 10 equal members and every f: any two quorums share a member outside any faulty set', () => {
    for (let n = 1; n <= 10; n += 1) {
      const weights = Array(n).fill(1);
      const subsets = subsetWeights(weights);
      for (let f = 0; f <= maxFaultTolerance(n); f += 1) {
        const q = quorumThreshold(n, f);
        const quorums = subsets.filter((s) => s.reduce((a, b) => a + b, 0) >= q);
        for (const a of quorums) {
          for (const b of quorums) {
            const shared = a.reduce((sum, x, i) => sum + (x & b[i]), 0);
            if (shared <= f) throw new Error(`n=${n} f=${f}: two quorums share only ${shared}`);
          }
        }
      }
    }
  });

  it('property: random weights (1–20 members, weight 1–100), every allowed f, random sets', () => {
    const cluster = fc
      .array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 20 })
      .chain((weights) => {
        const total = weights.reduce((a, b) => a + b, 0);
        return fc.record({
          weights: fc.constant(weights),
          f: fc.integer({ min: 0, max: maxFaultTolerance(total) }),
          a: fc.array(fc.boolean(), { minLength: weights.length, maxLength: weights.length }),
          b: fc.array(fc.boolean(), { minLength: weights.length, maxLength: weights.length }),
          faulty: fc.array(fc.boolean(), { minLength: weights.length, maxLength: weights.length }),
        });
      });
    fc.assert(
      fc.property(cluster, ({ weights, f, a, b, faulty }) => {
        const membership: Membership = createMembership(
          weights.map((weight, i) => ({ id: `m${i}`, weight })),
          f,
        );
        const ids = (picked: boolean[]) => picked.flatMap((p, i) => (p ? [`m${i}`] : []));
        // Two quorums share more than f weight.
        if (isQuorum(membership, ids(a)) && isQuorum(membership, ids(b))) {
          const shared = ids(a).filter((id) => ids(b).includes(id));
          expect(weightOfSenders(membership, shared)).toBeGreaterThan(f);
        }
        // Whatever members are faulty, if they weigh f or less the others are a quorum.
        if (weightOfSenders(membership, ids(faulty)) <= f) {
          const honest = weights.flatMap((_, i) => (faulty[i] ? [] : [`m${i}`]));
          expect(isQuorum(membership, honest)).toBe(true);
        }
      }),
      { numRuns: 5_000, seed: 2_026_1204 },
    );
  });

  it('counts each member once and non-members not at all', () => {
    const membership = createMembership(equal(4));
    expect(weightOfSenders(membership, ['m0', 'm0', 'm0'])).toBe(1);
    expect(weightOfSenders(membership, ['m0', 'mallory', '__proto__', 'constructor'])).toBe(1);
    expect(isQuorum(membership, ['m0', 'm1', 'mallory', 'eve'])).toBe(false);
    expect(isQuorum(membership, ['m0', 'm1', 'm2'])).toBe(true);
  });

  it('a lower f is allowed (crash-only deployments get smaller quorums); a higher one is refused', () => {
    expect(createMembership(equal(5), 0)).toMatchObject({ faulty: 0, quorum: 3, honest: 1 });
    expect(createMembership(equal(5))).toMatchObject({ faulty: 1, quorum: 4, honest: 2 });
    expect(() => createMembership(equal(5), 2)).toThrow('faultTolerance 2 is past the bound for total weight 5: at most ⌊(n − 1)/3⌋ = 1');
  });
});
