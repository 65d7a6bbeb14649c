import { RunChecks } from '../../simulator/checks';
import { populateCluster, shapeCluster } from '../../simulator/cluster';
import { scheduleClusterFaults } from '../../simulator/faults';
import { resolveOptions, type SimulationOptions } from '../../simulator/options';
import { reportRun } from '../../simulator/report';
import type { ClockOutcome } from '../../simulator/runClock';

async function reportFor(input: Partial<SimulationOptions>, outcome: Partial<ClockOutcome>, findAgreement = false) {
  const options = resolveOptions({ byzantine: 0, ...input });
  const cluster = shapeCluster(options);
  const checks = new RunChecks(options, cluster, {}, 'the replay');
  await populateCluster(cluster, options, {}, checks, false);
  const faults = scheduleClusterFaults(options, cluster, checks);
  if (findAgreement) checks.report({ kind: 'agreement', rank: 2, nodes: ['n0'], detail: 'two frames' });
  // Per-node counters are read from a booted node; its clock is never run.
  for (const node of cluster.honest.values()) node.boot();
  const finalViews = new Map(cluster.names.map((name) => [name, { role: 'follower', term: 1, leader: null } as never]));
  const report = await reportRun(options, {}, cluster, checks, faults, { stallReason: null, reached: true, settledLeader: null, finalViews, committedChanges: [], ...outcome }, { replay: 'the replay', wallStart: Date.now() });
  for (const node of cluster.honest.values()) node.halt();
  return report;
}

describe('reportRun', () => {
  it('reports a run that reached its target, with its replay and per-node entries', async () => {
    const report = await reportFor({ nodes: 3, seed: 6, rounds: 4 }, {});
    expect(report).toMatchObject({ seed: 6, nodes: 3, rounds: 4, reachedTarget: true, stalled: false, stallReason: null, agreement: true, replay: 'the replay' });
    expect(report.perNode.map((node) => node.name)).toEqual(['n0', 'n1', 'n2']);
    expect(report.options.seed).toBe(6);
  });

  it('calls a run that fell short stalled, with the clock\'s reason', async () => {
    const report = await reportFor({}, { reached: false, stallReason: 'no progress' });
    expect(report).toMatchObject({ reachedTarget: false, stalled: true, stallReason: 'no progress' });
  });

  it('does not call a run with a violation stalled', async () => {
    const report = await reportFor({}, { reached: false, stallReason: 'no progress' }, true);
    expect(report).toMatchObject({ reachedTarget: false, stalled: false, stallReason: null, agreement: false });
    expect(report.violations).toHaveLength(1);
  });

  it('carries proposals, membership, logs and metrics only when the run had them', async () => {
    const plain = await reportFor({}, {});
    expect(['proposals', 'membership', 'logs', 'metrics'].filter((key) => key in plain)).toEqual([]);
    const full = await reportFor({ nodes: 4, founders: 4, clients: 1, memberChanges: [], keepLogs: true, metrics: true }, {});
    expect(['proposals', 'membership', 'logs', 'metrics'].filter((key) => key in full)).toEqual(['proposals', 'membership', 'logs', 'metrics']);
  });
});
