import { TestCluster } from '../support/cluster';
import { advanceUntil } from '../support/time';

function expectAgreement(cluster: TestCluster, ranks: number) {
  const [first, ...rest] = cluster.honest();
  const reference = cluster.commits.get(first)!.slice(0, ranks).map((f) => f.hash);
  expect(reference).toHaveLength(ranks);
  for (const name of rest) {
    expect(cluster.commits.get(name)!.slice(0, ranks).map((f) => f.hash)).toEqual(reference);
  }
  // Heights are consecutive: no rank skipped, none finalized twice.
  expect(cluster.commits.get(first)!.slice(0, ranks).map((f) => f.height)).toEqual(
    Array.from({ length: ranks }, (_, i) => i + 1),
  );
}

describe('four engines on one simulated clock', () => {
  it('finalize 20 consecutive ranks and agree on every one (agreement, SPEC §6)', async () => {
    const cluster = new TestCluster({
      nodes: 4,
      provers: (h) => ['n0', 'n1', 'n2', 'n3'].map((_, i, all) => all[(i + h) % 4]).slice(0, 3),
      minimumProvers: 3,
    });
    cluster.startAll();
    await advanceUntil(cluster.clock, () => cluster.minCommits() >= 20, 60_000);
    expectAgreement(cluster, 20);
    expect(cluster.rejections.filter((r) => r.error.code !== 'stale_rank')).toEqual([]);
    await cluster.stopAll();
  });
});
