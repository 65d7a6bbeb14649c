import { NodeCluster, type RoleSeen } from './nodeCluster';

/** Every running node finalized the same frames, rank after rank, from rank 1 (agreement, SPEC §6). */
function expectAgreement(cluster: NodeCluster, names: string[], ranks: number): void {
  const [first, ...rest] = names;
  const reference = cluster.commits.get(first)!.slice(0, ranks);
  expect(reference.map((c) => c.rank)).toEqual(Array.from({ length: ranks }, (_, i) => i + 1));
  for (const name of rest) {
    expect(cluster.commits.get(name)!.slice(0, ranks).map((c) => c.hash)).toEqual(reference.map((c) => c.hash));
  }
}

const winnerOfFirstElection: RoleSeen[] = [
  { from_role: 'stopped', to_role: 'follower', term: 0 },
  { from_role: 'follower', to_role: 'pre_candidate', term: 0 },
  { from_role: 'pre_candidate', to_role: 'candidate', term: 1 },
  { from_role: 'candidate', to_role: 'leader', term: 1 },
].map((change) => expect.objectContaining(change));

describe.each([
  { size: 3, seed: 5 },
  { size: 5, seed: 9 },
])('a $size-node cluster of createNode on one simulated clock (seed $seed)', ({ size, seed }) => {
  const ROUNDS = 10;

  test('elects one leader, then finalizes rounds whose one prover is that leader', async () => {
    const cluster = new NodeCluster({ seed, size });
    cluster.bootAll();
    await cluster.advanceUntil(() => cluster.agreedLeader() !== null, 1000);
    const leader = cluster.agreedLeader()!;
    expect(cluster.leaders()).toEqual([leader]);
    expect(cluster.names.map((name) => cluster.node(name).getTerm())).toEqual(Array(size).fill(1));

    await cluster.advanceUntil(() => cluster.minCommits() >= ROUNDS, 2000);
    expectAgreement(cluster, cluster.alive(), ROUNDS);
    for (const name of cluster.names) {
      // Each log entry records the term it was committed in: the first leader's.
      expect(cluster.node(name).log.range(1, ROUNDS).map((entry) => entry.term)).toEqual(Array(ROUNDS).fill(1));
      expect(cluster.commits.get(name)!.slice(0, ROUNDS).map((c) => c.proposer)).toEqual(Array(ROUNDS).fill(leader));
      const round = cluster.node(name).roundActor.getSnapshot().context;
      expect(round.nextProvers.map((p) => p.identity())).toEqual([leader]);
    }
    // Followers never stood: each was a follower from the start, in term 0.
    for (const name of cluster.names.filter((n) => n !== leader)) {
      expect(cluster.roles.get(name)).toEqual([expect.objectContaining({ from_role: 'stopped', to_role: 'follower', term: 0 })]);
    }
    expect(cluster.roles.get(leader)).toEqual(winnerOfFirstElection);
    expect(cluster.electionRejections).toEqual([]);
    expect(cluster.roundRejections.filter((r) => r.error.code !== 'stale_rank')).toEqual([]);
    expect(cluster.alive().map((name) => cluster.node(name).getProviderErrorCount())).toEqual(Array(size).fill(0));
    await cluster.stopAll();
  });

  test('leader crash: a new leader is elected in a later term, and rounds continue with it as the first prover', async () => {
    const cluster = new NodeCluster({ seed, size });
    cluster.bootAll();
    await cluster.advanceUntil(() => cluster.agreedLeader() !== null, 1000);
    const old = cluster.agreedLeader()!;
    const oldTerm = cluster.node(old).getTerm();
    await cluster.advanceUntil(() => cluster.minCommits() >= 5, 2000);

    cluster.crash(old);
    const failover = await cluster.advanceUntil(() => ![null, old].includes(cluster.agreedLeader()), 1000);
    const successor = cluster.agreedLeader()!;
    const newTerm = cluster.node(successor).getTerm();
    expect(newTerm).toBeGreaterThan(oldTerm);
    expect(cluster.leaders()).toEqual([successor]);
    // Bounded by two maximum election timeouts plus the pre-vote round (SPEC §3 defaults).
    expect(failover).toBeLessThanOrEqual(2 * 300 + 100);

    const survivors = cluster.alive();
    const before = Math.min(...survivors.map((name) => cluster.commits.get(name)!.length));
    await cluster.advanceUntil(() => cluster.minCommits() >= before + ROUNDS, 2000);
    expectAgreement(cluster, survivors, before + ROUNDS);
    const history = cluster.commits.get(survivors[0])!;
    // Until the crash the old leader proposed; a rank it was ordered to prove was restarted under the successor.
    expect(history.slice(0, before).map((c) => c.proposer)).toEqual(Array(before).fill(old));
    expect(history.slice(before, before + ROUNDS).map((c) => c.proposer)).toEqual(Array(ROUNDS).fill(successor));

    const [winning] = cluster.roles.get(successor)!.filter((c) => c.to_role === 'leader' && c.term === newTerm);
    expect(winning).toEqual(expect.objectContaining({ from_role: 'candidate', to_role: 'leader', term: newTerm }));
    expect(cluster.electionRejections).toEqual([]);
    await cluster.stopAll();
  });
});

describe('role transitions and leader changes are emitted by the node (SPEC §4.3 from_role, to_role)', () => {
  test('the node relays exactly what its election machine emits, in order, crash and stop included', async () => {
    const cluster = new NodeCluster({ seed: 5, size: 3 });
    cluster.bootAll();
    await cluster.advanceUntil(() => cluster.agreedLeader() !== null, 1000);
    const leader = cluster.agreedLeader()!;
    cluster.crash(leader);
    await cluster.advanceUntil(() => ![null, leader].includes(cluster.agreedLeader()), 1000);
    await cluster.stopAll();

    for (const name of cluster.names) {
      expect(cluster.roles.get(name)).toEqual(cluster.electionRoles.get(name));
    }
    const withoutTimes = <T extends { at: number }>(list: T[]) => list.map(({ at: _, ...rest }) => rest);
    expect(leader).toBe('n1');
    // Crashing stops the actors without a `stop` event: the old leader emits no transition to stopped.
    expect(withoutTimes(cluster.roles.get('n1')!)).toEqual([
      { from_role: 'stopped', to_role: 'follower', term: 0 },
      { from_role: 'follower', to_role: 'pre_candidate', term: 0 },
      { from_role: 'pre_candidate', to_role: 'candidate', term: 1 },
      { from_role: 'candidate', to_role: 'leader', term: 1 },
    ]);
    expect(withoutTimes(cluster.roles.get('n2')!)).toEqual([
      { from_role: 'stopped', to_role: 'follower', term: 0 },
      { from_role: 'follower', to_role: 'pre_candidate', term: 1 },
      { from_role: 'pre_candidate', to_role: 'candidate', term: 2 },
      { from_role: 'candidate', to_role: 'leader', term: 2 },
      { from_role: 'leader', to_role: 'stopped', term: 2 },
    ]);
    // n3 never stood: it voted for n2 in term 2, which moved its term, not its role.
    expect(withoutTimes(cluster.roles.get('n3')!)).toEqual([
      { from_role: 'stopped', to_role: 'follower', term: 0 },
      { from_role: 'follower', to_role: 'stopped', term: 2 },
    ]);
    expect(withoutTimes(cluster.leaderChanges.get('n2')!)).toEqual([
      { leader: 'n1', term: 1 },
      { leader: null, term: 1 },
      { leader: 'n2', term: 2 },
      { leader: null, term: 2 },
    ]);
    expect(withoutTimes(cluster.leaderChanges.get('n3')!)).toEqual([
      { leader: 'n1', term: 1 },
      { leader: null, term: 2 },
      { leader: 'n2', term: 2 },
      { leader: null, term: 2 },
    ]);
  });

  test('one seed reproduces the whole run: roles, leaders and commits, with their simulated times', async () => {
    const run = async () => {
      const cluster = new NodeCluster({ seed: 21, size: 5 });
      cluster.bootAll();
      await cluster.advanceUntil(() => cluster.minCommits() >= 3, 2000);
      const leader = cluster.agreedLeader()!;
      cluster.crash(leader);
      await cluster.advance(600);
      await cluster.stopAll();
      return { roles: cluster.roles, leaders: cluster.leaderChanges, commits: cluster.commits };
    };
    const first = await run();
    expect(await run()).toEqual(first);
    expect([...first.commits.values()].every((commits) => commits.length >= 3)).toBe(true);
  });
});

describe('createNode defaults with nothing faulty (SPEC §2.8)', () => {
  test('a 3-node cluster whose app proves at once and votes for the first proposal it sees commits every height in attempt 0', async () => {
    // The election's leader is the one prover of attempt 0: there is one proposal to see, whatever the app's voting rule.
    const cluster = new NodeCluster({ seed: 5, size: 3, naive: true });
    cluster.bootAll();
    await cluster.advanceUntil(() => cluster.minCommits() >= 10, 10_000);
    for (const name of cluster.names) {
      expect(cluster.commits.get(name)!.slice(0, 10).map((commit) => commit.attempt)).toEqual(Array(10).fill(0));
    }
    expectAgreement(cluster, [...cluster.names], 10);
    await cluster.stopAll();
  });
});
