import { verifyCertificate } from '../../index';
import { payloadCluster, type PayloadCluster } from '../../bench/payloadCluster';

/**
 * n3 is cut off while the others commit, then syncs to their state: it
 * skipped ranks, and fills them from its peers' logs, trusting only the
 * certificates.
 */
async function laggard(options: { tamper?: boolean } = {}) {
  let isolated = true;
  const cluster: PayloadCluster = payloadCluster({
    syncFromPeers: true,
    cut: (from, to) => isolated && (from === 'n3' || to === 'n3'),
  });
  for (const engine of cluster.engines.values()) engine.start();
  expect(await cluster.runUntil(() => cluster.engine('n0').log.size >= 6)).toBe(true);
  if (options.tamper) {
    // Every entry n0 serves carries a signature of another rank's.
    const n0 = cluster.engine('n0');
    const entries = n0.log.range(1, 10);
    const foreign = entries[entries.length - 1].certificate!.signatures[0];
    for (const e of entries.slice(0, -1)) (e.certificate!.signatures as string[])[0] = foreign;
  }
  isolated = false;
  cluster.engine('n3').induceSync();
  return cluster;
}

describe('catching up the log', () => {
  let cluster: PayloadCluster;
  afterEach(async () => {
    await cluster?.stop();
  });

  it('a node that synced past ranks fills them from its peers, each entry proven by its certificate', async () => {
    cluster = await laggard();
    const n3 = cluster.engine('n3');
    expect(await cluster.runUntil(() => n3.log.size > 0 && n3.log.missing().length === 0 && n3.log.tail()!.index >= 8)).toBe(true);
    const members = cluster.names.map((name) => ({ id: name, publicKey: cluster.engine(name).getPublicKey()! }));
    const mine = n3.log.range(1, n3.log.tail()!.index);
    // Contiguous from rank 1, and the same entries as n0's.
    expect(mine.map((entry) => entry.index)).toEqual(Array.from({ length: mine.length }, (_, i) => i + 1));
    for (const entry of mine) {
      expect(entry.valueDigest).toBe(cluster.engine('n0').log.get(entry.index)!.valueDigest);
      expect(verifyCertificate(entry.certificate, members).valid).toBe(true);
    }
  });

  it('its readers get every entry in order, the filled ones included', async () => {
    cluster = await laggard();
    const n3 = cluster.engine('n3');
    const seen: number[] = [];
    const controller = new AbortController();
    void (async () => {
      for await (const entry of n3.commits({ from: 1, signal: controller.signal })) seen.push(entry.index);
    })();
    expect(await cluster.runUntil(() => seen.length >= 10)).toBe(true);
    controller.abort();
    expect(seen.slice(0, 10)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('refuses entries whose certificates do not verify, and gives the range up when no one sends good ones', async () => {
    cluster = await laggard({ tamper: true });
    const n3 = cluster.engine('n3');
    // n1 and n2 still serve good entries: tamper with theirs as well, so no good copy exists.
    for (const name of ['n1', 'n2']) {
      const entries = cluster.engine(name).log.range(1, 10);
      const foreign = entries[entries.length - 1].certificate!.signatures[0];
      for (const e of entries.slice(0, -1)) (e.certificate!.signatures as string[])[0] = foreign;
    }
    expect(await cluster.runUntil(() => n3.log.size > 0 && n3.log.missing().length === 0, 30_000)).toBe(true);
    const held = n3.log.range(1, 5);
    expect(held.every((entry) => verifyCertificate(entry.certificate, cluster.names.map((name) => ({ id: name, publicKey: cluster.engine(name).getPublicKey()! }))).valid)).toBe(true);
    expect(n3.log.get(1)).toBeUndefined();
  });

  it('keeps asking, slowly, for a range it gave up on, and fills it once a peer serves good entries again', async () => {
    cluster = await laggard();
    const n3 = cluster.engine('n3');
    // Every peer serves forged certificates for ranks 1..5 until the range is given up on.
    const saved = new Map<string, string[][]>();
    for (const name of ['n0', 'n1', 'n2']) {
      const entries = cluster.engine(name).log.range(1, 5);
      saved.set(name, entries.map((e) => [...e.certificate!.signatures]));
      const foreign = cluster.engine(name).log.get(6)!.certificate!.signatures[0];
      for (const e of entries) (e.certificate!.signatures as string[])[0] = foreign;
    }
    expect(await cluster.runUntil(() => n3.log.missing().length === 0 && n3.log.holes().length > 0, 30_000)).toBe(true);
    expect(n3.log.get(1)).toBeUndefined();
    for (const [name, signatures] of saved) cluster.engine(name).log.range(1, 5).forEach((e, i) => ((e.certificate!.signatures as string[])[0] = signatures[i][0]));
    expect(await cluster.runUntil(() => n3.log.holes().length === 0, 30_000)).toBe(true);
    const members = cluster.names.map((name) => ({ id: name, publicKey: cluster.engine(name).getPublicKey()! }));
    const tail = n3.log.tail()!.index;
    expect(n3.log.range(1, tail).map((entry) => entry.index)).toEqual(Array.from({ length: tail }, (_, i) => i + 1));
    for (const entry of n3.log.range(1, 5)) expect(verifyCertificate(entry.certificate, members).valid).toBe(true);
  });

  it('asks at the usual pace for a range given up on when reading the membership waits on it', async () => {
    // Two runs alike but for the membership being read from the log: a hole then blocks that reading.
    const refillTime = async (changing: boolean) => {
      let isolated = true;
      const c: PayloadCluster = payloadCluster({
        syncFromPeers: true,
        cut: (from, to) => isolated && (from === 'n3' || to === 'n3'),
        engineConfig: () => (changing ? { membershipChangeIn: () => null } : {}),
      });
      cluster = c;
      for (const engine of c.engines.values()) engine.start();
      expect(await c.runUntil(() => c.engine('n0').log.size >= 6)).toBe(true);
      const saved = new Map<string, string[]>();
      for (const name of ['n0', 'n1', 'n2']) {
        const entries = c.engine(name).log.range(1, 5);
        saved.set(name, entries.map((e) => e.certificate!.signatures[0]));
        const foreign = c.engine(name).log.get(6)!.certificate!.signatures[0];
        for (const e of entries) (e.certificate!.signatures as string[])[0] = foreign;
      }
      isolated = false;
      const n3 = c.engine('n3');
      n3.induceSync();
      expect(await c.runUntil(() => n3.log.missing().length === 0 && n3.log.holes().length > 0, 30_000)).toBe(true);
      // Past the first request for the hole, which goes out as it is given up on.
      expect(await c.runUntil(() => false, 1_000)).toBe(false);
      expect(n3.log.holes().length).toBeGreaterThan(0);
      for (const [name, signatures] of saved) c.engine(name).log.range(1, 5).forEach((e, i) => ((e.certificate!.signatures as string[])[0] = signatures[i]));
      const from = c.clock.now();
      expect(await c.runUntil(() => n3.log.holes().length === 0, 30_000)).toBe(true);
      const took = c.clock.now() - from;
      await c.stop();
      return took;
    };
    const reading = await refillTime(true);
    const idle = await refillTime(false);
    // The default interval is 200 ms: a blocking hole waits about one, another up to 25.
    expect(reading).toBeLessThanOrEqual(2 * 200 + 50);
    expect(idle).toBeGreaterThan(2_000);
  });

  it("settles a laggard's own proposal as committed once the rank that carried it is filled in", async () => {
    let isolated = false;
    cluster = payloadCluster({ syncFromPeers: true, cut: (from, to) => isolated && (from === 'n3' || to === 'n3') });
    for (const engine of cluster.engines.values()) engine.start();
    const n3 = cluster.engine('n3');
    let outcome: unknown;
    void n3.propose('from-n3').then((value) => (outcome = value));
    await cluster.runUntil(() => false, 2);
    isolated = true;
    expect(await cluster.runUntil(() => cluster.engine('n0').log.size >= 4)).toBe(true);
    const index = cluster.engine('n0').log.range(1, 10).find((entry) => entry.payload.payloads.includes('from-n3'))!.index;
    expect(outcome).toBeUndefined();
    isolated = false;
    n3.induceSync();
    expect(await cluster.runUntil(() => outcome !== undefined)).toBe(true);
    expect(outcome).toEqual({ outcome: 'committed', index });
  });

  it('refuses a non-member asking for entries, and a malformed request', () => {
    cluster = payloadCluster();
    const engine = cluster.engine('n0');
    expect(() => engine.receiveEntriesRequest('mallory', 1, 5)).toThrow(expect.objectContaining({ code: 'not_member' }));
    expect(() => engine.receiveEntriesRequest('n1', 5, 1)).toThrow(expect.objectContaining({ code: 'malformed' }));
    expect(() => engine.receiveEntries('n1', 'nope' as never)).toThrow(expect.objectContaining({ code: 'malformed' }));
    expect(engine.receiveEntries('n1', [])).toBe(0);
  });
});
