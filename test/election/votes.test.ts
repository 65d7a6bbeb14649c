import type { RequestVote } from '../../machines/election.schemas';
import { InMemoryElectionStorage } from '../../providers/storage';
import { gatedStorage, solo } from './harness';

function ask(candidateId: string, term: number, lastLogTerm = 0, lastLogIndex = 0, preVote = false): RequestVote {
  return { type: 'request_vote', preVote, term, candidateId, lastLogTerm, lastLogIndex };
}

describe('§5.2 voting', () => {
  test('§5.2 one vote per term, first come first served', async () => {
    const node = await solo({ peers: ['n2', 'n3', 'n4', 'n5'] });

    await node.deliver('n2', ask('n2', 1));
    await node.deliver('n3', ask('n3', 1));
    // A retransmitted request from the candidate we chose is granted again.
    await node.deliver('n2', ask('n2', 1));
    await node.deliver('n4', ask('n4', 1));

    expect(node.takeOutbound().map((sent) => [sent.to, sent.message.type === 'request_vote_response' && sent.message.granted])).toEqual([
      ['n2', true],
      ['n3', false],
      ['n2', true],
      ['n4', false],
    ]);
    expect(node.actor.getSnapshot().context.votedFor).toBe('n2');
    expect(node.storage.peekHardState()).toEqual({ term: 1, votedFor: 'n2' });

    // A new term frees the vote.
    await node.deliver('n3', ask('n3', 2));
    expect(node.takeOutbound().map((sent) => [sent.to, sent.message])).toEqual([
      ['n3', { type: 'request_vote_response', preVote: false, term: 2, granted: true }],
    ]);
    expect(node.storage.peekHardState()).toEqual({ term: 2, votedFor: 'n3' });
  });

  test('§5.2 a vote is sent only after the term and vote are durable', async () => {
    const disk = gatedStorage();
    const node = await solo({ storage: disk.storage });

    await node.deliver('n2', ask('n2', 1));
    expect(node.actor.getSnapshot().context.votedFor).toBe('n2');
    expect(node.actor.getSnapshot().value).toEqual({ follower: 'persisting' });
    expect(node.outbound()).toEqual([]);
    expect(disk.storage.peekHardState()).toBeNull();

    await disk.open();
    expect(disk.storage.peekHardState()).toEqual({ term: 1, votedFor: 'n2' });
    expect(node.outbound().map((sent) => sent.message)).toEqual([
      { type: 'request_vote_response', preVote: false, term: 1, granted: true },
    ]);
  });

  test('§5.2 a vote waiting on a save is never sent if the term moves on before it is durable', async () => {
    const disk = gatedStorage();
    const node = await solo({ storage: disk.storage });

    await node.deliver('n2', ask('n2', 1));
    await node.deliver('n3', { type: 'heartbeat', term: 2, leaderId: 'n3' });
    expect(node.outbound()).toEqual([]);

    await disk.open();
    expect(disk.storage.peekHardState()).toEqual({ term: 2, votedFor: null });
    expect(node.outbound().map((sent) => [sent.to, sent.message])).toEqual([
      ['n3', { type: 'heartbeat_response', term: 2, success: true }],
    ]);
    expect(node.actor.getSnapshot().value).toEqual({ follower: 'waiting' });
  });

  test('§5.4.1 a vote is denied to a candidate whose log is less up to date', async () => {
    const node = await solo({ peers: ['n2', 'n3', 'n4'], logPosition: { lastLogTerm: 3, lastLogIndex: 10 } });

    await node.deliver('n2', ask('n2', 4, 2, 50)); // older last term, however long
    await node.deliver('n3', ask('n3', 4, 3, 9)); // same last term, shorter
    await node.deliver('n3', ask('n3', 4, 3, 9, true)); // the same, as a pre-vote
    await node.deliver('n4', ask('n4', 4, 3, 10)); // as up to date: granted

    expect(node.takeOutbound().map((sent) => [sent.to, sent.message])).toEqual([
      ['n2', { type: 'request_vote_response', preVote: false, term: 4, granted: false }],
      ['n3', { type: 'request_vote_response', preVote: false, term: 4, granted: false }],
      ['n3', { type: 'request_vote_response', preVote: true, term: 4, granted: false }],
      ['n4', { type: 'request_vote_response', preVote: false, term: 4, granted: true }],
    ]);
  });

  test('§5.4.1 the up-to-date check uses the latest log position the host reported', async () => {
    const node = await solo({ logPosition: { lastLogTerm: 1, lastLogIndex: 1 } });
    node.actor.send({ type: 'log_position', position: { lastLogTerm: 2, lastLogIndex: 5 } });

    await node.deliver('n2', ask('n2', 3, 1, 100));
    await node.deliver('n3', ask('n3', 3, 2, 5));

    expect(node.takeOutbound().map((sent) => [sent.to, sent.message.type === 'request_vote_response' && sent.message.granted])).toEqual([
      ['n2', false],
      ['n3', true],
    ]);
  });

  test('vote fencing: a restarted node (new actor, same storage) does not vote twice in its term', async () => {
    const storage = new InMemoryElectionStorage();
    const first = await solo({ storage });
    await first.deliver('n2', ask('n2', 1));
    expect(first.outbound().map((sent) => sent.message)).toEqual([
      { type: 'request_vote_response', preVote: false, term: 1, granted: true },
    ]);
    first.actor.stop();

    const second = await solo({ storage, clock: first.clock, seed: 99 });
    expect(second.actor.getSnapshot().context).toMatchObject({ term: 1, votedFor: 'n2' });
    await second.deliver('n3', ask('n3', 1));
    await second.deliver('n2', ask('n2', 1));

    expect(second.outbound().map((sent) => [sent.to, sent.message])).toEqual([
      ['n3', { type: 'request_vote_response', preVote: false, term: 1, granted: false }],
      ['n2', { type: 'request_vote_response', preVote: false, term: 1, granted: true }],
    ]);
  });

  test('vote fencing: a node that crashes before its vote is durable never sent it, so it may vote afresh', async () => {
    const disk = gatedStorage();
    const first = await solo({ storage: disk.storage });
    await first.deliver('n2', ask('n2', 1));
    first.actor.stop();
    expect(first.outbound()).toEqual([]);

    // The disk lost the write that was in flight at the crash.
    const second = await solo({ storage: new InMemoryElectionStorage(disk.storage.peekHardState()), clock: first.clock });
    await second.deliver('n3', ask('n3', 1));
    expect(second.outbound().map((sent) => [sent.to, sent.message])).toEqual([
      ['n3', { type: 'request_vote_response', preVote: false, term: 1, granted: true }],
    ]);
  });

  test('a failed save stops the node: the vote is never sent and the failure is reported', async () => {
    const storage = new InMemoryElectionStorage(null, {
      beforeSave: () => {
        throw new Error('disk full');
      },
    });
    const node = await solo({ storage });

    await node.deliver('n2', ask('n2', 1));

    expect(node.actor.getSnapshot().value).toEqual({ stopped: 'idle' });
    expect(node.outbound()).toEqual([]);
    const failures = node.emitted.filter(({ event }) => event.type === 'storage_failed').map(({ event }) => event);
    expect(failures).toEqual([{ type: 'storage_failed', operation: 'save', error: new Error('disk full') }]);
    expect(storage.peekHardState()).toBeNull();

    // Once the disk works again, a restart resumes from what is durable.
    storage.hooks = {};
    node.actor.send({ type: 'start' });
    await node.advance(1);
    expect(node.actor.getSnapshot().context).toMatchObject({ role: 'follower', term: 0, votedFor: null });
  });
});
