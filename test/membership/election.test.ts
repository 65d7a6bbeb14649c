import { DEFAULT_RANK_WINDOW } from '../../engine/config';
import type { MembershipChange } from '../../engine/membership/change';
import { quorumSize } from '../../guards/election';
import type { Frame, Peer } from '../support/fixtures';
import { NodeCluster } from '../node/nodeCluster';

const W = DEFAULT_RANK_WINDOW;

describe('the election follows the engine membership (createNode)', () => {
  it('a removed leader stops counting: the others elect one of themselves and rounds go on with the smaller quorum', async () => {
    // The value committed at height 4 removes whoever led when the test chose: a function of the value, the same on every node.
    let victim = '';
    const cluster = new NodeCluster({
      seed: 9,
      size: 5,
      nodeConfig: {
        membershipChangeIn: (frame: Frame): MembershipChange<Peer> | null => (frame.height === 4 && victim !== '' ? { op: 'remove', id: victim } : null),
      },
    });
    cluster.bootAll();
    await cluster.advanceUntil(() => cluster.agreedLeader() !== null, 1000);
    victim = cluster.agreedLeader()!;
    expect(cluster.minCommits()).toBeLessThan(4);
    const left = 4 + W + 1;
    const stay = cluster.names.filter((name) => name !== victim);
    await cluster.advanceUntil(() => stay.every((name) => cluster.node(name).getActiveRank() >= left + 10), 20_000);

    for (const name of cluster.names) {
      const node = cluster.node(name);
      expect(node.getMembershipAt(left - 1)?.ids).toEqual(cluster.names);
      expect(node.getMembershipAt(left)?.ids).toEqual(stay);
      expect(node.getMembershipAt(left)?.quorum).toBe(3);
    }
    for (const name of stay) {
      const election = cluster.node(name).electionActor.getSnapshot().context;
      expect(election.peers).toEqual(stay.filter((peer) => peer !== name));
      expect(quorumSize(election)).toBe(3);
    }
    // Led by one of those that stay, and only they propose from the effective rank on.
    const leader = cluster.node(stay[0]).getLeader()?.identity();
    expect(stay).toContain(leader);
    for (const name of stay) expect(cluster.node(name).getLeader()?.identity()).toBe(leader);
    const proposers = cluster.commits.get(stay[0])!.filter((commit) => commit.rank > left + 5).map((commit) => commit.proposer);
    expect(proposers.length).toBeGreaterThan(0);
    expect(proposers).not.toContain(victim);
    // The removed node still follows the commits.
    const top = Math.min(...stay.map((name) => cluster.node(name).getActiveRank()));
    await cluster.advanceUntil(() => cluster.node(victim).getActiveRank() >= top, 5_000);
    expect(cluster.node(victim).log.get(top)?.valueDigest).toBe(cluster.node(stay[0]).log.get(top)?.valueDigest);
    await cluster.stopAll();
  });
});
