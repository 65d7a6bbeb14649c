import { RunChecks } from '../../simulator/checks';
import { populateCluster, shapeCluster } from '../../simulator/cluster';
import { scheduleClusterFaults } from '../../simulator/faults';
import { resolveOptions, type SimulationOptions } from '../../simulator/options';
import { runClock, runLimits } from '../../simulator/runClock';

describe('runLimits', () => {
  const options = (input: Partial<SimulationOptions>) => resolveOptions({ rounds: 10, byzantine: 0, ...input });

  it('takes the limits the options give', () => {
    expect(runLimits(options({ stallLimitMs: 1_234, maxSimulatedMs: 9_999 }), 100, 3, 0)).toEqual({ stallLimitMs: 1_234, maxSimulatedMs: 9_999 });
  });

  it('waits at least five seconds for progress', () => {
    expect(runLimits(options({ nodes: 1 }), 20, 1, 0).stallLimitMs).toBe(5_000);
  });

  it('ends no sooner than the last fault, the rounds and one stall after it', () => {
    const { stallLimitMs, maxSimulatedMs } = runLimits(options({}), 100, 3, 0);
    const later = runLimits(options({}), 100, 3, 4_000);
    expect(later.maxSimulatedMs - maxSimulatedMs).toBe(4_000);
    expect(maxSimulatedMs).toBe(10 * 4 * 100 * 5 + stallLimitMs);
  });

  it('gives linear messaging twice the time a round', () => {
    const all = runLimits(options({}), 100, 3, 0).maxSimulatedMs;
    const linear = runLimits(options({ messaging: 'linear' }), 100, 3, 0).maxSimulatedMs;
    expect(linear - all).toBe(10 * 4 * 100 * 5);
  });
});

describe('runClock', () => {
  async function clusterFor(input: Partial<SimulationOptions>) {
    const options = resolveOptions({ byzantine: 0, latency: { min: 2, max: 10 }, ...input });
    const cluster = shapeCluster(options);
    const checks = new RunChecks(options, cluster, {}, 'replay');
    await populateCluster(cluster, options, {}, checks, false);
    checks.startCounting();
    return { options, cluster, checks, faults: scheduleClusterFaults(options, cluster, checks) };
  }

  it('runs until every counted node has the rounds, and keeps each node\'s last election view', async () => {
    const { options, cluster, checks, faults } = await clusterFor({ nodes: 1, rounds: 3 });
    const outcome = await runClock(options, {}, cluster, checks, faults, undefined);
    expect(outcome).toMatchObject({ stallReason: null, reached: true });
    expect(checks.slowestHonest()).toBeGreaterThanOrEqual(3);
    expect([...outcome.finalViews.keys()]).toEqual(['n0']);
  });

  it('says why a run that ran out of time fell short', async () => {
    const { options, cluster, checks, faults } = await clusterFor({ nodes: 4, rounds: 50, maxSimulatedMs: 30 });
    const outcome = await runClock(options, {}, cluster, checks, faults, undefined);
    expect(outcome.reached).toBe(false);
    expect(outcome.stallReason).toMatch(/^time limit of 30 ms reached at frontier \d+, slowest \d+$/);
    expect(cluster.trace.tail().at(-1)).toMatchObject({ type: 'stall' });
  });

  it('hands the cluster to onCluster before the first event, and the trace to onTrace at the end', async () => {
    const { options, cluster, checks, faults } = await clusterFor({ nodes: 2, rounds: 1 });
    const seen: string[] = [];
    await runClock(options, { onCluster: (view) => seen.push(`cluster ${view.names.join(',')} at ${view.clock.now()}`), onTrace: () => seen.push('trace') }, cluster, checks, faults, undefined);
    expect(seen).toEqual(['cluster n0,n1 at 0', 'trace']);
  });

  it('rethrows what the services\' clients throw', async () => {
    const { options, cluster, checks, faults } = await clusterFor({ nodes: 1, rounds: 2 });
    await expect(runClock(options, {}, cluster, checks, faults, () => Promise.reject(new Error('client broke')))).rejects.toThrow('client broke');
  });
});
