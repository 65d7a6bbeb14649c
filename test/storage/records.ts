/**
 * The payload of record `seq` in the storage tests, a function of `seq`
 * alone so that a reader can check every record it gets back. Lengths vary
 * (0 to 600 bytes) so that records straddle pages and segment ends.
 */
export function payloadFor(seq: number): Buffer {
  const head = Buffer.from(`record ${seq};`);
  const fill = Buffer.alloc((seq * 7919) % 600, seq % 251);
  return Buffer.concat([head, fill]);
}

/** mulberry32: a tiny seeded PRNG, so a failing run can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
