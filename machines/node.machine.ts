import { assertEvent, emit, enqueueActions, fromCallback, sendTo, setup } from 'xstate';
import type { ActorRefFrom, EventObject, ParameterizedObject, SnapshotFrom } from 'xstate';
import { electionMachine, type ElectionEmitted, type ElectionRole, type NodeId } from './election.machine';
import type { ElectionInput, ElectionMessage, ElectionMessageError, LogPosition } from './election.schemas';
import { roundMachine, type RoundMachine } from './round.machine';
import type { RoundInput, RoundStateName } from './round.types';
import { SYSTEM_IDS } from './systemIds';

/**
 * A node (SPEC §1): one actor system whose root hosts the round machine and
 * the election machine as sibling children under fixed system ids. The node
 * starts and stops both, forwards peers' election messages in, and relays
 * what the election emits: its leader goes into the node's context (where the
 * default leader provider reads it), its role transitions, leader changes and
 * outbound messages are emitted by the node for metrics and the transport.
 * Like its children, the node does no I/O and reads no clock of its own.
 */

export interface NodeInput {
  readonly round: RoundInput;
  readonly election: ElectionInput;
  /**
   * When the election's leader changes (to another node, or to none while an
   * election runs), restart (`induce_sync`) a round that is deciding its rank
   * under a prover order headed by someone else and has not voted yet, so it
   * reads the order again. Without it, a round ordered by a leader that has
   * crashed waits for that leader's proposal for ever. For leader providers
   * whose order follows the election, like the default one.
   */
  readonly resyncOnLeaderChange: boolean;
}

export interface NodeContext {
  readonly id: NodeId;
  /** The election's role, term and leader, as last relayed. */
  readonly role: ElectionRole;
  readonly term: number;
  readonly leader: NodeId | null;
  readonly resyncOnLeaderChange: boolean;
}

/** What the election emitted, re-addressed to the node by the relay. */
export type ElectionRelayEvent = {
  [K in ElectionEmitted['type']]: Omit<Extract<ElectionEmitted, { type: K }>, 'type'> & { readonly type: `election.${K}` };
}[ElectionEmitted['type']];

export type NodeEvent =
  | { readonly type: 'start' }
  | { readonly type: 'stop' }
  /** A peer's election message, already validated by the host (`checkInbound`). */
  | { readonly type: 'election_message'; readonly from: NodeId; readonly message: ElectionMessage }
  /** Where this node's log ends now, for the election's §5.4.1 check. */
  | { readonly type: 'log_position'; readonly position: LogPosition }
  /** The round engine's membership changed: the election counts its majorities over the new one. */
  | { readonly type: 'members_changed'; readonly peers: readonly NodeId[] }
  | { readonly type: 'round_stopped' }
  | ElectionRelayEvent;

/** Metric names of SPEC §4.3 (`from_role`, `to_role`). */
export type NodeEmitted =
  | { readonly type: 'outbound'; readonly to: NodeId; readonly message: ElectionMessage }
  | { readonly type: 'role_changed'; readonly from_role: ElectionRole; readonly to_role: ElectionRole; readonly term: number }
  | { readonly type: 'leader_changed'; readonly leader: NodeId | null; readonly term: number }
  | { readonly type: 'term_changed'; readonly from: number; readonly to: number }
  | { readonly type: 'election_message_rejected'; readonly error: ElectionMessageError }
  | { readonly type: 'storage_failed'; readonly operation: 'load' | 'save'; readonly error: unknown };

type RoundActorRef = ActorRefFrom<RoundMachine>;

/** Round states that are still choosing what to vote for; finalizing and verifying are past it. */
const UNDECIDED_STATES: readonly RoundStateName[] = ['collecting', 'liveness_check', 'proving', 'publishing', 'voting'];

/** The top-level state of a round snapshot: its value is an object while a state's sub-steps run. */
export function roundStateOf(round: SnapshotFrom<RoundMachine>): RoundStateName {
  const value = round.value;
  return (typeof value === 'string' ? value : Object.keys(value)[0]) as RoundStateName;
}

/**
 * Whether a round is deciding its rank under a prover order not headed by
 * `leader` (null: no leader at all) and can still change its mind: it has not
 * voted in any attempt, nil included. A round that has voted keeps its vote (a
 * second one would be an equivocation), so restarting it would gain nothing.
 */
export function roundFollowsAnotherLeader(round: SnapshotFrom<RoundMachine>, leader: NodeId | null): boolean {
  const { nextProvers, nextProversRank, activeRank, votedAttempt } = round.context;
  return (
    UNDECIDED_STATES.includes(roundStateOf(round)) &&
    nextProversRank === activeRank + 1 &&
    nextProvers.length > 0 &&
    nextProvers[0].identity() !== leader &&
    votedAttempt < 0
  );
}

function toRelayEvent(event: ElectionEmitted): ElectionRelayEvent {
  return { ...event, type: `election.${event.type}` } as ElectionRelayEvent;
}

function initInput(event: EventObject): NodeInput {
  // The root's invokes are created by the initial transition, whose event carries the input.
  const input = (event as { input?: NodeInput }).input;
  if (input === undefined) throw new Error('node machine: no input; create it with createActor(machine, { input })');
  return input;
}

type NodeDelay = never;

/**
 * `enqueueActions` with its type parameters spelled out: inferred inside
 * `setup()`, TypeScript cannot resolve them (statelyai/xstate#4545, #4923).
 */
function collect<TParams extends ParameterizedObject['params'] | undefined = undefined>(
  fn: Parameters<
    typeof enqueueActions<NodeContext, NodeEvent, TParams, NodeEvent, never, never, never, NodeDelay, NodeEmitted>
  >[0],
) {
  return enqueueActions<NodeContext, NodeEvent, TParams, NodeEvent, never, never, never, NodeDelay, NodeEmitted>(fn);
}

export const nodeMachine = setup({
  types: {
    context: {} as NodeContext,
    events: {} as NodeEvent,
    input: {} as NodeInput,
    emitted: {} as NodeEmitted,
  },
  actors: {
    // The app's providers, storage and randomness come in the input (`createNode` puts them there).
    round: roundMachine,
    election: electionMachine,
    /** Emitted events do not reach a parent; this re-sends the election's as node events. */
    electionRelay: fromCallback<EventObject, void>(({ system, sendBack }) => {
      const election = system.get(SYSTEM_IDS.election) as ActorRefFrom<typeof electionMachine> | undefined;
      if (election === undefined) throw new Error(`node machine: no actor with system id ${SYSTEM_IDS.election}`);
      const subscription = election.on('*', (event) => sendBack(toRelayEvent(event as ElectionEmitted)));
      return () => subscription.unsubscribe();
    }),
    /** Stopping ends when the round's cleanup has run and it reports `stopped`. */
    awaitRoundStopped: fromCallback<EventObject, void>(({ system, sendBack }) => {
      const round = system.get(SYSTEM_IDS.round) as RoundActorRef | undefined;
      if (round === undefined) throw new Error(`node machine: no actor with system id ${SYSTEM_IDS.round}`);
      let reported = false;
      const check = (snapshot: SnapshotFrom<RoundMachine>) => {
        if (reported || snapshot.value !== 'stopped') return;
        reported = true;
        sendBack({ type: 'round_stopped' });
      };
      check(round.getSnapshot());
      const subscription = round.subscribe(check);
      return () => subscription.unsubscribe();
    }),
  },
  actions: {
    startChildren: collect(({ enqueue }) => {
      // The election first: the round's first prover order waits for its leader.
      enqueue.sendTo(({ system }) => system.get(SYSTEM_IDS.election), { type: 'start' });
      enqueue.sendTo(({ system }) => system.get(SYSTEM_IDS.round), { type: 'start' });
    }),
    stopChildren: collect(({ enqueue }) => {
      enqueue.sendTo(({ system }) => system.get(SYSTEM_IDS.election), { type: 'stop' });
      enqueue.sendTo(({ system }) => system.get(SYSTEM_IDS.round), { type: 'stop' });
    }),
    forwardToElection: sendTo(
      ({ system }) => system.get(SYSTEM_IDS.election),
      ({ event }) => {
        assertEvent(event, 'election_message');
        return { type: 'receive' as const, from: event.from, message: event.message };
      },
    ),
    forwardLogPosition: sendTo(
      ({ system }) => system.get(SYSTEM_IDS.election),
      ({ event }) => {
        assertEvent(event, 'log_position');
        return { type: 'log_position' as const, position: event.position };
      },
    ),
    forwardMembers: sendTo(
      ({ system }) => system.get(SYSTEM_IDS.election),
      ({ event }) => {
        assertEvent(event, 'members_changed');
        return { type: 'members_changed' as const, peers: event.peers };
      },
    ),
    emitOutbound: emit(({ event }) => {
      assertEvent(event, 'election.outbound');
      return { type: 'outbound' as const, to: event.to, message: event.message };
    }),
    recordRole: collect(({ event, enqueue }) => {
      assertEvent(event, 'election.role_changed');
      enqueue.assign({ role: event.to, term: event.term });
      enqueue.emit({ type: 'role_changed', from_role: event.from, to_role: event.to, term: event.term });
    }),
    recordLeader: collect(({ event, enqueue }) => {
      assertEvent(event, 'election.leader_changed');
      enqueue.assign({ leader: event.leader, term: event.term });
      enqueue.emit({ type: 'leader_changed', leader: event.leader, term: event.term });
    }),
    recordTerm: collect(({ event, enqueue }) => {
      assertEvent(event, 'election.term_changed');
      enqueue.assign({ term: event.to });
      enqueue.emit({ type: 'term_changed', from: event.from, to: event.to });
    }),
    resyncStaleRound: collect(({ context, event, system, enqueue }) => {
      assertEvent(event, 'election.leader_changed');
      if (!context.resyncOnLeaderChange) return;
      const round = system.get(SYSTEM_IDS.round) as RoundActorRef;
      if (roundFollowsAnotherLeader(round.getSnapshot(), event.leader)) {
        enqueue.sendTo(round, { type: 'induce_sync' });
      }
    }),
    reportRejectedMessage: emit(({ event }) => {
      assertEvent(event, 'election.message_rejected');
      return { type: 'election_message_rejected' as const, error: event.error };
    }),
    reportStorageFailure: emit(({ event }) => {
      assertEvent(event, 'election.storage_failed');
      return { type: 'storage_failed' as const, operation: event.operation, error: event.error };
    }),
  },
}).createMachine({
  id: 'node',
  context: ({ input }) => ({
    id: input.election.id,
    role: 'stopped',
    term: 0,
    leader: null,
    resyncOnLeaderChange: input.resyncOnLeaderChange,
  }),
  // At the root, so both children live as long as the node: a stopped node
  // still holds its round's books and answers `system.get()`.
  invoke: [
    { id: SYSTEM_IDS.round, systemId: SYSTEM_IDS.round, src: 'round', input: ({ event }) => initInput(event).round },
    {
      id: SYSTEM_IDS.election,
      systemId: SYSTEM_IDS.election,
      src: 'election',
      input: ({ event }) => initInput(event).election,
    },
    { id: 'electionRelay', src: 'electionRelay' },
  ],
  on: {
    election_message: { actions: 'forwardToElection' },
    log_position: { actions: 'forwardLogPosition' },
    members_changed: { actions: 'forwardMembers' },
    'election.outbound': { actions: 'emitOutbound' },
    'election.role_changed': { actions: 'recordRole' },
    'election.leader_changed': { actions: ['recordLeader', 'resyncStaleRound'] },
    'election.term_changed': { actions: 'recordTerm' },
    'election.message_rejected': { actions: 'reportRejectedMessage' },
    'election.storage_failed': { actions: 'reportStorageFailure' },
  },
  initial: 'stopped',
  states: {
    stopped: {
      on: { start: { target: 'running', actions: 'startChildren' } },
    },
    running: {
      on: { stop: { target: 'stopping', actions: 'stopChildren' } },
    },
    stopping: {
      invoke: { src: 'awaitRoundStopped' },
      on: { round_stopped: { target: 'stopped' } },
    },
  },
});

export type NodeMachine = typeof nodeMachine;
export type NodeActor = ActorRefFrom<NodeMachine>;
export type NodeSnapshot = SnapshotFrom<NodeMachine>;
