import { InMemoryElectionStorage } from '../../providers/storage';
import { electSolo, gatedStorage, solo } from './harness';

describe('§5.1 terms', () => {
  test('§5.1 a higher term in a heartbeat is adopted, the vote cleared, and persisted before the reply', async () => {
    const disk = gatedStorage({ term: 2, votedFor: 'n3' });
    await disk.open();
    disk.close();
    const node = await solo({ storage: disk.storage });
    node.takeOutbound();

    await node.deliver('n2', { type: 'heartbeat', term: 5, leaderId: 'n2' });

    const { context } = node.actor.getSnapshot();
    expect([context.term, context.votedFor, context.leader]).toEqual([5, null, 'n2']);
    expect(node.actor.getSnapshot().value).toEqual({ follower: 'persisting' });
    expect(node.takeOutbound()).toEqual([]);
    expect(disk.storage.peekHardState()).toEqual({ term: 2, votedFor: 'n3' });

    await disk.open();

    expect(disk.storage.peekHardState()).toEqual({ term: 5, votedFor: null });
    expect(node.takeOutbound().map((sent) => [sent.to, sent.message])).toEqual([
      ['n2', { type: 'heartbeat_response', term: 5, success: true }],
    ]);
    expect(node.actor.getSnapshot().value).toEqual({ follower: 'waiting' });
    expect(node.emitted.filter(({ event }) => event.type === 'term_changed').map(({ event }) => event)).toEqual([
      { type: 'term_changed', from: 0, to: 2 },
      { type: 'term_changed', from: 2, to: 5 },
    ]);
  });

  test('§5.1 a higher term in a vote request is adopted even when the vote is denied', async () => {
    const node = await solo({ logPosition: { lastLogTerm: 4, lastLogIndex: 9 } });

    await node.deliver('n2', {
      type: 'request_vote',
      preVote: false,
      term: 3,
      candidateId: 'n2',
      lastLogTerm: 1,
      lastLogIndex: 1,
    });

    expect(node.actor.getSnapshot().context.term).toBe(3);
    expect(node.actor.getSnapshot().context.votedFor).toBeNull();
    expect(node.storage.peekHardState()).toEqual({ term: 3, votedFor: null });
    expect(node.takeOutbound().map((sent) => sent.message)).toEqual([
      { type: 'request_vote_response', preVote: false, term: 3, granted: false },
    ]);
  });

  test('§5.1 a leader that sees a higher term in a response steps down to follower of that term', async () => {
    const node = await solo();
    await electSolo(node);
    expect(node.actor.getSnapshot().context.term).toBe(1);

    await node.deliver('n3', { type: 'heartbeat_response', term: 4, success: false });

    const { context, value } = node.actor.getSnapshot();
    expect(value).toEqual({ follower: 'waiting' });
    expect([context.role, context.term, context.votedFor, context.leader]).toEqual(['follower', 4, null, null]);
    expect(node.storage.peekHardState()).toEqual({ term: 4, votedFor: null });
    const tail = node.emitted.slice(-3).map(({ event }) => event);
    expect(tail).toEqual([
      { type: 'leader_changed', leader: null, term: 1 },
      { type: 'term_changed', from: 1, to: 4 },
      { type: 'role_changed', from: 'leader', to: 'follower', term: 4 },
    ]);
  });

  test('§5.1 stale-term messages are rejected with the current term and change nothing', async () => {
    const node = await solo({ storage: new InMemoryElectionStorage({ term: 3, votedFor: null }) });
    node.takeOutbound();
    const before = node.actor.getSnapshot();

    await node.deliver('n2', { type: 'heartbeat', term: 2, leaderId: 'n2' });
    await node.deliver('n3', {
      type: 'request_vote',
      preVote: false,
      term: 2,
      candidateId: 'n3',
      lastLogTerm: 0,
      lastLogIndex: 0,
    });
    await node.deliver('n2', { type: 'request_vote_response', preVote: false, term: 2, granted: true });
    await node.deliver('n2', { type: 'heartbeat_response', term: 1, success: true });

    expect(node.takeOutbound().map((sent) => [sent.to, sent.message])).toEqual([
      ['n2', { type: 'heartbeat_response', term: 3, success: false }],
      ['n3', { type: 'request_vote_response', preVote: false, term: 3, granted: false }],
    ]);
    const after = node.actor.getSnapshot();
    expect(after.value).toEqual(before.value);
    expect(after.context).toEqual(before.context);
    expect(node.storage.saveCount).toBe(0);
  });
});
