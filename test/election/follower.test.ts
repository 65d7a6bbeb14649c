import { InMemoryElectionStorage, type HardState } from '../../providers/storage';
import { expectedTimeouts, gatedStorage, solo, SOLO_SEED } from './harness';

describe('§5.2 followers and the election timeout', () => {
  test('§5.2 a node starts as a follower, after loading its persisted term and vote', async () => {
    const storage = new InMemoryElectionStorage({ term: 4, votedFor: 'n2' });
    const node = await solo({ storage, stopped: true });
    expect(node.actor.getSnapshot().value).toEqual({ stopped: 'idle' });

    node.actor.send({ type: 'start' });
    expect(node.actor.getSnapshot().value).toEqual({ stopped: 'loading' });
    await node.advance(1);

    const { value, context } = node.actor.getSnapshot();
    expect(value).toEqual({ follower: 'waiting' });
    expect([context.term, context.votedFor, context.leader]).toEqual([4, 'n2', null]);
    expect(node.emitted.map(({ event }) => event)).toEqual([
      { type: 'term_changed', from: 0, to: 4 },
      { type: 'role_changed', from: 'stopped', to: 'follower', term: 4 },
    ]);
  });

  test('§5.2 election timeout: a silent follower becomes pre-candidate exactly at its randomized timeout', async () => {
    const [timeout] = expectedTimeouts(SOLO_SEED, 1);
    const node = await solo();
    expect(node.actor.getSnapshot().context.electionTimeoutMs).toBe(timeout);
    expect(timeout).toBeGreaterThanOrEqual(150);
    expect(timeout).toBeLessThanOrEqual(300);

    await node.advance(timeout - 1);
    expect(node.role()).toBe('follower');
    expect(node.outbound()).toEqual([]);

    await node.advance(1);
    expect(node.role()).toBe('pre_candidate');
    // Thesis §9.6: asks for term + 1 without taking it.
    expect(node.actor.getSnapshot().context.term).toBe(0);
    const ask = { type: 'request_vote', preVote: true, term: 1, candidateId: 'n1', lastLogTerm: 0, lastLogIndex: 0 };
    expect(node.outbound()).toEqual([
      { at: timeout, from: 'n1', to: 'n2', message: ask },
      { at: timeout, from: 'n1', to: 'n3', message: ask },
    ]);
  });

  test('§5.2 heartbeats from the current leader restart the election timer', async () => {
    const node = await solo({ storage: new InMemoryElectionStorage({ term: 1, votedFor: null }) });
    const heartbeats = 10;
    for (let i = 0; i < heartbeats; i += 1) {
      await node.advance(100);
      await node.deliver('n2', { type: 'heartbeat', term: 1, leaderId: 'n2' });
    }
    const lastHeartbeat = node.clock.now();
    expect(lastHeartbeat).toBe(1000);
    expect(node.role()).toBe('follower');
    expect(node.actor.getSnapshot().context.leader).toBe('n2');
    expect(node.takeOutbound().map((sent) => sent.message)).toEqual(
      Array.from({ length: heartbeats }, () => ({ type: 'heartbeat_response', term: 1, success: true })),
    );

    // One draw at start and one per heartbeat: the last one is the timer now running.
    const timeouts = expectedTimeouts(SOLO_SEED, heartbeats + 1);
    const running = timeouts[heartbeats];
    await node.advance(running - 1);
    expect(node.role()).toBe('follower');
    await node.advance(1);
    expect(node.role()).toBe('pre_candidate');
    expect(node.clock.now()).toBe(lastHeartbeat + running);
  });

  test('§5.2 without pre-vote, a timed-out follower increments its term, votes for itself, and persists before asking', async () => {
    const [timeout] = expectedTimeouts(SOLO_SEED, 1);
    const disk = gatedStorage();
    const node = await solo({ storage: disk.storage, preVote: false });

    await node.advance(timeout);
    const { value, context } = node.actor.getSnapshot();
    expect(value).toEqual({ candidate: 'persisting' });
    expect([context.term, context.votedFor, context.votes]).toEqual([1, 'n1', ['n1']]);
    expect(node.outbound()).toEqual([]);

    await disk.open();
    expect(disk.storage.peekHardState()).toEqual({ term: 1, votedFor: 'n1' });
    expect(node.actor.getSnapshot().value).toEqual({ candidate: 'campaigning' });
    const ask = { type: 'request_vote', preVote: false, term: 1, candidateId: 'n1', lastLogTerm: 0, lastLogIndex: 0 };
    expect(node.outbound().map((sent) => [sent.to, sent.message])).toEqual([
      ['n2', ask],
      ['n3', ask],
    ]);
  });

  test('a node whose stored state is unreadable reports it and stays stopped', async () => {
    class CorruptStorage extends InMemoryElectionStorage {
      override async loadHardState(): Promise<HardState> {
        return { term: -3, votedFor: 'n2' };
      }
    }
    const node = await solo({ storage: new CorruptStorage() });
    await node.advance(500);
    expect(node.actor.getSnapshot().value).toEqual({ stopped: 'idle' });
    expect(node.emitted.map(({ event }) => [event.type, event.type === 'storage_failed' ? event.operation : null])).toEqual([
      ['storage_failed', 'load'],
    ]);
  });

  test('the context stays plain data: it survives a JSON round trip in every role', async () => {
    const node = await solo();
    const seen = new Set<string>();
    for (let ms = 0; ms < 2000; ms += 1) {
      const { context } = node.actor.getSnapshot();
      seen.add(context.role);
      expect(JSON.parse(JSON.stringify(context))).toEqual(context);
      await node.advance(1);
      // Grant now and then, so the node passes through every role (check-quorum later unseats it).
      if (ms % 7 === 0 && context.role === 'pre_candidate') {
        await node.deliver('n2', { type: 'request_vote_response', preVote: true, term: context.term + 1, granted: true });
      }
      if (ms % 7 === 0 && context.role === 'candidate') {
        await node.deliver('n2', { type: 'request_vote_response', preVote: false, term: context.term, granted: true });
      }
    }
    node.actor.send({ type: 'stop' });
    seen.add(node.actor.getSnapshot().context.role);
    expect(JSON.parse(JSON.stringify(node.actor.getSnapshot().context))).toEqual(node.actor.getSnapshot().context);
    expect([...seen].sort()).toEqual(['candidate', 'follower', 'leader', 'pre_candidate', 'stopped']);
  });

  test('§5.2 a stopped node ignores messages and keeps no timers', async () => {
    const node = await solo({ stopped: true });
    await node.deliver('n2', { type: 'heartbeat', term: 3, leaderId: 'n2' });
    await node.advance(1000);
    expect(node.actor.getSnapshot().value).toEqual({ stopped: 'idle' });
    expect(node.actor.getSnapshot().context.term).toBe(0);
    expect(node.emitted).toEqual([]);
  });
});
