import {
  agreedLeader,
  countsAgainstBound,
  LeaderLiveness,
  majorityComponent,
  type ClusterSnapshot,
  type ElectionView,
} from '../../simulator/LeaderLiveness';

const follower = (name: string, leader: string | null, term = 2): ElectionView => ({ name, role: 'follower', leader, term });
const leading = (name: string, term = 2): ElectionView => ({ name, role: 'leader', leader: name, term });

/** A cluster view whose partition is `groups` (nodes in no group form one more). */
function view(nodes: ElectionView[], groups: string[][] = []): ClusterSnapshot {
  const groupOf = (name: string) => groups.findIndex((group) => group.includes(name));
  return { nodes, cut: (a, b) => groupOf(a) !== groupOf(b) };
}

/** A monitor over a mutable view, with a bound of 600 ms. */
function monitor(members = 5) {
  let current = view([]);
  const liveness = new LeaderLiveness({ members, boundMs: 600, snapshot: () => current });
  return { liveness, set: (next: ClusterSnapshot) => (current = next) };
}

describe('the connected majority and the leader it follows (SPEC §3 liveness)', () => {
  it('finds the component holding a majority of the whole cluster, crashed and Byzantine members included', () => {
    const nodes = ['n0', 'n1', 'n2', 'n3'].map((name) => follower(name, null));
    expect(majorityComponent(view(nodes, [['n0', 'n1', 'n2'], ['n3']]), 5)?.map((n) => n.name).sort()).toEqual(['n0', 'n1', 'n2']);
    // Two of five on each side: nobody can elect.
    expect(majorityComponent(view(nodes, [['n0', 'n1'], ['n2', 'n3']]), 5)).toBeNull();
    // Four live nodes of seven are a majority only if connected.
    expect(majorityComponent(view(nodes), 7)?.length).toBe(4);
    expect(majorityComponent(view(nodes.slice(0, 3)), 7)).toBeNull();
  });

  it('agrees only when every node of the majority follows one node that itself leads', () => {
    const members = 3;
    expect(agreedLeader(view([leading('n0'), follower('n1', 'n0'), follower('n2', 'n0')]), members)).toEqual({ leader: 'n0', term: 2 });
    expect(agreedLeader(view([leading('n0'), follower('n1', 'n0'), follower('n2', null)]), members)).toBeNull();
    // n0 stepped down but n1 still names it: not a leader yet.
    expect(agreedLeader(view([follower('n0', null), follower('n1', 'n0')]), members)).toBeNull();
    // n2 is cut off: the majority {n0, n1} agreeing is enough.
    expect(agreedLeader(view([leading('n0'), follower('n1', 'n0'), follower('n2', null, 1)], [['n0', 'n1'], ['n2']]), members)).toEqual({
      leader: 'n0',
      term: 2,
    });
  });
});

describe('leader windows: the time until the cluster follows one leader after a heal or a leader crash', () => {
  it('closes a window when the nodes agree, with the time since it opened', () => {
    const { liveness, set } = monitor(3);
    set(view([follower('n0', null), follower('n1', null), follower('n2', null)]));
    liveness.open('heal', 1_000, 'n0');
    liveness.poll(1_050);
    expect(liveness.blocking(1_050, ['heal'])).toBe(true);
    set(view([leading('n1', 3), follower('n0', 'n1', 3), follower('n2', 'n1', 3)]));
    liveness.poll(1_240);
    expect(liveness.blocking(1_240, ['heal'])).toBe(false);
    expect(liveness.windows()).toEqual([
      { kind: 'heal', at: 1_000, leaderBefore: 'n0', leaderAfter: 'n1', term: 3, ms: 240, withinBound: true, quorum: true, outcome: 'converged', cause: null },
    ]);
    expect(countsAgainstBound(liveness.windows()[0])).toBe(true);
  });

  it('a window converging after the bound counts as over it; one never converging is late when the run ends', () => {
    const { liveness, set } = monitor(3);
    set(view([follower('n0', null), follower('n1', null)]));
    liveness.open('failover', 0, 'n2');
    liveness.poll(700);
    set(view([leading('n0'), follower('n1', 'n0')]));
    liveness.poll(701);
    liveness.open('failover', 2_000, 'n0');
    // Still watched after the bound, up to the patience (5 × 600 ms), so the run waits for it.
    expect(liveness.blocking(2_000 + 600, ['failover'])).toBe(true);
    expect(liveness.blocking(2_000 + 3_000, ['failover'])).toBe(true);
    expect(liveness.blocking(2_000 + 3_001, ['failover'])).toBe(false);
    liveness.close(5_100);
    expect(liveness.windows().map(({ outcome, ms, withinBound, cause }) => ({ outcome, ms, withinBound, cause }))).toEqual([
      { outcome: 'converged', ms: 701, withinBound: false, cause: null },
      { outcome: 'late', ms: null, withinBound: false, cause: 'the run ended' },
    ]);
    expect(liveness.windows().map(countsAgainstBound)).toEqual([true, true]);
  });

  it('a new fault within the bound cuts a window short (not counted); after the bound it is late (counted)', () => {
    const { liveness, set } = monitor(3);
    set(view([follower('n0', null), follower('n1', null), follower('n2', null)]));
    liveness.open('heal', 1_000, null);
    liveness.interrupt(1_400, 'n1 crashed at 1400 ms');
    liveness.open('heal', 2_000, null);
    liveness.interrupt(2_700, 'partition n0 | n1,n2 at 2700 ms');
    liveness.close(3_000);
    expect(liveness.windows().map(({ outcome, cause }) => ({ outcome, cause }))).toEqual([
      { outcome: 'interrupted', cause: 'n1 crashed at 1400 ms' },
      { outcome: 'late', cause: 'partition n0 | n1,n2 at 2700 ms' },
    ]);
    expect(liveness.windows().map(countsAgainstBound)).toEqual([false, true]);
  });

  it('a window opened with no connected majority is reported but not counted against the bound', () => {
    const { liveness, set } = monitor(5);
    set(view([follower('n0', null), follower('n1', null)]));
    liveness.open('failover', 500, 'n2');
    set(view([leading('n0'), follower('n1', 'n0'), follower('n3', 'n0')]));
    liveness.poll(2_500);
    const [window] = liveness.windows();
    expect(window).toMatchObject({ quorum: false, outcome: 'converged', ms: 2_000, withinBound: false, leaderAfter: 'n0' });
    expect(countsAgainstBound(window)).toBe(false);
  });
});
