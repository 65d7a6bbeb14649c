import type { SimulatedCluster } from '../../simulator/hooks';
import { runSimulation } from '../../simulator/runSimulation';
import { queries } from '../../services/commandBuilders';

/** `simulate --services`: a seeded lock and barrier client beside the run, replayed by its seed. */
describe('the lock and barrier workload of --services', () => {
  test("drives the honest nodes' services (both barriers made), and the same seed replays the same run, not the one without it", async () => {
    let cluster: SimulatedCluster | null = null;
    const options = { nodes: 4, byzantine: 1, seed: 11, rounds: 40, services: true, crashes: [{ node: 'n1', at: 1_500, restartAt: 3_000 }] };
    const report = await runSimulation(options, { onCluster: (built) => (cluster = built) });
    expect(report.violations).toEqual([]);
    expect(report.reachedTarget).toBe(true);
    const hosts = [...cluster!.honest.values()].flatMap((node) => (node.services === null ? [] : [node.services]));
    expect(hosts).toHaveLength(3);
    const furthest = hosts.reduce((a, b) => (b.applied > a.applied ? b : a));
    const barriers = furthest.readStale(queries.barriers()).answer as { ok: boolean; value: { barriers: { barrier: string }[] } };
    expect(barriers.value.barriers.map((barrier) => barrier.barrier)).toEqual(['checkpoint', 'publish']);
    const again = await runSimulation(options);
    expect(again.traceDigest).toBe(report.traceDigest);
    const without = await runSimulation({ ...options, services: false });
    expect(without.traceDigest).not.toBe(report.traceDigest);
  }, 60_000);
});
