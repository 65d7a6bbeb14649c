import { and, assertEvent, assign, emit, enqueueActions, fromPromise, raise, setup } from 'xstate';
import type { ActorRefFrom, ParameterizedObject, SnapshotFrom } from 'xstate';
import {
  canGrantPreVote,
  canGrantVote,
  currentTerm,
  hasPreVoteMajority,
  hasUndurableHardState,
  hasVoteMajority,
  heardFromQuorum,
  isFollower,
  isGrantedPreVote,
  isGrantedVote,
  isStopped,
  mustAdoptTerm,
  preVoteEnabled,
  savedStateIsStale,
  staleTerm,
} from '../guards/election';
import type { HardState } from '../providers/storage';
import {
  checkInbound,
  HardStateSchema,
  resolveElectionInput,
  type ElectionInput,
  type ElectionMessage,
  type ResolvedElectionInput,
} from './election.schemas';

/**
 * Raft-lite leader election (SPEC §3) as a pure statechart in the etcd-raft
 * style: peer messages come in as `receive` events, messages go out as emitted
 * `outbound` events, time comes from the actor's clock and randomness from an
 * injected `RandomSource`. No network, disk or wall clock inside.
 */

export type {
  ElectionAdmittedEvent,
  ElectionContext,
  ElectionDependencies,
  ElectionEmitted,
  ElectionEvent,
  ElectionRole,
  ElectionRpcEvent,
  NodeId,
  OutboundMessage,
} from './election.types';
import type {
  ElectionAdmittedEvent,
  ElectionContext,
  ElectionDependencies,
  ElectionEmitted,
  ElectionEvent,
  ElectionRole,
  ElectionRpcEvent,
  NodeId,
  OutboundMessage,
} from './election.types';

/**
 * Replies wait in the outbox for one storage round-trip, and each inbound
 * message adds at most one reply; a node that falls this far behind is
 * overloaded, and dropping further replies is no worse than the network
 * losing them, which Raft already tolerates.
 */
export const MAX_OUTBOX = 1024;

/** The scheduled-event id of the stickiness timer, so a heartbeat can restart it. */
const LEASE_TIMER = 'election.leaderLease';

const FRESH_HARD_STATE: HardState = Object.freeze({ term: 0, votedFor: null });

function initialContext(input: ResolvedElectionInput): ElectionContext {
  return {
    id: input.id,
    peers: input.peers,
    timing: input.timing,
    preVote: input.preVote,
    role: 'stopped',
    term: 0,
    votedFor: null,
    leader: null,
    durable: FRESH_HARD_STATE,
    leaderLive: false,
    preVotes: [],
    votes: [],
    quorumAcks: [],
    electionTimeoutMs: input.timing.electionTimeoutMaxMs,
    logPosition: input.logPosition,
    outbox: [],
  };
}

function withMember(set: readonly NodeId[], id: NodeId): readonly NodeId[] {
  return set.includes(id) ? set : [...set, id];
}

function toRpcEvent({ from, message }: ElectionAdmittedEvent): ElectionRpcEvent {
  switch (message.type) {
    case 'request_vote':
      return { type: 'rpc.request_vote', from, message };
    case 'request_vote_response':
      return { type: 'rpc.request_vote_response', from, message };
    case 'heartbeat':
      return { type: 'rpc.heartbeat', from, message };
    case 'heartbeat_response':
      return { type: 'rpc.heartbeat_response', from, message };
  }
}

interface Sender {
  emit(event: ElectionEmitted): void;
  assign(values: { outbox: readonly OutboundMessage[] }): void;
}

/**
 * Raft's rule that a node persists its term and vote before answering: while
 * they are not durable, messages wait in the outbox and leave when the save
 * that covers them resolves.
 */
function send(context: ElectionContext, enqueue: Sender, messages: readonly OutboundMessage[]): void {
  if (messages.length === 0) return;
  if (!hasUndurableHardState({ context })) {
    for (const { to, message } of messages) enqueue.emit({ type: 'outbound', to, message });
    return;
  }
  const room = Math.max(0, MAX_OUTBOX - context.outbox.length);
  enqueue.assign({ outbox: [...context.outbox, ...messages.slice(0, room)] });
}

function toEveryPeer(context: ElectionContext, message: ElectionMessage): OutboundMessage[] {
  return context.peers.map((to) => ({ to, message }));
}

type ElectionDelay = 'electionTimeout' | 'leaderLease' | 'preVoteTimeout' | 'heartbeatInterval' | 'checkQuorumInterval';

/**
 * `enqueueActions` with its type parameters spelled out. Inferred inside
 * `setup()`, TypeScript cannot resolve them (statelyai/xstate#4545, #4923);
 * these collectors enqueue only built-in actions, so the named-action, guard and
 * actor parameters are `never`.
 */
function collect<TParams extends ParameterizedObject['params'] | undefined = undefined>(
  fn: Parameters<
    typeof enqueueActions<ElectionContext, ElectionEvent, TParams, ElectionEvent, never, never, never, ElectionDelay, ElectionEmitted>
  >[0],
) {
  return enqueueActions<ElectionContext, ElectionEvent, TParams, ElectionEvent, never, never, never, ElectionDelay, ElectionEmitted>(fn);
}

function missing(what: string): never {
  throw new Error(
    `election machine: no ${what}; give \`dependencies\` in the input, or build the machine with createElectionMachine({ storage, random })`,
  );
}

// Keyed by the actor system: one election runs per system (a node's, or its own).
const dependenciesBySystem = new WeakMap<object, ElectionDependencies>();
const dependenciesOf = (system: object): ElectionDependencies | undefined => dependenciesBySystem.get(system);

/**
 * Saves term and vote, then moves on to `next` with the replies that waited
 * for them. A save that finishes after the state moved on saves again; a
 * failed save stops the node.
 */
const persistingStep = (next: string) => ({
  invoke: {
    src: 'saveHardState' as const,
    input: ({ context }: { context: ElectionContext }) => ({ term: context.term, votedFor: context.votedFor }),
    onDone: [
      {
        guard: {
          type: 'savedStateIsStale' as const,
          params: ({ event }: { event: { output: HardState } }) => event.output,
        },
        target: 'persisting',
        reenter: true,
        actions: {
          type: 'markDurable' as const,
          params: ({ event }: { event: { output: HardState } }) => event.output,
        },
      },
      {
        target: next,
        actions: [
          {
            type: 'markDurable' as const,
            params: ({ event }: { event: { output: HardState } }) => event.output,
          },
          'flushOutbox' as const,
        ],
      },
    ],
    onError: {
      target: '#election.stopped',
      actions: {
        type: 'reportStorageFailure' as const,
        params: ({ event }: { event: { error: unknown } }) => ({ operation: 'save' as const, error: event.error }),
      },
    },
  },
});

export const electionMachine = setup({
  types: {
    context: {} as ElectionContext,
    events: {} as ElectionEvent,
    input: {} as ElectionInput,
    emitted: {} as ElectionEmitted,
  },
  actors: {
    // Through the input's dependencies, so every node of a process shares this one definition.
    loadHardState: fromPromise<HardState, void>(async ({ system }) => {
      const storage = dependenciesOf(system)?.storage ?? missing('ElectionStorage');
      return HardStateSchema.parse((await storage.loadHardState()) ?? FRESH_HARD_STATE);
    }),
    saveHardState: fromPromise<HardState, HardState>(async ({ input, system }) => {
      const storage = dependenciesOf(system)?.storage ?? missing('ElectionStorage');
      await storage.saveHardState(input);
      return input;
    }),
  },
  delays: {
    electionTimeout: ({ context }) => context.electionTimeoutMs,
    leaderLease: ({ context }) => context.timing.electionTimeoutMinMs,
    preVoteTimeout: ({ context }) => context.timing.preVoteTimeoutMs,
    heartbeatInterval: ({ context }) => context.timing.heartbeatIntervalMs,
    // etcd-raft's choice: a leader must hear from a quorum once per base election timeout.
    checkQuorumInterval: ({ context }) => context.timing.electionTimeoutMinMs,
  },
  guards: {
    isStopped,
    isFollower,
    mustAdoptTerm,
    staleTerm,
    currentTerm,
    canGrantVote,
    canGrantPreVote,
    isGrantedVote,
    isGrantedPreVote,
    hasVoteMajority,
    hasPreVoteMajority,
    heardFromQuorum,
    hasUndurableHardState,
    preVoteEnabled,
    savedStateIsStale,
  },
  actions: {
    // One check per received event: what it admits is a copy, so no later
    // guard or action can read a payload that answers differently the second time.
    admitInbound: collect(({ context, event, enqueue }) => {
      assertEvent(event, 'receive');
      const checked = checkInbound(event.from, event.message, context.peers);
      if (!checked.ok) enqueue.emit({ type: 'message_rejected', error: checked.error });
      else enqueue.raise({ type: 'admitted', from: checked.event.from, message: checked.event.message });
    }),
    routeInbound: raise(({ event }) => {
      assertEvent(event, 'admitted');
      return toRpcEvent(event);
    }),
    // Hands the current event to whatever state the transition lands in.
    redeliver: raise(({ event }) => event),
    updateLogPosition: assign({
      logPosition: ({ event }) => {
        assertEvent(event, 'log_position');
        return { lastLogTerm: event.position.lastLogTerm, lastLogIndex: event.position.lastLogIndex };
      },
    }),
    /**
     * Majorities are counted over the members now: votes and acknowledgements
     * from members that left no longer count, and their messages are refused.
     */
    updatePeers: assign(({ context, event }) => {
      assertEvent(event, 'members_changed');
      const peers = [...new Set(event.peers)].filter((peer) => peer !== context.id).sort();
      const counts = (id: NodeId) => id === context.id || peers.includes(id);
      return {
        peers,
        preVotes: context.preVotes.filter(counts),
        votes: context.votes.filter(counts),
        quorumAcks: context.quorumAcks.filter(counts),
      };
    }),
    expireLeaderLease: assign({ leaderLive: false }),
    enterRole: collect<{ role: ElectionRole }>(({ context, enqueue }, params) => {
      if (context.role === params.role) return;
      enqueue.assign({ role: params.role });
      enqueue.emit({ type: 'role_changed', from: context.role, to: params.role, term: context.term });
    }),
    drawElectionTimeout: assign({
      electionTimeoutMs: ({ context, self }) =>
        (dependenciesOf(self.system)?.random ?? missing('RandomSource')).integer(
          context.timing.electionTimeoutMinMs,
          context.timing.electionTimeoutMaxMs,
        ),
    }),
    restoreHardState: collect<HardState>(({ context, enqueue }, saved) => {
      const durable = { term: saved.term, votedFor: saved.votedFor };
      enqueue.assign({ term: durable.term, votedFor: durable.votedFor, durable });
      if (durable.term !== context.term) enqueue.emit({ type: 'term_changed', from: context.term, to: durable.term });
    }),
    markDurable: assign((_, saved: HardState) => ({ durable: { term: saved.term, votedFor: saved.votedFor } })),
    flushOutbox: collect(({ context, enqueue }) => {
      for (const { to, message } of context.outbox) {
        // Composed for a term the node has since left: its vote may never have become durable.
        if (message.term >= context.term) enqueue.emit({ type: 'outbound', to, message });
      }
      enqueue.assign({ outbox: [] });
    }),
    dropOutbox: assign({ outbox: [] }),
    reportStorageFailure: emit((_, params: { operation: 'load' | 'save'; error: unknown }) => ({
      type: 'storage_failed' as const,
      operation: params.operation,
      error: params.error,
    })),
    adoptTerm: collect(({ context, event, enqueue }) => {
      if (!('message' in event)) return;
      const term = event.message.term;
      enqueue.assign({ term, votedFor: null, leader: null, leaderLive: false });
      enqueue.cancel(LEASE_TIMER);
      enqueue.emit({ type: 'term_changed', from: context.term, to: term });
      if (context.leader !== null) enqueue.emit({ type: 'leader_changed', leader: null, term });
    }),
    acceptLeader: collect(({ context, event, enqueue }) => {
      assertEvent(event, 'rpc.heartbeat');
      if (context.leader !== event.from) {
        enqueue.assign({ leader: event.from });
        enqueue.emit({ type: 'leader_changed', leader: event.from, term: context.term });
      }
      enqueue.assign({ leaderLive: true });
      enqueue.cancel(LEASE_TIMER);
      enqueue.raise({ type: 'lease_expired' }, { id: LEASE_TIMER, delay: 'leaderLease' });
    }),
    clearLeaderLease: collect(({ enqueue }) => {
      enqueue.cancel(LEASE_TIMER);
      enqueue.assign({ leaderLive: false });
    }),
    forgetLeader: collect(({ context, enqueue }) => {
      if (context.leader === null) return;
      enqueue.assign({ leader: null });
      enqueue.emit({ type: 'leader_changed', leader: null, term: context.term });
    }),
    recordVote: assign({
      votedFor: ({ event }) => {
        assertEvent(event, 'rpc.request_vote');
        return event.message.candidateId;
      },
    }),
    replyVoteGranted: collect(({ context, event, enqueue }) => {
      assertEvent(event, 'rpc.request_vote');
      // A granted pre-vote echoes the proposed term; a granted vote is in our term, which equals it.
      const { preVote, term } = event.message;
      send(context, enqueue, [{ to: event.from, message: { type: 'request_vote_response', preVote, term, granted: true } }]);
    }),
    replyVoteDenied: collect(({ context, event, enqueue }) => {
      assertEvent(event, 'rpc.request_vote');
      const message = {
        type: 'request_vote_response',
        preVote: event.message.preVote,
        term: context.term,
        granted: false,
      } as const;
      send(context, enqueue, [{ to: event.from, message }]);
    }),
    replyHeartbeatAccepted: collect(({ context, event, enqueue }) => {
      assertEvent(event, 'rpc.heartbeat');
      const message = { type: 'heartbeat_response', term: context.term, success: true } as const;
      send(context, enqueue, [{ to: event.from, message }]);
    }),
    replyHeartbeatRejected: collect(({ context, event, enqueue }) => {
      assertEvent(event, 'rpc.heartbeat');
      const message = { type: 'heartbeat_response', term: context.term, success: false } as const;
      send(context, enqueue, [{ to: event.from, message }]);
    }),
    startPreVote: collect(({ context, enqueue }) => {
      enqueue.assign({ preVotes: [context.id] });
      send(
        context,
        enqueue,
        toEveryPeer(context, {
          type: 'request_vote',
          preVote: true,
          term: context.term + 1,
          candidateId: context.id,
          ...context.logPosition,
        }),
      );
    }),
    countPreVote: assign({
      preVotes: ({ context, event }) => {
        assertEvent(event, 'rpc.request_vote_response');
        return withMember(context.preVotes, event.from);
      },
    }),
    becomeCandidate: collect(({ context, enqueue }) => {
      const term = context.term + 1;
      enqueue.assign({ term, votedFor: context.id, votes: [context.id] });
      enqueue.emit({ type: 'term_changed', from: context.term, to: term });
    }),
    broadcastVoteRequests: collect(({ context, enqueue }) => {
      send(
        context,
        enqueue,
        toEveryPeer(context, {
          type: 'request_vote',
          preVote: false,
          term: context.term,
          candidateId: context.id,
          ...context.logPosition,
        }),
      );
    }),
    countVote: assign({
      votes: ({ context, event }) => {
        assertEvent(event, 'rpc.request_vote_response');
        return withMember(context.votes, event.from);
      },
    }),
    assumeLeadership: collect(({ context, enqueue }) => {
      enqueue.assign({ leader: context.id, quorumAcks: [] });
      enqueue.emit({ type: 'leader_changed', leader: context.id, term: context.term });
    }),
    broadcastHeartbeat: collect(({ context, enqueue }) => {
      send(context, enqueue, toEveryPeer(context, { type: 'heartbeat', term: context.term, leaderId: context.id }));
    }),
    recordQuorumAck: assign({
      quorumAcks: ({ context, event }) => {
        assertEvent(event, 'rpc.heartbeat_response');
        return withMember(context.quorumAcks, event.from);
      },
    }),
    resetQuorumAcks: assign({ quorumAcks: [] }),
  },
}).createMachine({
  id: 'election',
  context: ({ input, self }) => {
    const { dependencies, ...rest } = input;
    if (dependencies !== undefined) dependenciesBySystem.set(self.system, dependencies);
    return initialContext(resolveElectionInput(rest));
  },
  initial: 'stopped',
  on: {
    receive: { actions: 'admitInbound' },
    admitted: [
      // Not running: the message is lost, as if it arrived before the process started.
      { guard: 'isStopped' },
      // §5.1, applied before any role sees the message; the new role then handles it.
      { guard: and(['mustAdoptTerm', 'isFollower']), actions: ['adoptTerm', 'routeInbound'] },
      { guard: 'mustAdoptTerm', target: '.follower', actions: ['adoptTerm', 'routeInbound'] },
      { actions: 'routeInbound' },
    ],
    log_position: { actions: 'updateLogPosition' },
    members_changed: { actions: 'updatePeers' },
    lease_expired: { actions: 'expireLeaderLease' },
    stop: { target: '.stopped' },
  },
  states: {
    stopped: {
      entry: [{ type: 'enterRole', params: { role: 'stopped' } }, 'forgetLeader', 'clearLeaderLease', 'dropOutbox'],
      initial: 'idle',
      states: {
        idle: {
          on: { start: { target: 'loading' } },
        },
        // Term and vote come back before anything else, so a restarted node cannot vote twice in a term.
        loading: {
          invoke: {
            src: 'loadHardState',
            onDone: {
              target: '#election.follower',
              actions: { type: 'restoreHardState', params: ({ event }) => event.output },
            },
            onError: {
              target: 'idle',
              actions: {
                type: 'reportStorageFailure',
                params: ({ event }) => ({ operation: 'load' as const, error: event.error }),
              },
            },
          },
        },
      },
    },

    follower: {
      entry: { type: 'enterRole', params: { role: 'follower' } },
      initial: 'waiting',
      states: {
        waiting: {
          entry: 'drawElectionTimeout',
          always: { guard: 'hasUndurableHardState', target: 'persisting' },
          after: {
            electionTimeout: [
              { guard: 'preVoteEnabled', target: '#election.pre_candidate' },
              { target: '#election.candidate', actions: 'becomeCandidate' },
            ],
          },
          on: {
            // A live leader of our term: restart the election timer.
            'rpc.heartbeat': {
              guard: 'currentTerm',
              target: 'waiting',
              reenter: true,
              actions: ['acceptLeader', 'replyHeartbeatAccepted'],
            },
          },
        },
        // Back to waiting restarts the election timer, as granting a vote must (§5.2).
        persisting: persistingStep('waiting'),
      },
      on: {
        'rpc.request_vote': [
          { guard: 'canGrantPreVote', actions: 'replyVoteGranted' },
          { guard: 'canGrantVote', actions: ['recordVote', 'replyVoteGranted'] },
          { actions: 'replyVoteDenied' },
        ],
        'rpc.heartbeat': [
          { guard: 'staleTerm', actions: 'replyHeartbeatRejected' },
          { actions: ['acceptLeader', 'replyHeartbeatAccepted'] },
        ],
      },
    },

    // Thesis §9.6: ask whether we would win before disturbing anyone's term.
    pre_candidate: {
      entry: [
        { type: 'enterRole', params: { role: 'pre_candidate' } },
        'forgetLeader',
        'clearLeaderLease',
        'startPreVote',
      ],
      always: { guard: 'hasPreVoteMajority', target: 'candidate', actions: 'becomeCandidate' },
      after: { preVoteTimeout: { target: 'follower' } },
      on: {
        'rpc.request_vote': [
          { guard: 'canGrantPreVote', actions: 'replyVoteGranted' },
          // Granting a real vote makes us a follower of that candidacy.
          { guard: 'canGrantVote', target: 'follower', actions: 'redeliver' },
          { actions: 'replyVoteDenied' },
        ],
        'rpc.request_vote_response': { guard: 'isGrantedPreVote', actions: 'countPreVote' },
        'rpc.heartbeat': [
          { guard: 'staleTerm', actions: 'replyHeartbeatRejected' },
          { target: 'follower', actions: 'redeliver' },
        ],
      },
    },

    candidate: {
      entry: [{ type: 'enterRole', params: { role: 'candidate' } }, 'forgetLeader', 'clearLeaderLease'],
      initial: 'persisting',
      states: {
        // The new term and the vote for ourselves must be durable before any RequestVote leaves.
        persisting: persistingStep('campaigning'),
        campaigning: {
          entry: ['drawElectionTimeout', 'broadcastVoteRequests'],
          always: { guard: 'hasVoteMajority', target: '#election.leader' },
          after: {
            // Split vote: try again, through pre-vote when it is on.
            electionTimeout: [
              { guard: 'preVoteEnabled', target: '#election.pre_candidate' },
              { target: '#election.candidate', reenter: true, actions: 'becomeCandidate' },
            ],
          },
        },
      },
      on: {
        'rpc.request_vote': [{ guard: 'canGrantPreVote', actions: 'replyVoteGranted' }, { actions: 'replyVoteDenied' }],
        'rpc.request_vote_response': { guard: 'isGrantedVote', actions: 'countVote' },
        // §5.2: a leader of our term exists; follow it.
        'rpc.heartbeat': [
          { guard: 'staleTerm', actions: 'replyHeartbeatRejected' },
          { target: '#election.follower', actions: 'redeliver' },
        ],
      },
    },

    leader: {
      type: 'parallel',
      entry: [{ type: 'enterRole', params: { role: 'leader' } }, 'assumeLeadership', 'broadcastHeartbeat'],
      exit: 'forgetLeader',
      states: {
        heartbeats: {
          initial: 'scheduled',
          states: {
            scheduled: {
              after: {
                heartbeatInterval: { target: 'scheduled', reenter: true, actions: 'broadcastHeartbeat' },
              },
            },
          },
        },
        // Check-quorum: a leader cut off from a majority steps down instead of lingering.
        quorum: {
          initial: 'watching',
          states: {
            watching: {
              after: {
                checkQuorumInterval: [
                  { guard: 'heardFromQuorum', target: 'watching', reenter: true, actions: 'resetQuorumAcks' },
                  { target: '#election.follower' },
                ],
              },
            },
          },
        },
      },
      on: {
        // We voted for ourselves this term, and a leader never backs a pre-vote against itself.
        'rpc.request_vote': { actions: 'replyVoteDenied' },
        'rpc.heartbeat': { guard: 'staleTerm', actions: 'replyHeartbeatRejected' },
        'rpc.heartbeat_response': { guard: 'currentTerm', actions: 'recordQuorumAck' },
      },
    },
  },
});

export type ElectionMachine = typeof electionMachine;
export type ElectionActor = ActorRefFrom<ElectionMachine>;
export type ElectionSnapshot = SnapshotFrom<ElectionMachine>;

/**
 * The base machine with storage and randomness wired in; one per node.
 *
 * ```ts
 * const machine = createElectionMachine({ storage, random: seeded.fork() });
 * const node = createActor(machine, { clock, input: { id: 'n1', peers: ['n2', 'n3'] } });
 * node.on('outbound', ({ to, message }) => transport.send(to, message));
 * transport.onMessage((from, raw) => node.send(toElectionEvent(from, raw))); // throws ElectionMessageError
 * node.start();
 * node.send({ type: 'start' });
 * ```
 */
export function createElectionMachine({ storage, random }: ElectionDependencies): ElectionMachine {
  return electionMachine.provide({
    actors: {
      loadHardState: fromPromise<HardState, void>(async () =>
        HardStateSchema.parse((await storage.loadHardState()) ?? FRESH_HARD_STATE),
      ),
      saveHardState: fromPromise<HardState, HardState>(async ({ input }) => {
        await storage.saveHardState(input);
        return input;
      }),
    },
    actions: {
      drawElectionTimeout: assign({
        electionTimeoutMs: ({ context }) =>
          random.integer(context.timing.electionTimeoutMinMs, context.timing.electionTimeoutMaxMs),
      }),
    },
  });
}

/** The fields a host usually wants from a snapshot (metrics, a leader provider). */
export function electionStatus(snapshot: ElectionSnapshot): {
  role: ElectionRole;
  term: number;
  leader: NodeId | null;
  votedFor: NodeId | null;
} {
  const { role, term, leader, votedFor } = snapshot.context;
  return { role, term, leader, votedFor };
}
