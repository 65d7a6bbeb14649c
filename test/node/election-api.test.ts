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

/** Something that throws whatever is done with it, to be thrown itself: a refusal must not inspect what was thrown. */
function revoked(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

function withGetter(message: object, key: string, get: () => unknown): object {
  return Object.defineProperty({ ...message }, key, { get, enumerable: true, configurable: true });
}

/** Payloads and senders that fight back when read: each must be a typed refusal like any junk. */
function hostile(): [string, unknown, unknown, string][] {
  const valid = heartbeat('n2', 1);
  // What reading through `get` sees is a valid heartbeat; the target has none of it.
  const lying = new Proxy({}, { ownKeys: () => Object.keys(valid), get: (_, key) => (valid as Record<PropertyKey, unknown>)[key] });
  const inherited = Object.assign(Object.create({ term: 1 }), { type: 'heartbeat', leaderId: 'n2' });
  const nested = Array.from({ length: 10_000 }).reduce((inner) => [inner], 'n2');
  let reads = 0;
  const throwing = new Proxy(
    {},
    {
      get: () => {
        throw revoked();
      },
      ownKeys: () => {
        throw revoked();
      },
      getPrototypeOf: () => {
        throw revoked();
      },
    },
  );
  return [
    ['a term behind a getter that throws', 'n2', withGetter(valid, 'term', () => { throw revoked(); }), 'invalid_message'],
    ['a term behind a getter that answers 1, then 7', 'n2', withGetter(valid, 'term', () => (reads++ === 0 ? 1 : 7)), 'invalid_message'],
    ['a Proxy whose traps throw a revoked Proxy', 'n2', throwing, 'invalid_message'],
    ['a revoked Proxy', 'n2', revoked(), 'invalid_message'],
    ['a Proxy forwarding to a valid heartbeat', 'n2', new Proxy({ ...valid }, {}), 'invalid_message'],
    ['a Proxy listing keys its target lacks', 'n2', lying, 'invalid_message'],
    ['an own __proto__ key', 'n2', JSON.parse('{"type":"heartbeat","term":1,"leaderId":"n2","__proto__":{}}'), 'invalid_message'],
    ['a constructor key', 'n2', { ...valid, constructor: 'Object' }, 'invalid_message'],
    ['the fields on an instance of a class', 'n2', Object.assign(new (class Heartbeat {})(), valid), 'invalid_message'],
    ['the fields on an array', 'n2', Object.assign([], valid), 'invalid_message'],
    ['a term inherited from the prototype', 'n2', inherited, 'invalid_message'],
    ['a symbol key', 'n2', { ...valid, [Symbol('x')]: 1 }, 'invalid_message'],
    ['a bigint term', 'n2', { ...valid, term: 1n }, 'invalid_message'],
    ['a NaN term', 'n2', { ...valid, term: Number.NaN }, 'invalid_message'],
    ['an infinite term', 'n2', { ...valid, term: Number.POSITIVE_INFINITY }, 'invalid_message'],
    ['a term past MAX_SAFE_INTEGER', 'n2', { ...valid, term: 2 ** 60 }, 'invalid_message'],
    ['a function as leader id', 'n2', { ...valid, leaderId: () => 'n2' }, 'invalid_message'],
    ['a megabyte leader id', 'n2', { ...valid, leaderId: 'n'.repeat(1 << 20) }, 'invalid_message'],
    ['a deeply nested leader id', 'n2', { ...valid, leaderId: nested }, 'invalid_message'],
    ['a Proxy as leader id', 'n2', { ...valid, leaderId: throwing }, 'invalid_message'],
    ['a revoked Proxy as sender', revoked(), valid, 'invalid_sender'],
    ['a sender whose identity getter throws', withGetter({}, 'identity', () => { throw revoked(); }), valid, 'invalid_sender'],
    ['a sender whose identity() returns a revoked Proxy', { identity: () => revoked() }, valid, 'invalid_sender'],
    ['a sender whose identity() returns a megabyte string', { identity: () => 'n'.repeat(1 << 20) }, valid, 'invalid_sender'],
    ['a bigint sender', 2n, valid, 'invalid_sender'],
    ['a symbol sender', Symbol('n2'), valid, 'invalid_sender'],
  ];
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
    ...hostile(),
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

  test('a payload is read once, through its own properties: no getter runs, each Proxy trap runs at most once per key', async () => {
    const peer = await solo();
    let getterCalls = 0;
    const shifty = withGetter(heartbeat('n2', 1), 'term', () => ++getterCalls);
    expect(() => peer.node.receiveElectionMessage('n2', shifty)).toThrow(ElectionMessageError);
    expect(getterCalls).toBe(0);

    const trapCalls = new Map<string, number>();
    const counting = new Proxy({} as ProxyHandler<object>, {
      get: (_, trap: string) => (target: object, ...args: unknown[]) => {
        const key = `${trap} ${typeof args[0] === 'string' ? args[0] : ''}`;
        trapCalls.set(key, (trapCalls.get(key) ?? 0) + 1);
        return (Reflect[trap as keyof typeof Reflect] as (...a: unknown[]) => unknown)(target, ...args);
      },
    });
    expect(() => peer.node.receiveElectionMessage('n2', new Proxy({ ...heartbeat('n2', 1) }, counting))).toThrow(
      'Proxy',
    );
    expect(trapCalls.size).toBeGreaterThan(0);
    expect([...trapCalls.values()].every((calls) => calls === 1)).toBe(true);

    let lookups = 0;
    let calls = 0;
    const sender = withGetter({}, 'identity', () => {
      lookups += 1;
      return () => `n${2 + calls++}`;
    });
    peer.node.receiveElectionMessage(sender as Peer, heartbeat('n2', 1));
    expect([lookups, calls]).toEqual([1, 1]);
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
