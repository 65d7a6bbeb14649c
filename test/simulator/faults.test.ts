import { RunChecks } from '../../simulator/checks';
import { populateCluster, shapeCluster } from '../../simulator/cluster';
import { scheduleClusterFaults } from '../../simulator/faults';
import { resolveOptions, type SimulationOptions } from '../../simulator/options';

async function faultsFor(input: Partial<SimulationOptions>) {
  const options = resolveOptions(input);
  const cluster = shapeCluster(options);
  const checks = new RunChecks(options, cluster, {}, 'replay');
  await populateCluster(cluster, options, {}, checks, false);
  checks.startCounting();
  return { cluster, checks, faults: scheduleClusterFaults(options, cluster, checks) };
}

describe('scheduleClusterFaults', () => {
  it('puts the partitions and crashes on the clock; the run ends no sooner than the last of them', async () => {
    const { cluster, faults } = await faultsFor({
      nodes: 4,
      byzantine: 0,
      partitions: [{ from: 100, to: 300, groups: [['n0'], ['n1', 'n2', 'n3']] }],
      crashes: [{ node: 'n2', at: 200, restartAt: null }],
    });
    expect(faults.lastFaultEnd).toBe(300);
    expect(cluster.clock.pending).toBe(3);
    expect(faults.allFired()).toBe(false);
  });

  it('takes a crashed Byzantine node off both networks and puts it back when it restarts', async () => {
    const { cluster, checks, faults } = await faultsFor({ nodes: 4, byzantine: 1, seed: 4, crashes: [] });
    const [adversary] = cluster.byzantineNames;
    const again = await faultsFor({ nodes: 4, byzantine: 1, seed: 4, crashes: [{ node: adversary, at: 50, restartAt: 120 }] });
    expect(faults.allFired()).toBe(true);
    expect(checks.electionChanged).toBe(false);
    const { clock, network, electionNetwork } = again.cluster;
    clock.fireInstant();
    expect([network.isAttached(adversary), electionNetwork.isAttached(adversary)]).toEqual([false, false]);
    expect(again.checks.electionChanged).toBe(true);
    clock.fireInstant();
    expect([network.isAttached(adversary), electionNetwork.isAttached(adversary)]).toEqual([true, true]);
    expect(again.faults.allFired()).toBe(true);
  });

  it('counts a partition that never heals from its start, with no heal to wait for', async () => {
    const { cluster, faults } = await faultsFor({ nodes: 4, byzantine: 0, partitions: [{ from: 700, to: Infinity, groups: [['n0'], ['n1', 'n2', 'n3']] }] });
    expect(faults.lastFaultEnd).toBe(700);
    expect(cluster.clock.pending).toBe(1);
  });
});
