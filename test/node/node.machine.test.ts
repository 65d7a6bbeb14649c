import { createActor, SimulatedClock, type InspectionEvent } from 'xstate';
import { nodeMachine, roundFollowsAnotherLeader, roundStateOf } from '../../machines/node.machine';
import { SYSTEM_IDS } from '../../machines/systemIds';
import { InMemoryElectionStorage } from '../../providers/storage';
import { Frame, Peer } from '../support/fixtures';
import { expectedTimeouts } from '../election/harness';
import { flush, heartbeat, MEMBERS, solo } from './soloNode';
import { createMembership } from '../../guards/quorum';

const proverIds = (node: Awaited<ReturnType<typeof solo>>['node']) =>
  node.roundActor.getSnapshot().context.nextProvers.map((prover) => prover.identity());

describe('the node: one actor system, two sibling machines (SPEC §1)', () => {
  test('the system ids are fixed in one constants module', () => {
    expect(SYSTEM_IDS).toEqual({ node: 'node', round: 'round', election: 'election' });
  });

  test('the round and election machines are children of the node under their system ids, and the inspector sees both', async () => {
    const actors: unknown[] = [];
    const inspect = (event: InspectionEvent) => {
      if (event.type === '@xstate.actor') actors.push(event.actorRef);
    };
    const { node } = await solo({ start: false, config: { inspect } });
    const round = node.actor.system.get(SYSTEM_IDS.round);
    const election = node.actor.system.get(SYSTEM_IDS.election);

    expect(node.actor.system.get(SYSTEM_IDS.node)).toBe(node.actor);
    expect(round).toBe(node.roundActor);
    expect(election).toBe(node.electionActor);
    expect(node.actor.getSnapshot().children[SYSTEM_IDS.round]).toBe(round);
    expect(node.actor.getSnapshot().children[SYSTEM_IDS.election]).toBe(election);
    expect(round._parent).toBe(node.actor);
    expect(election._parent).toBe(node.actor);
    expect(actors.slice(0, 3)).toEqual([node.actor, round, election]);
    expect(round.getSnapshot().value).toBe('stopped');
    expect(election.getSnapshot().context.role).toBe('stopped');
  });

  test('start starts both children; stop stops both and resolves once the round is stopped', async () => {
    const { node, roles } = await solo({ start: false });
    expect([node.actor.getSnapshot().value, node.getState(), node.getRole()]).toEqual(['stopped', 'stopped', 'stopped']);

    node.start();
    await flush();
    expect([node.actor.getSnapshot().value, node.getState(), node.getRole()]).toEqual(['running', 'starting', 'follower']);

    await node.stop();
    expect([node.actor.getSnapshot().value, node.getState(), node.getRole()]).toEqual(['stopped', 'stopped', 'stopped']);
    expect(roles).toEqual([
      { from_role: 'stopped', to_role: 'follower', term: 0 },
      { from_role: 'follower', to_role: 'stopped', term: 0 },
    ]);

    // A stopped node starts again, from where its storage left the term.
    node.start();
    await flush();
    expect([node.actor.getSnapshot().value, node.getState(), node.getRole()]).toEqual(['running', 'starting', 'follower']);
    await node.stop();
  });

  test('one clock runs both machines: the round’s starting timeout and the election timeout both fire on the injected SimulatedClock', async () => {
    const { node, advance, roles } = await solo({ seed: 3 });
    const [electionTimeout] = expectedTimeouts(3, 1);
    await advance(9);
    expect(node.getState()).toBe('starting');
    await advance(1);
    expect(node.roundActor.getSnapshot().value).toEqual({ collecting: 'fetchingLeaders' });
    await advance(electionTimeout - 11);
    expect(node.getRole()).toBe('follower');
    await advance(1);
    expect(roles).toEqual([
      { from_role: 'stopped', to_role: 'follower', term: 0 },
      { from_role: 'follower', to_role: 'pre_candidate', term: 0 },
    ]);
    await node.stop();
  });

  test('the election’s leader goes into the node’s context and is the round’s prover', async () => {
    const { node, advance, leaders } = await solo();
    await solo_deliverHeartbeat(node, 'n2', 1);
    expect(node.actor.getSnapshot().context).toMatchObject({ leader: 'n2', term: 1, role: 'follower' });
    expect(node.getLeader()).toEqual(new Peer('n2'));
    expect(node.getTerm()).toBe(1);
    expect(leaders).toEqual([{ leader: 'n2', term: 1 }]);

    await advance(10);
    // The leader alone proves a rank's first attempt: n1 waits to hear that n2 is alive.
    expect(node.roundActor.getSnapshot().value).toEqual({ liveness_check: 'waiting' });
    expect(proverIds(node)).toEqual(['n2']);
    await node.stop();
  });

  test('with no leader known, the round waits for its prover order without provider errors; the first leader releases it', async () => {
    const { node, advance, deliver } = await solo({ seed: 5 });
    await advance(100);
    expect(node.roundActor.getSnapshot().value).toEqual({ collecting: 'fetchingLeaders' });
    expect(node.getProviderErrorCount()).toBe(0);

    await deliver('n3', heartbeat('n3', 1));
    expect(node.roundActor.getSnapshot().value).toEqual({ liveness_check: 'waiting' });
    expect(proverIds(node)).toEqual(['n3']);
    expect(node.getProviderErrorCount()).toBe(0);
    await node.stop();
  });

  test('a new leader restarts an undecided round ordered by the old one, which then follows the new leader', async () => {
    const { node, advance, deliver, transitions, leaders } = await solo();
    await deliver('n2', heartbeat('n2', 1));
    await advance(40);
    // n1 is no prover: it waits for the leader's liveness, then its proposal.
    expect(node.roundActor.getSnapshot().value).toEqual({ liveness_check: 'waiting' });
    expect(proverIds(node)).toEqual(['n2']);
    const before = transitions.length;

    await deliver('n3', heartbeat('n3', 2));
    expect(leaders).toEqual([
      { leader: 'n2', term: 1 },
      { leader: null, term: 2 },
      { leader: 'n3', term: 2 },
    ]);
    expect(transitions.slice(before, before + 1)).toEqual([{ from: 'liveness_check', to: 'loading', event: 'induce_sync' }]);
    expect(transitions.slice(before).filter((t) => t.event === 'induce_sync')).toHaveLength(1);
    expect(node.roundActor.getSnapshot().value).toEqual({ liveness_check: 'waiting' });
    expect(proverIds(node)).toEqual(['n3']);
    await node.stop();
  });

  test('losing the leader to an election restarts the undecided round, which waits for the next leader', async () => {
    const { node, advance, deliver, transitions, roles } = await solo();
    await deliver('n2', heartbeat('n2', 1));
    await advance(40);
    const before = transitions.length;
    while (node.getRole() !== 'pre_candidate') await advance(1);
    expect(roles.slice(-1)).toEqual([{ from_role: 'follower', to_role: 'pre_candidate', term: 1 }]);
    expect(transitions.slice(before)).toEqual([
      { from: 'liveness_check', to: 'loading', event: 'induce_sync' },
      { from: 'loading', to: 'collecting', event: 'sync_complete' },
    ]);
    expect(node.roundActor.getSnapshot().value).toEqual({ collecting: 'fetchingLeaders' });

    await deliver('n3', heartbeat('n3', 2));
    expect(node.roundActor.getSnapshot().value).toEqual({ liveness_check: 'waiting' });
    expect(proverIds(node)).toEqual(['n3']);
    await node.stop();
  });

  test('with resyncOnLeaderChange off, the round keeps the order it started with', async () => {
    const { node, advance, deliver, transitions } = await solo({ config: { resyncOnLeaderChange: false } });
    await deliver('n2', heartbeat('n2', 1));
    await advance(40);
    await deliver('n3', heartbeat('n3', 2));
    expect(node.getLeader()).toEqual(new Peer('n3'));
    await advance(40);
    expect(transitions.filter((t) => t.event === 'induce_sync')).toEqual([]);
    expect(node.roundActor.getSnapshot().value).toEqual({ liveness_check: 'waiting' });
    expect(proverIds(node)).toEqual(['n2']);
    await node.stop();
  });
});

describe('what else the node relays between its host and the election', () => {
  test('log_position sent to the node reaches the election, for the §5.4.1 vote check', async () => {
    const { node } = await solo();
    node.actor.send({ type: 'log_position', position: { lastLogTerm: 3, lastLogIndex: 7 } });
    expect(node.electionActor.getSnapshot().context.logPosition).toEqual({ lastLogTerm: 3, lastLogIndex: 7 });
    await node.stop();
  });

  test('a storage failure of the election is emitted by the node and reported to the trace logger', async () => {
    const failure = new Error('disk gone');
    const errors: [string, unknown][] = [];
    const emitted: unknown[] = [];
    const storage = new InMemoryElectionStorage(null, {
      beforeLoad: () => {
        throw failure;
      },
    });
    const { node, advance, transitions } = await solo({
      start: false,
      storage,
      config: { traceLogger: { trace() {}, error: (message, error) => errors.push([message, error]) } },
    });
    node.actor.on('storage_failed', (event) => emitted.push(event));
    node.start();
    await flush();
    expect(emitted).toEqual([{ type: 'storage_failed', operation: 'load', error: failure }]);
    // The round keeps its lock on the same storage, so its read fails too.
    expect(errors).toEqual([
      ['election: term/vote load failed', failure],
      ['starting: loadSafety failed', failure],
    ]);
    // Without its term and vote the election must not run: it stays stopped.
    // Without its lock the round must not vote: it waits in starting.
    expect([node.getRole(), node.getState()]).toEqual(['stopped', 'starting']);
    // Each starting timeout (10 ms) reads the round's record again; once the
    // storage answers, the next one lets the round run on.
    storage.hooks = {};
    await advance(20);
    expect(errors).toHaveLength(2);
    expect(node.getRole()).toBe('stopped');
    expect(transitions.slice(0, 3).map(({ from, to, event }) => `${from}>${to}[${event}]`)).toEqual([
      'stopped>starting[start]',
      'starting>starting[init_complete]',
      'starting>loading[init_complete]',
    ]);
    await node.stop();
  });

  test('a bad message sent to the node actor directly, past receiveElectionMessage, is refused by the election and reported', async () => {
    const traces: string[] = [];
    const { node, outbound, leaders } = await solo({ config: { traceLogger: { trace: (m) => traces.push(m), error() {} } } });
    const before = node.electionActor.getSnapshot().context;
    node.actor.send({ type: 'election_message', from: 'n9', message: heartbeat('n9', 4) });
    expect(node.electionActor.getSnapshot().context).toEqual(before);
    expect([outbound, leaders]).toEqual([[], []]);
    expect(traces.filter((t) => t.includes('n9'))).toEqual(['n9 is not a member of this cluster']);
    await node.stop();
  });
});

/** Heartbeats arrive through the same validated path as any transport delivery. */
async function solo_deliverHeartbeat(node: Awaited<ReturnType<typeof solo>>['node'], leader: string, term: number) {
  node.receiveElectionMessage(leader, heartbeat(leader, term));
  await flush();
}

describe('roundFollowsAnotherLeader: when a leader change restarts a round', () => {
  const clock = new SimulatedClock();
  const round = createActor(nodeMachine, {
    clock,
    input: {
      round: {
        self: new Peer('n1'),
        initialState: Frame.genesis(),
        thresholds: { provers: 1, liveness: 1, proposals: 1 },
        timeouts: {
          starting: 1,
          loading: 1,
          syncRetry: 1,
          collecting: 1,
          livenessCheck: 1,
          proving: 1,
          publishing: 1,
          voting: 1,
          finalizing: 1,
          verifying: 1,
          stopping: 1,
          attempt: 1,
          attemptGrowth: 1,
          attemptMax: 1,
        },
        rankWindow: 4,
        membership: createMembership([{ id: 'n1', weight: 1 }]),
        shouldEmitReceiveEventsOnSends: true,
        attemptWindow: 4,
      },
      election: { id: 'n1', peers: ['n2', 'n3'] },
      resyncOnLeaderChange: true,
    },
  }).system.get(SYSTEM_IDS.round);
  const base = round.getSnapshot();
  const at = (value: unknown, context: Partial<typeof base.context>) =>
    ({ ...base, value, context: { ...base.context, ...context } }) as typeof base;
  const ordered = { nextProvers: [new Peer('n2'), new Peer('n1')], nextProversRank: 1 };

  test.each([
    ['collecting', { collecting: 'deciding' }],
    ['liveness_check', { liveness_check: 'waiting' }],
    ['proving', { proving: 'working' }],
    ['publishing', { publishing: 'sending' }],
    ['voting', { voting: 'awaitingProposals' }],
  ])('%s, ordered by n2, not voted: restarted for n3 and for no leader, not for n2', (_, value) => {
    expect(roundStateOf(at(value, ordered))).toBe(_);
    expect(roundFollowsAnotherLeader(at(value, ordered), 'n3')).toBe(true);
    expect(roundFollowsAnotherLeader(at(value, ordered), null)).toBe(true);
    expect(roundFollowsAnotherLeader(at(value, ordered), 'n2')).toBe(false);
  });

  test.each([
    ['stopped', 'stopped'],
    ['starting', 'starting'],
    ['loading', { loading: 'synchronizing' }],
    ['finalizing', { finalizing: 'aggregating' }],
    ['verifying', { verifying: 'confirming' }],
    ['stopping', 'stopping'],
  ])('%s is never restarted: it has no order yet, or has decided', (_, value) => {
    expect(roundFollowsAnotherLeader(at(value, ordered), 'n3')).toBe(false);
  });

  test('a round that has voted keeps its vote, and an order for another rank is not the round’s', () => {
    expect(roundFollowsAnotherLeader(at({ voting: 'awaitingVotes' }, { ...ordered, votedAttempt: 0 }), 'n3')).toBe(false);
    expect(roundFollowsAnotherLeader(at({ voting: 'awaitingProposals' }, { ...ordered, nextProversRank: 0 }), 'n3')).toBe(false);
    expect(roundFollowsAnotherLeader(at({ voting: 'awaitingProposals' }, { nextProvers: [], nextProversRank: 1 }), 'n3')).toBe(false);
  });
});
