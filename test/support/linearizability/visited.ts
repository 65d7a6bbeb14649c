/**
 * What the search has linearized, and every (linearized set, model state) it
 * has already explored. Two paths that linearize the same operations into
 * the same state have the same future, so the second is cut (Lowe's
 * memoization of Wing and Gong's search); this is what keeps the search
 * from retrying every order of the same concurrent operations.
 */

/** Zobrist hashing: a random word per operation, XORed in and out, so the set's hash follows it in O(1). */
function zobristWords(count: number): Uint32Array {
  const words = new Uint32Array(count);
  // mulberry32: a fixed seed keeps runs, and their budgets, reproducible.
  let seed = 0x9e3779b9;
  for (let i = 0; i < count; i += 1) {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    words[i] = (t ^ (t >>> 14)) >>> 0;
  }
  return words;
}

/** The operations linearized so far, as a bitset with a running hash. */
export class LinearizedSet {
  readonly bits: Uint32Array;
  private readonly zobrist: Uint32Array;
  hash = 0;

  constructor(size: number) {
    this.bits = new Uint32Array(Math.ceil(size / 32));
    this.zobrist = zobristWords(size);
  }

  /** Adds `operation` if absent, removes it if present. */
  toggle(operation: number): void {
    this.bits[operation >>> 5] ^= 1 << (operation & 31);
    this.hash = (this.hash ^ this.zobrist[operation]) >>> 0;
  }
}

export class VisitedStates {
  /** Keyed by hash and state key; the bitsets under one key are compared word by word. */
  private readonly seen = new Map<string, Uint32Array[]>();
  size = 0;

  /** Records the pair; false when it was recorded already. */
  add(linearized: LinearizedSet, stateKey: string): boolean {
    const key = `${linearized.hash}:${stateKey}`;
    const bucket = this.seen.get(key);
    if (bucket === undefined) {
      this.seen.set(key, [linearized.bits.slice()]);
    } else {
      if (bucket.some((bits) => sameBits(bits, linearized.bits))) return false;
      bucket.push(linearized.bits.slice());
    }
    this.size += 1;
    return true;
  }
}

function sameBits(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}
