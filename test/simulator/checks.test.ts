import { RunChecks } from '../../simulator/checks';
import { populateCluster, shapeCluster } from '../../simulator/cluster';
import { resolveOptions, type SimulationOptions } from '../../simulator/options';

async function checksFor(input: Partial<SimulationOptions>, populate = true) {
  const options = resolveOptions({ byzantine: 0, ...input });
  const cluster = shapeCluster(options);
  const checks = new RunChecks(options, cluster, {}, 'the replay');
  if (populate) await populateCluster(cluster, options, {}, checks, false);
  return { options, cluster, checks };
}

describe('RunChecks', () => {
  it('keeps the first finding only, as the run\'s violation, with its seed, time and replay', async () => {
    const { checks, cluster } = await checksFor({ seed: 12 }, false);
    checks.report({ kind: 'agreement', rank: 3, nodes: ['n1'], detail: 'first' });
    checks.report({ kind: 'agreement', rank: 4, nodes: ['n2'], detail: 'second' });
    expect(checks.violations).toHaveLength(1);
    expect(checks.violations[0]).toMatchObject({ detail: 'first', seed: 12, at: 0, replay: 'the replay' });
    expect(cluster.trace.tail().at(-1)?.detail).toBe('agreement at 3: first');
  });

  it('reports a proposal settled as committed whose log entry does not carry it', async () => {
    const { checks } = await checksFor({}, false);
    const observers = checks.observers();
    observers.onProposalSettled!('n0', 'p1', { outcome: 'committed', index: 2 } as never, true);
    expect(checks.violations).toHaveLength(0);
    observers.onProposalSettled!('n0', 'p2', { outcome: 'committed', index: 3 } as never, false);
    expect(checks.violations[0]).toMatchObject({ kind: 'validity', rank: 3, nodes: ['n0'] });
    expect(checks.proposals.committed).toBe(2);
  });

  it('reports an engine failure as a crash at the node\'s next rank', async () => {
    const { checks } = await checksFor({ nodes: 3 });
    checks.observers().onEngineFailure('n2', new Error('boom'));
    expect(checks.violations[0]).toMatchObject({ kind: 'engine_crash', rank: 1, nodes: ['n2'], detail: "n2's engine failed: Error: boom" });
  });

  it('keeps the attempt of a rank\'s first commit and the highest term seen', async () => {
    const { checks } = await checksFor({}, false);
    const observers = checks.observers();
    observers.onCommitAttempt('n0', 1, 2);
    observers.onCommitAttempt('n1', 1, 3);
    observers.onTermChange('n0', 0, 4);
    observers.onTermChange('n1', 0, 2);
    expect([...checks.commitAttempts]).toEqual([[1, 2]]);
    expect(checks.maxTerm).toBe(4);
  });

  it('reports a node voting for two candidates in one term', async () => {
    const { checks } = await checksFor({ nodes: 3 });
    checks.sawElection('n0', 'n1', { type: 'request_vote_response', term: 2, granted: true, preVote: false } as never);
    expect(checks.violations).toHaveLength(0);
    checks.sawElection('n0', 'n2', { type: 'request_vote_response', term: 2, granted: true, preVote: false } as never);
    expect(checks.violations).toHaveLength(1);
    expect(checks.violations[0].nodes).toContain('n0');
  });

  it('counts towards the target every honest node but one crashed for good', async () => {
    const { checks } = await checksFor({ nodes: 4, crashes: [{ node: 'n1', at: 10, restartAt: null }, { node: 'n2', at: 10, restartAt: 50 }] });
    checks.startCounting();
    expect([...checks.counted].map((node) => node.name)).toEqual(['n0', 'n2', 'n3']);
    expect(checks.slowestHonest()).toBe(0);
  });

  it('takes every node for a member when the membership does not change', async () => {
    const { checks, cluster } = await checksFor({ nodes: 3 });
    expect(checks.membersNow()).toEqual(cluster.names);
    expect(checks.reference).toBeNull();
  });

  it('checks a changing membership against the agreed chain\'s', async () => {
    const { checks } = await checksFor({ nodes: 4, founders: 3, memberChanges: [] }, false);
    expect(checks.reference).not.toBeNull();
    expect(checks.membersNow()).toEqual(['n0', 'n1', 'n2']);
  });
});
