import type { RequestVote } from '../../machines/election.schemas';
import { InMemoryElectionStorage } from '../../providers/storage';
import { Cluster, solo } from './harness';

function ask(candidateId: string, term: number, preVote: boolean): RequestVote {
  return { type: 'request_vote', preVote, term, candidateId, lastLogTerm: 0, lastLogIndex: 0 };
}

function granted(message: unknown): boolean {
  return (message as { granted?: boolean }).granted === true;
}

describe('thesis §9.6 pre-vote and leader stickiness', () => {
  test('§9.6 a failed pre-vote leaves the term untouched and writes nothing', async () => {
    const node = await solo();
    // Nobody answers: pre-vote rounds time out (100 ms) and the follower timer runs again, over and over.
    await node.advance(3000);
    const preCandidacies = node.emitted.filter(
      ({ event }) => event.type === 'role_changed' && event.to === 'pre_candidate',
    ).length;
    expect(preCandidacies).toBeGreaterThanOrEqual(8);
    expect(node.actor.getSnapshot().context.term).toBe(0);
    expect(node.storage.saveCount).toBe(0);
    expect(node.emitted.some(({ event }) => event.type === 'role_changed' && event.to === 'candidate')).toBe(false);
  });

  test('§9.6 a pre-vote is granted without the granter changing its term or vote', async () => {
    const node = await solo({ storage: new InMemoryElectionStorage({ term: 2, votedFor: 'n3' }) });
    const before = node.actor.getSnapshot().context;

    await node.deliver('n2', ask('n2', 3, true));

    expect(node.takeOutbound().map((sent) => [sent.to, sent.message])).toEqual([
      ['n2', { type: 'request_vote_response', preVote: true, term: 3, granted: true }],
    ]);
    expect(node.actor.getSnapshot().context).toEqual(before);
    expect(node.storage.saveCount).toBe(0);
  });

  test('§9.6 leader stickiness: a follower that heard from a live leader denies pre-votes and votes, and keeps its term', async () => {
    const node = await solo({
      storage: new InMemoryElectionStorage({ term: 1, votedFor: null }),
      timing: { electionTimeoutMinMs: 150, electionTimeoutMaxMs: 150 },
    });
    await node.advance(20);
    await node.deliver('n2', { type: 'heartbeat', term: 1, leaderId: 'n2' });
    const heard = node.clock.now();
    node.takeOutbound();

    await node.advance(149);
    await node.deliver('n3', ask('n3', 2, true));
    await node.deliver('n3', ask('n3', 2, false));
    expect(node.takeOutbound().map((sent) => [sent.to, sent.message])).toEqual([
      ['n3', { type: 'request_vote_response', preVote: true, term: 1, granted: false }],
      ['n3', { type: 'request_vote_response', preVote: false, term: 1, granted: false }],
    ]);
    expect(node.actor.getSnapshot().context).toMatchObject({ term: 1, votedFor: null, leader: 'n2', leaderLive: true });

    // The lease is the minimum election timeout; once it lapses the same requests succeed.
    await node.advance(1);
    expect(node.clock.now()).toBe(heard + 150);
    expect(node.actor.getSnapshot().context.leaderLive).toBe(false);
    await node.deliver('n3', ask('n3', 2, true));
    await node.deliver('n3', ask('n3', 2, false));
    // Its own election timer fires at the same instant (min = max = 150), so it is asking too; only answers matter here.
    const answers = node.takeOutbound().filter((sent) => sent.message.type === 'request_vote_response');
    expect(answers.map((sent) => [sent.to, granted(sent.message)])).toEqual([
      ['n3', true],
      ['n3', true],
    ]);
    expect(node.actor.getSnapshot().context).toMatchObject({ term: 2, votedFor: 'n3' });
  });

  test('§9.6 a node partitioned for a long time rejoins without changing the leader or its term', async () => {
    const cluster = new Cluster({ seed: 5, size: 5 });
    cluster.bootAll();
    expect(await cluster.advanceUntil(() => cluster.leaders().length === 1, 1000)).not.toBeNull();
    const [leader] = cluster.leaders();
    const term = cluster.term(leader);
    const straggler = cluster.ids.find((id) => id !== leader)!;

    cluster.isolate(straggler);
    await cluster.advance(5000);
    // Cut off, it kept asking for pre-votes and never got to raise its term.
    expect(cluster.term(straggler)).toBe(term);
    expect(cluster.roleChanges.filter((c) => c.id === straggler && c.to === 'pre_candidate').length).toBeGreaterThan(10);

    cluster.heal();
    await cluster.advance(1000);

    expect(cluster.leaders()).toEqual([leader]);
    expect(cluster.ids.map((id) => cluster.term(id))).toEqual(cluster.ids.map(() => term));
    expect(cluster.actor(straggler).getSnapshot().context.leader).toBe(leader);
    expect([...cluster.leadersByTerm.keys()]).toEqual([term]);
    expect(cluster.violations).toEqual([]);
  });

  test('§9.6 without pre-vote the same rejoin deposes the leader (what pre-vote prevents)', async () => {
    const cluster = new Cluster({ seed: 5, size: 5, preVote: false });
    cluster.bootAll();
    expect(await cluster.advanceUntil(() => cluster.leaders().length === 1, 1000)).not.toBeNull();
    const [leader] = cluster.leaders();
    const term = cluster.term(leader);
    const straggler = cluster.ids.find((id) => id !== leader)!;

    cluster.isolate(straggler);
    await cluster.advance(5000);
    expect(cluster.term(straggler)).toBeGreaterThan(term + 10);

    cluster.heal();
    await cluster.advance(1000);

    expect(cluster.term(cluster.ids[0])).toBeGreaterThan(term);
    expect(cluster.roleChanges.some((c) => c.id === leader && c.from === 'leader')).toBe(true);
    expect(cluster.violations).toEqual([]);
  });
});
