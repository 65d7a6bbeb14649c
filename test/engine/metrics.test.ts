import { Registry } from 'prom-client';
import { attachEngineMetrics, attachNodeMetrics, createEngineMetrics, EngineMetrics, type EngineMetricsOptions } from '../../index';
import { TestCluster } from '../support/cluster';
import { advance, advanceUntil } from '../support/time';
import { heartbeat, solo } from '../node/soloNode';

type AnyRegistry = EngineMetricsOptions['registry'] & object;

/** The sum of a metric's samples whose labels include `labels` (`_count`, `_sum`, `_bucket` by their own names). */
async function sample(registry: AnyRegistry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const base = name.replace(/_(count|sum|bucket)$/, '');
  const metric = registry.getSingleMetric(registry.getSingleMetric(name) === undefined ? base : name);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return values
    .filter((value) => ((value as { metricName?: string }).metricName ?? base) === name)
    .filter((value) => Object.entries(labels).every(([key, wanted]) => String(value.labels[key]) === wanted))
    .reduce((sum, value) => sum + value.value, 0);
}

/** The series of a metric: one label's values, to the sample's value. */
async function series(registry: AnyRegistry, name: string): Promise<Record<string, number>[]> {
  const { values } = await registry.getSingleMetric(name)!.get();
  return values.map((value) => ({ ...(value.labels as Record<string, number>), value: value.value }));
}

/**
 * Four engines, recording what their listeners hear. `healthy`: three
 * provers a rank, all needed before proving, so attempt 0 commits; otherwise
 * every member proves for itself and the votes split until attempt 1.
 */
function meteredCluster(healthy: boolean) {
  const cluster = new TestCluster(
    healthy ? { nodes: 4, provers: (h) => ['n0', 'n1', 'n2', 'n3'].map((_, i, all) => all[(i + h) % 4]!).slice(0, 3), minimumProvers: 3 } : { nodes: 4 },
  );
  const commitTimes = new Map<string, number[]>();
  const commitAttempts = new Map<string, number[]>();
  const attemptChanges = new Map<string, string[]>();
  const metrics = new Map<string, EngineMetrics>();
  for (const name of cluster.names) {
    const engine = cluster.engine(name);
    commitTimes.set(name, []);
    commitAttempts.set(name, []);
    attemptChanges.set(name, []);
    engine.onCommit(({ attempt }) => {
      commitTimes.get(name)!.push(cluster.clock.now());
      commitAttempts.get(name)!.push(attempt);
    });
    engine.onAttemptChange(({ reason }) => attemptChanges.get(name)!.push(reason));
    metrics.set(name, createEngineMetrics());
  }
  return { cluster, commitTimes, commitAttempts, attemptChanges, metrics };
}

describe('engine metrics (SPEC §4.3)', () => {
  it('count what four engines on a simulated clock did: rounds, attempts, transitions, latency, active rank, held messages', async () => {
    const { cluster, commitTimes, commitAttempts, attemptChanges, metrics } = meteredCluster(true);
    for (const name of cluster.names) attachEngineMetrics(cluster.engine(name), metrics.get(name)!, { clock: cluster.clock });
    cluster.startAll();
    await advanceUntil(cluster.clock, () => cluster.minCommits() >= 6, 60_000);

    for (const name of cluster.names) {
      const engine = cluster.engine(name);
      const { registry } = metrics.get(name)!;
      const times = commitTimes.get(name)!;
      expect(await sample(registry, 'consensus_rounds_total')).toBe(times.length);
      expect(await sample(registry, 'consensus_attempts_per_rank_count')).toBe(times.length);
      // Each rank starts when the one before it commits, the first when the engine starts (at 0):
      // the latencies add up to the time of the last commit.
      expect(await sample(registry, 'consensus_commit_latency_seconds_count')).toBe(times.length);
      expect(await sample(registry, 'consensus_commit_latency_seconds_sum')).toBeCloseTo(times.at(-1)! / 1000, 9);
      expect(await sample(registry, 'consensus_state_transitions_total')).toBe(engine.getTransitionCount());
      expect(await sample(registry, 'consensus_state_transitions_total', { from: 'stopped', to: 'starting' })).toBe(1);
      expect(await sample(registry, 'consensus_active_rank')).toBe(engine.getActiveRank());
      expect(await sample(registry, 'consensus_held_messages')).toBe(engine.getHeldMessageCount());
      // A healthy cluster commits every rank in its first attempt.
      // Each rank counts the attempts its commit needed; every move to a later attempt is counted by its reason.
      const attempts = commitAttempts.get(name)!;
      expect(await sample(registry, 'consensus_attempts_per_rank_sum')).toBe(attempts.reduce((sum, attempt) => sum + attempt + 1, 0));
      expect(await sample(registry, 'consensus_attempts_per_rank_bucket', { le: '1' })).toBe(attempts.filter((attempt) => attempt === 0).length);
      const changes = attemptChanges.get(name)!;
      expect(await sample(registry, 'consensus_attempts_total')).toBe(changes.length);
      for (const reason of new Set(changes)) {
        expect(await sample(registry, 'consensus_attempts_total', { reason })).toBe(changes.filter((r) => r === reason).length);
      }
    }
    await cluster.stopAll();
    for (const name of cluster.names) {
      const { registry } = metrics.get(name)!;
      expect(await sample(registry, 'consensus_state_transitions_total')).toBe(cluster.engine(name).getTransitionCount());
      expect(await sample(registry, 'consensus_state_transitions_total', { to: 'stopped' })).toBe(1);
    }
  });

  it('time only ranks whose start they saw, and count nothing once detached', async () => {
    const { cluster, commitTimes, attemptChanges, metrics } = meteredCluster(false);
    cluster.startAll();
    await advanceUntil(cluster.clock, () => cluster.minCommits() >= 2, 60_000);
    const n0 = metrics.get('n0')!;
    const before = commitTimes.get('n0')!.length;
    const changesBefore = attemptChanges.get('n0')!.length;
    const detach = attachEngineMetrics(cluster.engine('n0'), n0, { clock: cluster.clock });
    await advanceUntil(cluster.clock, () => commitTimes.get('n0')!.length >= before + 3, 60_000);
    const seen = commitTimes.get('n0')!.length - before;
    expect(await sample(n0.registry, 'consensus_rounds_total')).toBe(seen);
    // The rank being decided when it was attached began unseen.
    expect(await sample(n0.registry, 'consensus_commit_latency_seconds_count')).toBe(seen - 1);
    // Here each rank's attempt 0 times out.
    const changes = attemptChanges.get('n0')!.length - changesBefore;
    expect(changes).toBeGreaterThan(0);
    expect(await sample(n0.registry, 'consensus_attempts_total', { reason: 'timeout' })).toBe(changes);

    detach();
    const rank = cluster.engine('n0').getActiveRank();
    await advanceUntil(cluster.clock, () => commitTimes.get('n0')!.length >= before + seen + 2, 60_000);
    expect(await sample(n0.registry, 'consensus_rounds_total')).toBe(seen);
    // The gauges keep what they read when detached.
    expect(await sample(n0.registry, 'consensus_active_rank')).toBe(rank);
    expect(cluster.engine('n0').getActiveRank()).toBeGreaterThan(rank);
    await cluster.stopAll();
  });

  it('share one registry between engines, told apart by a node label, with one HELP and TYPE per metric', async () => {
    const cluster = new TestCluster({ nodes: 4 });
    const registry = new Registry();
    for (const name of cluster.names) {
      attachEngineMetrics(cluster.engine(name), createEngineMetrics({ registry, labels: { node: name } }), { clock: cluster.clock });
    }
    cluster.startAll();
    await advanceUntil(cluster.clock, () => cluster.minCommits() >= 3, 60_000);
    const rounds = await series(registry, 'consensus_rounds_total');
    expect(rounds.map((row) => row.node).sort()).toEqual(cluster.names);
    for (const row of rounds) expect(row.value).toBe(cluster.commits.get(String(row.node))!.length);
    const text = await registry.metrics();
    expect(text.match(/^# TYPE consensus_rounds_total counter$/gm)).toHaveLength(1);
    for (const name of cluster.names) expect(text).toContain(`consensus_held_messages{node="${name}"} ${cluster.engine(name).getHeldMessageCount()}`);
    await cluster.stopAll();
  });

  it('count proposal outcomes, pending proposals and refusals as the engine reports them', async () => {
    const metrics = new EngineMetrics({ commitLatency: 'proposal', labels: { node: 'a' } });
    metrics.proposalSettled('committed', 0.2);
    metrics.proposalSettled('committed', 0.4);
    metrics.proposalSettled('expired', 30);
    metrics.proposalSettled('aborted');
    metrics.setPendingProposals(7);
    metrics.refused('stale_rank');
    metrics.refused('stale_rank');
    metrics.refused('invalid_signature');
    // A rank's latency is not what this registry measures.
    metrics.committed(0, 5);
    // Bad numbers are ignored, never thrown.
    metrics.setPendingProposals(Number.NaN);
    metrics.proposalSettled('committed', -1);
    const { registry } = metrics;
    expect(await sample(registry, 'consensus_proposals_total', { outcome: 'committed' })).toBe(3);
    expect(await sample(registry, 'consensus_proposals_total', { outcome: 'expired' })).toBe(1);
    expect(await sample(registry, 'consensus_proposals_total', { outcome: 'aborted' })).toBe(1);
    expect(await sample(registry, 'consensus_commit_latency_seconds_count')).toBe(2);
    expect(await sample(registry, 'consensus_commit_latency_seconds_sum')).toBeCloseTo(0.6, 9);
    expect(await sample(registry, 'consensus_pending_proposals')).toBe(7);
    expect(await sample(registry, 'consensus_refusals_total', { code: 'stale_rank' })).toBe(2);
    expect(await sample(registry, 'consensus_refusals_total', { code: 'invalid_signature' })).toBe(1);
    expect(await sample(registry, 'consensus_rounds_total')).toBe(1);
  });

  it('print SPEC §4.3’s names in the text exposition, behind a prefix when given', async () => {
    const plain = await createEngineMetrics().metrics();
    for (const name of [
      'consensus_proposals_total',
      'consensus_commit_latency_seconds',
      'consensus_pending_proposals',
      'consensus_rounds_total',
      'consensus_attempts_total',
      'consensus_attempts_per_rank',
      'consensus_refusals_total',
      'consensus_state_transitions_total',
      'consensus_active_rank',
      'consensus_held_messages',
    ]) {
      expect(plain).toMatch(new RegExp(`^# TYPE ${name} (counter|gauge|histogram)$`, 'm'));
    }
    // The election's metrics belong to nodes only.
    expect(plain).not.toContain('consensus_term');
    const prefixed = await createEngineMetrics({ prefix: 'app_' }).metrics();
    expect(prefixed).toMatch(/^app_consensus_rounds_total 0$/m);
    expect(prefixed).not.toMatch(/^consensus_/m);
  });

  it('refuse a prefix or labels Prometheus would not take, and a registry whose metric of that name is another one', () => {
    expect(() => createEngineMetrics({ prefix: '1x' })).toThrow(RangeError);
    expect(() => createEngineMetrics({ labels: { 'no-dash': 'x' } })).toThrow(RangeError);
    expect(() => createEngineMetrics({ labels: { outcome: 'x' } })).toThrow(/use themselves/);
    const registry = new Registry();
    createEngineMetrics({ registry, labels: { node: 'a' } });
    // Alike: the same metrics, another node.
    expect(() => createEngineMetrics({ registry, labels: { node: 'b' } })).not.toThrow();
    expect(() => createEngineMetrics({ registry, labels: { host: 'b' } })).toThrow(/already has a metric named consensus_proposals_total/);
  });
});

describe('node metrics', () => {
  it('count every role transition and read the term on scrape', async () => {
    const { node, clock, roles, deliver } = await solo({ start: false });
    const metrics = createEngineMetrics({ labels: { node: 'n1' } });
    attachNodeMetrics(node, metrics, { clock });
    node.start();
    await advance(clock, 400, 1);
    await deliver('n2', heartbeat('n2', 3));
    await advance(clock, 5, 1);
    expect(node.getTerm()).toBe(3);
    expect(roles.length).toBeGreaterThanOrEqual(2);
    const { registry } = metrics;
    expect(await sample(registry, 'consensus_role_transitions_total')).toBe(roles.length);
    for (const { from_role, to_role } of roles) {
      const expected = roles.filter((role) => role.from_role === from_role && role.to_role === to_role).length;
      expect(await sample(registry, 'consensus_role_transitions_total', { from_role, to_role })).toBe(expected);
    }
    expect(await sample(registry, 'consensus_term')).toBe(3);
    expect(await metrics.metrics()).toMatch(/^consensus_term\{node="n1"\} 3$/m);
    await node.stop();
  });
});
