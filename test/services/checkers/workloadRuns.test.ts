import { EventClock } from '../../../simulator/EventClock';
import { runServicesWorkload } from '../../support/services/checkedRun';
import { FakeCluster, type FakeClusterRules } from '../../support/services/fakeCluster';
import { checkLocks } from '../../support/services/lockChecker';

/**
 * Seeded workloads over the fake cluster, checked by the KV model and the
 * lock checker: with the correct rules every seed passes; each broken rule
 * is caught by the checker that should catch it, for seeds that do not
 * change from run to run.
 */

const SEEDS = Array.from({ length: 50 }, (_, seed) => seed);
/** Node 2 lags far behind the commit order, so that reads served there can be stale. */
const LAGGING = [0, 20, 300];

async function runSeed(seed: number, rules: FakeClusterRules = {}, lagMs: readonly number[] = LAGGING) {
  const clock = new EventClock();
  const cluster = new FakeCluster({ clock, seed, lagMs, rules, lossChance: 0.03, silenceChance: 0.03, abortChance: 0.02 });
  const verdict = await runServicesWorkload({
    clock,
    seed,
    clients: 4,
    opsPerClient: 25,
    portFor: (client) => cluster.port(client % cluster.nodes),
    committed: () => cluster.committed(),
  });
  cluster.stop();
  return { ...verdict, committed: cluster.committed() };
}

type Run = Awaited<ReturnType<typeof runSeed>>;

async function failingSeeds(rules: FakeClusterRules, lagMs: readonly number[], failed: (run: Run) => boolean): Promise<number[]> {
  const failing: number[] = [];
  for (const seed of SEEDS) if (failed(await runSeed(seed, rules, lagMs))) failing.push(seed);
  return failing;
}

test('with the correct rules, every seed is linearizable and keeps fencing, and the runs exercise what they check', async () => {
  const totals = { operations: 0, indeterminate: 0, refusedWrites: 0, acceptedWrites: 0, queuedAcquires: 0 };
  for (const seed of SEEDS) {
    const run = await runSeed(seed);
    if (!run.ok) throw new Error(`seed ${seed}:\n${run.summary}`);
    // What clients saw alone agrees too.
    expect(checkLocks({ log: run.recorder.lockLog() }).ok).toBe(true);
    const history = run.recorder.kvHistory();
    totals.operations += history.length;
    totals.indeterminate += history.filter((operation) => operation.return === undefined).length;
    totals.refusedWrites += run.locks.stats.refusedWrites;
    totals.acceptedWrites += run.locks.stats.acceptedWrites;
    totals.queuedAcquires += run.recorder.lockLog().filter((entry) => entry.step === 'acquire' && entry.status === 'queued').length;
  }
  // Not vacuous: unknown outcomes to place, stalled holders refused by the fence, contention for the lock.
  expect(totals.operations).toBeGreaterThan(4_000);
  expect(totals.indeterminate).toBeGreaterThan(100);
  expect(totals.refusedWrites).toBeGreaterThan(100);
  expect(totals.acceptedWrites).toBeGreaterThan(500);
  expect(totals.queuedAcquires).toBeGreaterThan(100);
});

test('a seed replays exactly: the same history, the same commit log', async () => {
  const one = await runSeed(7);
  const other = await runSeed(7);
  expect(JSON.stringify(other.recorder.kvHistory())).toBe(JSON.stringify(one.recorder.kvHistory()));
  expect(JSON.stringify(other.recorder.lockLog())).toBe(JSON.stringify(one.recorder.lockLog()));
  expect(JSON.stringify(other.committed)).toBe(JSON.stringify(one.committed));
});

describe('broken rule: linearizable reads served from the node’s own replica', () => {
  test('the KV model catches stale reads on the lagging nodes, first at seed 0', async () => {
    const failing = await failingSeeds({ reads: 'local' }, LAGGING, (run) => run.kv.ok !== true);
    expect(failing[0]).toBe(0);
    expect(failing.length).toBeGreaterThan(20);
    const run = await runSeed(0, { reads: 'local' });
    if (run.kv.ok !== false) throw new Error(`seed 0 passed: ${run.summary}`);
    // c1 is on node 1, 20 ms behind: it reads back its own write after c0's newer one had returned.
    expect(run.kv.partition).toBe('k1');
    expect(run.kv.witness.refused).toEqual([{ client: 'c1', input: { op: 'get', key: 'k1' }, output: 'c1.3', call: 2374, return: 2374 }]);
    expect(run.kv.witness.linearized.at(-1)).toEqual({ client: 'c0', input: { op: 'put', key: 'k1', value: 'c0.16' }, call: 2347, return: 2365 });
    expect(run.locks.ok).toBe(true);
  });

  test('with no replica behind, the same rule goes unnoticed: the failures come from the lag', async () => {
    expect(await failingSeeds({ reads: 'local' }, [0, 0, 0], (run) => !run.ok)).toEqual([]);
  });
});

test('broken rule: without fencing, the lock checker fails every seed, while the KV model has nothing to say', async () => {
  const failing = await failingSeeds({ fencing: 'off' }, LAGGING, (run) => {
    expect(run.kv.ok).toBe(true);
    return !run.locks.ok;
  });
  expect(failing).toEqual(SEEDS);
  const run = await runSeed(0, { fencing: 'off' });
  expect(run.locks.violations[0]).toMatchObject({ kind: 'stale_token', lock: 'L0' });
  expect(run.locks.summary).toMatch(/^\d+ lock violation\(s\)/);
});
