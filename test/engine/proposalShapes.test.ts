import { payloadCluster, type PayloadCluster } from '../../bench/payloadCluster';

/**
 * Proposals and catching up on cluster sizes 1 to 10, not only 3f + 1: the
 * quorum is ⌊(n + f)/2⌋ + 1 with f = ⌊(n − 1)/3⌋. At n = 1 the providers
 * resolve at once and there is no peer to wait for: the engine's pacing
 * (`CommitPacer`) is what lets the clock, and this test, run at all.
 */
const SIZES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

function carrying(cluster: PayloadCluster, name: string, payload: string): number | undefined {
  const log = cluster.engine(name).log;
  return log.range(0, Number.MAX_SAFE_INTEGER).find((entry) => entry.payload.payloads.includes(payload))?.index;
}

describe.each(SIZES)('n = %i', (size) => {
  let cluster: PayloadCluster;
  afterEach(async () => {
    await cluster?.stop();
  });

  it('a payload proposed on the last member commits once, at the index it is told, in every log', async () => {
    cluster = payloadCluster({ size });
    for (const engine of cluster.engines.values()) engine.start();
    const last = cluster.names[size - 1];
    let outcome: unknown;
    void cluster.engine(last).propose('p-last').then((value) => (outcome = value));
    expect(await cluster.runUntil(() => outcome !== undefined && cluster.names.every((name) => carrying(cluster, name, 'p-last') !== undefined))).toBe(true);
    const index = (outcome as { index: number }).index;
    expect(outcome).toEqual({ outcome: 'committed', index });
    for (const name of cluster.names) {
      expect(carrying(cluster, name, 'p-last')).toBe(index);
      const entries = cluster.engine(name).log.range(1, index + 5);
      expect(entries.filter((entry) => entry.payload.payloads.includes('p-last'))).toHaveLength(1);
    }
  });

  // A laggard needs the others to commit without it: n = 2 cannot.
  if (size >= 3) {
    it('a member cut off while the others commit syncs, then fills every skipped rank from certified entries', async () => {
      let isolated = true;
      const laggard = `n${size - 1}`;
      cluster = payloadCluster({ size, syncFromPeers: true, cut: (from, to) => isolated && (from === laggard || to === laggard) });
      for (const engine of cluster.engines.values()) engine.start();
      expect(await cluster.runUntil(() => cluster.engine('n0').log.size >= 5)).toBe(true);
      isolated = false;
      const late = cluster.engine(laggard);
      late.induceSync();
      expect(await cluster.runUntil(() => late.log.size >= 5 && late.log.missing().length === 0 && late.log.get(1) !== undefined)).toBe(true);
      const held = late.log.range(1, 5);
      expect(held.map((entry) => entry.index)).toEqual([1, 2, 3, 4, 5]);
      for (const entry of held) expect(entry.valueDigest).toBe(cluster.engine('n0').log.get(entry.index)!.valueDigest);
    });
  }
});
