import { RunChecks } from '../../simulator/checks';
import { isolate, populateCluster, shapeCluster } from '../../simulator/cluster';
import { resolveOptions, type SimulationOptions } from '../../simulator/options';

const optionsOf = (input: Partial<SimulationOptions>) => resolveOptions(input);

describe('shapeCluster', () => {
  it('names the nodes, draws the Byzantine ones among the founders, and holds no node yet', () => {
    const options = optionsOf({ nodes: 6, founders: 4, byzantine: 1, seed: 9, memberChanges: [] });
    const cluster = shapeCluster(options);
    expect(cluster.names).toEqual(['n0', 'n1', 'n2', 'n3', 'n4', 'n5']);
    expect(cluster.founders).toEqual(['n0', 'n1', 'n2', 'n3']);
    expect(cluster.byzantineNames).toHaveLength(1);
    expect(cluster.founders).toContain(cluster.byzantineNames[0]);
    expect(cluster.changing).toBe(true);
    expect(cluster.honest.size + cluster.byzantine.size).toBe(0);
  });

  it('draws the same Byzantine nodes and keys from the same seed', () => {
    const a = shapeCluster(optionsOf({ nodes: 7, byzantine: 2, seed: 5 }));
    const b = shapeCluster(optionsOf({ nodes: 7, byzantine: 2, seed: 5 }));
    expect(a.byzantineNames).toEqual(b.byzantineNames);
    expect(a.keys.publicKeys).toEqual(b.keys.publicKeys);
  });

  it('sizes its patience from the slowest link and proof', () => {
    const cluster = shapeCluster(optionsOf({ latency: { min: 5, max: 50 }, proofMs: { min: 1, max: 30 } }));
    expect(cluster.patienceMs).toBe(2 * 50 + 30 + 20);
    expect(cluster.syncWaitMs).toBe(2 * 50 + 10);
  });

  it('opens a disk, a metrics registry and keys only when the options ask for them', () => {
    const plain = shapeCluster(optionsOf({}));
    expect([plain.disk, plain.metricsRegistry, plain.signed, plain.electionOnly, plain.changing]).toEqual([null, null, true, false, false]);
    const asked = shapeCluster(optionsOf({ storage: 'disk', metrics: true, unsafeRule: 'commit-on-votes', rounds: 0 }));
    expect(asked.disk).not.toBeNull();
    expect(asked.metricsRegistry).not.toBeNull();
    expect(asked.signed).toBe(false);
    expect(asked.electionOnly).toBe(true);
  });
});

describe('populateCluster', () => {
  it('creates an honest or a Byzantine node for every name, in name order', async () => {
    const options = optionsOf({ nodes: 5, byzantine: 1, seed: 3 });
    const cluster = shapeCluster(options);
    const checks = new RunChecks(options, cluster, {}, 'replay');
    await populateCluster(cluster, options, {}, checks, false);
    expect([...cluster.byzantine.keys()]).toEqual(cluster.byzantineNames);
    expect([...cluster.honest.keys()]).toEqual(cluster.names.filter((name) => !cluster.byzantineNames.includes(name)));
    // A Byzantine node listens from the start; honest ones once booted.
    for (const name of cluster.byzantineNames) expect(cluster.network.isAttached(name)).toBe(true);
  });

  it('isolates a node on both networks, both ways: all loss when cut, the run\'s own when healed', () => {
    const options = optionsOf({ nodes: 3, byzantine: 0, dropRate: 0.1 });
    const cluster = shapeCluster(options);
    const ledger = jest.spyOn(cluster.network, 'setLink');
    const election = jest.spyOn(cluster.electionNetwork, 'setLink');
    isolate(cluster, options, 'n1', true);
    const cut = [['n1', 'n0', { dropRate: 1 }], ['n0', 'n1', { dropRate: 1 }], ['n1', 'n2', { dropRate: 1 }], ['n2', 'n1', { dropRate: 1 }]];
    expect(ledger.mock.calls).toEqual(cut);
    expect(election.mock.calls).toEqual(cut);
    ledger.mockClear();
    isolate(cluster, options, 'n1', false);
    expect(ledger.mock.calls.every(([, , link]) => link.dropRate === 0.1)).toBe(true);
  });
});
