import { InMemoryElectionStorage } from '../../providers/storage';
import { expectedTimeouts, solo, SOLO_SEED, type SoloNode } from './harness';

async function candidateInTerm(node: SoloNode): Promise<number> {
  await node.advanceUntilRole('pre_candidate');
  const term = node.actor.getSnapshot().context.term + 1;
  await node.deliver('n2', { type: 'request_vote_response', preVote: true, term, granted: true });
  expect(node.actor.getSnapshot().value).toEqual({ candidate: 'campaigning' });
  return term;
}

describe('§5.2 candidates', () => {
  test('§5.2 a pre-candidate with a majority of pre-votes becomes candidate: new term, own vote, persisted, then RequestVotes', async () => {
    const node = await solo();
    await node.advanceUntilRole('pre_candidate');
    node.takeOutbound();

    await node.deliver('n2', { type: 'request_vote_response', preVote: true, term: 1, granted: true });

    const { context } = node.actor.getSnapshot();
    expect([context.role, context.term, context.votedFor, context.votes]).toEqual(['candidate', 1, 'n1', ['n1']]);
    expect(node.storage.peekHardState()).toEqual({ term: 1, votedFor: 'n1' });
    const ask = { type: 'request_vote', preVote: false, term: 1, candidateId: 'n1', lastLogTerm: 0, lastLogIndex: 0 };
    expect(node.takeOutbound().map((sent) => [sent.to, sent.message])).toEqual([
      ['n2', ask],
      ['n3', ask],
    ]);
  });

  test('§5.2 a candidate falls back to follower on a heartbeat from a leader of its own term', async () => {
    const node = await solo();
    const term = await candidateInTerm(node);
    node.takeOutbound();

    await node.deliver('n3', { type: 'heartbeat', term, leaderId: 'n3' });

    const { context, value } = node.actor.getSnapshot();
    expect(value).toEqual({ follower: 'waiting' });
    // Same term: its own vote stands, only the role changes.
    expect([context.term, context.votedFor, context.leader]).toEqual([term, 'n1', 'n3']);
    expect(node.takeOutbound().map((sent) => [sent.to, sent.message])).toEqual([
      ['n3', { type: 'heartbeat_response', term, success: true }],
    ]);
  });

  test('§5.2 a candidate ignores a heartbeat from an older term and stays a candidate', async () => {
    const node = await solo({ storage: new InMemoryElectionStorage({ term: 3, votedFor: null }) });
    const term = await candidateInTerm(node);
    expect(term).toBe(4);
    node.takeOutbound();

    await node.deliver('n3', { type: 'heartbeat', term: 3, leaderId: 'n3' });

    expect(node.actor.getSnapshot().value).toEqual({ candidate: 'campaigning' });
    expect(node.takeOutbound().map((sent) => sent.message)).toEqual([{ type: 'heartbeat_response', term: 4, success: false }]);
  });

  test('§5.2 a candidate needs votes from distinct members: a duplicated grant counts once', async () => {
    const node = await solo({ peers: ['n2', 'n3', 'n4', 'n5'] });
    await node.advanceUntilRole('pre_candidate');
    await node.deliver('n2', { type: 'request_vote_response', preVote: true, term: 1, granted: true });
    await node.deliver('n2', { type: 'request_vote_response', preVote: true, term: 1, granted: true });
    expect(node.role()).toBe('pre_candidate');
    await node.deliver('n3', { type: 'request_vote_response', preVote: true, term: 1, granted: true });
    expect(node.role()).toBe('candidate');

    await node.deliver('n2', { type: 'request_vote_response', preVote: false, term: 1, granted: true });
    await node.deliver('n2', { type: 'request_vote_response', preVote: false, term: 1, granted: true });
    // A pre-vote grant is not a vote.
    await node.deliver('n4', { type: 'request_vote_response', preVote: true, term: 1, granted: true });
    expect(node.role()).toBe('candidate');
    expect(node.actor.getSnapshot().context.votes).toEqual(['n1', 'n2']);

    await node.deliver('n5', { type: 'request_vote_response', preVote: false, term: 1, granted: true });
    expect(node.role()).toBe('leader');
  });

  test('§5.2 a candidate whose election times out without a majority starts over through pre-vote', async () => {
    const node = await solo();
    await candidateInTerm(node);
    const campaignStart = node.clock.now();
    // Draws so far: the follower timer at start, then the candidate timer.
    const [, candidateTimeout] = expectedTimeouts(SOLO_SEED, 2);

    await node.deliver('n2', { type: 'request_vote_response', preVote: false, term: 1, granted: false });
    await node.advance(candidateTimeout - 1);
    expect(node.role()).toBe('candidate');
    await node.advance(1);

    expect(node.role()).toBe('pre_candidate');
    expect(node.clock.now()).toBe(campaignStart + candidateTimeout);
    // Pre-vote again, for term 2, still at term 1.
    expect(node.actor.getSnapshot().context.term).toBe(1);
    expect(node.outbound().slice(-1)[0].message).toEqual({
      type: 'request_vote',
      preVote: true,
      term: 2,
      candidateId: 'n1',
      lastLogTerm: 0,
      lastLogIndex: 0,
    });
  });

  test('§5.2 a single-node cluster elects itself', async () => {
    const node = await solo({ peers: [] });
    await node.advanceUntilRole('leader');
    expect(node.actor.getSnapshot().context).toMatchObject({ term: 1, votedFor: 'n1', leader: 'n1' });
    await node.advance(1000);
    expect(node.role()).toBe('leader');
  });
});
