import { Cluster, electSolo, solo } from './harness';

describe('§5.2 leaders', () => {
  test('§5.2 a new leader announces itself and sends heartbeats to every peer every heartbeat interval', async () => {
    const node = await solo();
    await electSolo(node);
    const elected = node.clock.now();
    const announcements = node.emitted.filter(({ event }) => event.type !== 'outbound').map(({ event }) => event);
    expect(announcements.slice(-2)).toEqual([
      { type: 'role_changed', from: 'candidate', to: 'leader', term: 1 },
      { type: 'leader_changed', leader: 'n1', term: 1 },
    ]);

    // n2 answers every heartbeat, so check-quorum keeps the leader in office.
    for (let i = 0; i < 4; i += 1) {
      await node.advance(50);
      await node.deliver('n2', { type: 'heartbeat_response', term: 1, success: true });
    }

    const heartbeats = node.outbound().filter((sent) => sent.message.type === 'heartbeat');
    const beat = { type: 'heartbeat', term: 1, leaderId: 'n1' };
    expect(heartbeats).toEqual(
      [0, 50, 100, 150, 200].flatMap((offset) => [
        { at: elected + offset, from: 'n1', to: 'n2', message: beat },
        { at: elected + offset, from: 'n1', to: 'n3', message: beat },
      ]),
    );
    expect(node.role()).toBe('leader');
  });

  test('check-quorum: a leader that hears from no majority within an election timeout steps down', async () => {
    const node = await solo();
    await electSolo(node);
    const elected = node.clock.now();

    await node.advance(149);
    expect(node.role()).toBe('leader');
    await node.advance(1);

    const { context, value } = node.actor.getSnapshot();
    expect(value).toEqual({ follower: 'waiting' });
    // Stepping down for lack of a quorum is not a new term: term and vote stay.
    expect([context.term, context.votedFor, context.leader]).toEqual([1, 'n1', null]);
    expect(node.emitted.slice(-2).map(({ at, event }) => [at - elected, event])).toEqual([
      [150, { type: 'leader_changed', leader: null, term: 1 }],
      [150, { type: 'role_changed', from: 'leader', to: 'follower', term: 1 }],
    ]);
  });

  test('check-quorum: acknowledgements from a majority keep the leader in office, and a lone minority does not', async () => {
    const node = await solo({ peers: ['n2', 'n3', 'n4', 'n5'] });
    await node.advanceUntilRole('pre_candidate');
    for (const peer of ['n2', 'n3']) {
      await node.deliver(peer, { type: 'request_vote_response', preVote: true, term: 1, granted: true });
    }
    for (const peer of ['n2', 'n3']) {
      await node.deliver(peer, { type: 'request_vote_response', preVote: false, term: 1, granted: true });
    }
    expect(node.role()).toBe('leader');

    // Two peers plus the leader make three of five.
    for (let i = 0; i < 20; i += 1) {
      await node.advance(50);
      await node.deliver('n2', { type: 'heartbeat_response', term: 1, success: true });
      await node.deliver('n4', { type: 'heartbeat_response', term: 1, success: true });
    }
    expect(node.role()).toBe('leader');

    // One peer plus the leader is two of five: within one more window the leader goes.
    for (let i = 0; i < 6; i += 1) {
      await node.advance(50);
      await node.deliver('n2', { type: 'heartbeat_response', term: 1, success: true });
    }
    expect(node.role()).toBe('follower');
  });

  test('check-quorum in a cluster: an isolated leader steps down and the majority elects a leader in a later term', async () => {
    const cluster = new Cluster({ seed: 11, size: 5 });
    cluster.bootAll();
    expect(await cluster.advanceUntil(() => cluster.leaders().length === 1, 1000)).not.toBeNull();
    const [old] = cluster.leaders();
    const oldTerm = cluster.term(old);

    cluster.isolate(old);
    expect(await cluster.advanceUntil(() => cluster.role(old) !== 'leader', 400)).not.toBeNull();
    expect(await cluster.advanceUntil(() => cluster.leaders().length === 1, 1000)).not.toBeNull();
    const [fresh] = cluster.leaders();
    expect(fresh).not.toBe(old);
    expect(cluster.term(fresh)).toBeGreaterThan(oldTerm);

    cluster.heal();
    await cluster.advance(300);
    expect(cluster.leaders()).toEqual([fresh]);
    expect(cluster.actor(old).getSnapshot().context.leader).toBe(fresh);
    expect(cluster.term(old)).toBe(cluster.term(fresh));
    expect(cluster.violations).toEqual([]);
  });
});
