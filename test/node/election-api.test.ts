import { SimulatedClock } from 'xstate';
import { ConsensusConfigError } from '../../engine/errors';
import { ElectionMessageError } from '../../machines/election.schemas';
import { createNode } from '../../node/createNode';
import type { NodeConfig } from '../../node/config';
import { createSeededRandom } from '../../providers/random';
import { InMemoryElectionStorage } from '../../providers/storage';
import { Ballot, Batch, Frame, fixtureCodec, Peer } from '../support/fixtures';
import { heartbeat, inertProviders, requestVote, solo, type Solo } from './soloNode';

/** Everything observable about a node: its three actors' snapshots and its storage. */
function observe({ node, storage, outbound, roles, leaders, transitions }: Solo) {
  const snapshot = (actor: { getSnapshot(): { value: unknown; context: unknown; status: string } }) => {
    const { value, context, status } = actor.getSnapshot();
    return { value, context, status };
  };
  return {
    node: snapshot(node.actor),
    round: snapshot(node.roundActor),
    election: snapshot(node.electionActor),
    stored: storage.peekHardState(),
    saves: storage.saveCount,
    outbound: outbound.length,
    roles: roles.length,
    leaders: leaders.length,
    transitions: transitions.length,
  };
}

describe('receiveElectionMessage: peers’ election messages are validated at the node’s edge', () => {
  const junk: [string, unknown, unknown, string][] = [
    ['a number', 'n2', 42, 'invalid_message'],
    ['null', 'n2', null, 'invalid_message'],
    ['an unknown message type', 'n2', { type: 'append_entries', term: 1 }, 'invalid_message'],
    ['a heartbeat without a leader id', 'n2', { type: 'heartbeat', term: 1 }, 'invalid_message'],
    ['a negative term', 'n2', { type: 'heartbeat', term: -1, leaderId: 'n2' }, 'invalid_message'],
    ['a fractional term', 'n2', { type: 'heartbeat', term: 1.5, leaderId: 'n2' }, 'invalid_message'],
    ['an extra field', 'n2', { ...heartbeat('n2', 1), entries: [] }, 'invalid_message'],
    ['a string term', 'n2', { ...requestVote('n2', 1), term: '1' }, 'invalid_message'],
    ['a heartbeat claiming another leader', 'n2', heartbeat('n3', 1), 'sender_mismatch'],
    ['a vote request for another candidate', 'n3', requestVote('n2', 5), 'sender_mismatch'],
    ['a sender outside the cluster', 'n9', heartbeat('n9', 1), 'unknown_sender'],
    ['the node itself as sender', 'n1', heartbeat('n1', 1), 'unknown_sender'],
    ['an empty sender id', '', heartbeat('n2', 1), 'invalid_sender'],
    ['a sender id with a space', 'n 2', heartbeat('n2', 1), 'invalid_sender'],
    ['a numeric sender', 2, heartbeat('n2', 1), 'invalid_sender'],
    [
      'a sender whose identity() throws',
      {
        identity() {
          throw new Error('boom');
        },
      },
      heartbeat('n2', 1),
      'invalid_sender',
    ],
  ];

  test.each(junk)('%s is refused with ElectionMessageError and changes nothing', async (_, from, raw, code) => {
    const peer = await solo();
    await peer.deliver('n2', heartbeat('n2', 1));
    await peer.advance(5);
    const before = observe(peer);

    let thrown: unknown;
    try {
      peer.node.receiveElectionMessage(from as string, raw);
    } catch (error) {
      thrown = error;
    }
    await peer.advance(1);
    expect(thrown).toBeInstanceOf(ElectionMessageError);
    expect((thrown as ElectionMessageError).code).toBe(code);
    // The clock moved 1 ms; nothing scheduled fires in it, so any difference is the message's doing.
    expect(observe(peer)).toEqual(before);
    await peer.node.stop();
  });

  test('the comparison is not vacuous: a valid message from the same peer does change the node', async () => {
    const peer = await solo();
    await peer.deliver('n2', heartbeat('n2', 1));
    await peer.advance(5);
    const before = observe(peer);
    await peer.deliver('n3', heartbeat('n3', 2));
    expect(observe(peer)).not.toEqual(before);
    expect(peer.node.getLeader()).toEqual(new Peer('n3'));
    await peer.node.stop();
  });

  test('the sender may be given as a member value or as its identity', async () => {
    const peer = await solo();
    peer.node.receiveElectionMessage(new Peer('n2'), heartbeat('n2', 1));
    await peer.advance(1);
    peer.node.receiveElectionMessage('n2', heartbeat('n2', 1));
    await peer.advance(1);
    expect(peer.outbound).toEqual([
      { to: 'n2', message: { type: 'heartbeat_response', term: 1, success: true } },
      { to: 'n2', message: { type: 'heartbeat_response', term: 1, success: true } },
    ]);
    await peer.node.stop();
  });
});

describe('vote fencing across a restart (SPEC §3, §6)', () => {
  test('a restarted node (new node, same storage) does not vote twice in its term, and re-grants the candidate it chose', async () => {
    const storage = new InMemoryElectionStorage();
    const clock = new SimulatedClock();
    const first = await solo({ storage, clock, seed: 1 });
    await first.deliver('n2', requestVote('n2', 1));
    expect(first.outbound).toEqual([
      { to: 'n2', message: { type: 'request_vote_response', preVote: false, term: 1, granted: true } },
    ]);
    expect(storage.peekHardState()).toEqual({ term: 1, votedFor: 'n2' });

    // A crash: the node's actors stop, its storage stays.
    first.node.actor.stop();
    const second = await solo({ storage, clock, seed: 2 });
    expect([second.node.getRole(), second.node.getTerm()]).toEqual(['follower', 1]);

    await second.deliver('n3', requestVote('n3', 1));
    await second.deliver('n2', requestVote('n2', 1));
    expect(second.outbound).toEqual([
      { to: 'n3', message: { type: 'request_vote_response', preVote: false, term: 1, granted: false } },
      { to: 'n2', message: { type: 'request_vote_response', preVote: false, term: 1, granted: true } },
    ]);
    expect(storage.peekHardState()).toEqual({ term: 1, votedFor: 'n2' });
    await second.node.stop();
  });
});

describe('createNode configuration', () => {
  const clock = new SimulatedClock();
  const base = (): NodeConfig<Frame, Ballot, Peer, Batch> => ({
    id: new Peer('n1'),
    initialState: Frame.genesis(),
    members: ['n1', 'n2', 'n3'].map((name) => new Peer(name)),
    providers: inertProviders(clock),
    codec: fixtureCodec,
    election: { storage: new InMemoryElectionStorage(), random: createSeededRandom(1) },
    clock,
  });
  const issues = (config: unknown) => {
    try {
      createNode(config as NodeConfig<Frame, Ballot, Peer, Batch>);
    } catch (error) {
      if (error instanceof ConsensusConfigError) return error.issues;
      throw error;
    }
    return [];
  };

  test('a valid configuration builds a stopped node', () => {
    const node = createNode(base());
    expect([node.actor.getSnapshot().value, node.getState(), node.getRole(), node.getTerm(), node.getLeader()]).toEqual([
      'stopped',
      'stopped',
      'stopped',
      0,
      null,
    ]);
  });

  test('refuses members without the node, duplicate members, and ids the election cannot carry', () => {
    expect(issues({ ...base(), members: [new Peer('n2'), new Peer('n3')] })).toEqual(['members: members must include the node itself']);
    expect(issues({ ...base(), members: ['n1', 'n2', 'n2'].map((n) => new Peer(n)) })).toEqual([
      'members: member identities must be distinct',
    ]);
    expect(issues({ ...base(), members: ['n1', 'bad id'].map((n) => new Peer(n)) })).toEqual([
      'members.1.id: node id: letters, digits and . _ : @ - only',
    ]);
  });

  test('refuses both a prover and a leader provider, or neither', () => {
    const { prover, ...rest } = base().providers as { prover: unknown };
    const leader = { getNextLeaders: async () => [new Peer('n1')], proveNextState: async () => Frame.genesis() };
    const expected = ['providers: give either providers.prover (the election orders the provers) or providers.leader, not both'];
    expect(issues({ ...base(), providers: { ...rest, prover, leader } })).toEqual(expected);
    expect(issues({ ...base(), providers: rest })).toEqual(expected);
  });

  test('refuses an election without storage or randomness, and bad election timing', () => {
    expect(issues({ ...base(), election: { storage: new InMemoryElectionStorage() } })).toEqual([
      'election.random: Invalid input: expected object, received undefined',
    ]);
    expect(
      issues({ ...base(), election: { ...base().election, timing: { electionTimeoutMinMs: 300, electionTimeoutMaxMs: 150 } } }),
    ).toEqual(['election: electionTimeoutMinMs must not exceed electionTimeoutMaxMs']);
  });

  test('engine settings are still checked by the engine', () => {
    expect(issues({ ...base(), rankWindow: 0 })).toEqual(['rankWindow: Too small: expected number to be >=1']);
  });

  test('an app’s own LeaderProvider is used as is, and leader changes then do not restart rounds by default', async () => {
    const asked: number[] = [];
    const node = createNode<Frame, Ballot, Peer, Batch>({
      ...base(),
      providers: {
        ...inertProviders(clock),
        prover: undefined,
        leader: {
          getNextLeaders: async (prior) => {
            asked.push(prior.height);
            return [new Peer('n3'), new Peer('n1')];
          },
          proveNextState: (_prior, _collected, signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
        },
      },
      timeouts: { starting: 1, proving: 5 },
    });
    node.start();
    for (let ms = 0; ms < 20; ms += 1) {
      clock.increment(1);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(asked).toEqual([0]);
    expect(node.roundActor.getSnapshot().context.nextProvers.map((p) => p.identity())).toEqual(['n3', 'n1']);
    expect(node.actor.getSnapshot().context.resyncOnLeaderChange).toBe(false);
    await node.stop();
  });
});
