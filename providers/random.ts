import { unsafeUniformIntDistribution, xoroshiro128plus, type RandomGenerator } from 'pure-rand';

/**
 * The only source of randomness the machines and the simulator use. Injected,
 * so that one seed reproduces a whole run; nothing calls `Math.random`.
 */
export interface RandomSource {
  /** A uniformly distributed integer in [min, max], both ends included. */
  integer(min: number, max: number): number;
  /** A uniformly distributed float in [0, 1). */
  fraction(): number;
  /** An independent stream derived from this one, e.g. one per node. */
  fork(): RandomSource;
}

const FRACTION_STEPS = 2 ** 31;

class SeededRandom implements RandomSource {
  constructor(private readonly generator: RandomGenerator) {}

  integer(min: number, max: number): number {
    if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min > max) {
      throw new RangeError(`integer(${min}, ${max}): need safe integers with min <= max`);
    }
    return unsafeUniformIntDistribution(min, max, this.generator);
  }

  fraction(): number {
    return unsafeUniformIntDistribution(0, FRACTION_STEPS - 1, this.generator) / FRACTION_STEPS;
  }

  fork(): RandomSource {
    return new SeededRandom(xoroshiro128plus(this.integer(0, 0x7fffffff)));
  }
}

/** A deterministic random source (xoroshiro128+ from pure-rand) for `seed`. */
export function createSeededRandom(seed: number): RandomSource {
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(`seed must be a safe integer, got ${seed}`);
  }
  return new SeededRandom(xoroshiro128plus(seed));
}
