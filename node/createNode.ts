import { attachNodeMetrics } from '../engine/attachMetrics';
import { createActor, waitFor, type Actor } from 'xstate';
import {
  buildRoundEngineMachine,
  createEngineFacade,
  type ConsensusEngine,
  type RoundActorRef,
} from '../engine/createConsensusEngine';
import type { RoundSafetyStorage } from '../providers/storage';
import { type ElectionActor, type ElectionRole, type NodeId } from '../machines/election.machine';
import { checkInbound, type ElectionMessage } from '../machines/election.schemas';
import { nodeMachine, type NodeMachine } from '../machines/node.machine';
import { SYSTEM_IDS } from '../machines/systemIds';
import { createElectionLeaderProvider, type LeaderSource } from '../providers/electionLeader';
import type { Unique } from '../providers/unique';
import { isMemberOf, type Membership } from '../guards/quorum';
import { createCoordinationClients, type CoordinationClients } from '../services/clients';
import type { WaitClock } from '../services/barrierWait';
import { enginePort, type ProposingNode } from '../services/enginePort';
import type { ConsensusClock } from '../providers/clock';
import { resolveNodeConfig, type NodeConfig, type NodeCoordinationConfig } from './config';

export type RoleChangeListener = (from_role: ElectionRole, to_role: ElectionRole, term: number) => void;
export type LeaderChangeListener<PeerIDT extends Unique> = (leader: PeerIDT | null, term: number) => void;
export type OutboundListener<PeerIDT extends Unique> = (to: PeerIDT, message: ElectionMessage) => void;

/**
 * A node: the round engine's API, plus the election's. `start()` and `stop()`
 * drive both machines; everything else about rounds is the engine's.
 */
export interface ConsensusNode<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
  PayloadT = never,
> extends Omit<ConsensusEngine<StateT, VoteT, PeerIDT, CollectedT, PayloadT>, 'actor'> {
  /** The node machine: the root of this node's actor system. */
  readonly actor: Actor<NodeMachine>;
  /** The round machine, `actor.system.get(SYSTEM_IDS.round)`. */
  readonly roundActor: RoundActorRef;
  /** The election machine, `actor.system.get(SYSTEM_IDS.election)`. */
  readonly electionActor: ElectionActor;
  /** Starts the election and the round machine. */
  start(): void;
  /** Stops both; resolves once the round has finished its cleanup. */
  stop(): Promise<void>;
  /**
   * A peer's election message as the transport delivered it (`from` is the
   * peer or its identity). Throws `ElectionMessageError` on junk (anything but
   * plain data: getters, Proxies and class instances too, whatever they throw
   * when read), a sender that is not a member, or a sender that claims
   * another's id; the node is then exactly as before.
   */
  receiveElectionMessage(from: PeerIDT | NodeId, raw: unknown): void;
  /** Election messages to send; the transport delivers them to `to`'s `receiveElectionMessage`. */
  onOutbound(listener: OutboundListener<PeerIDT>): () => void;
  /** Every role transition, for `consensus_role_transitions_total{from_role,to_role}`. */
  onRoleChange(listener: RoleChangeListener): () => void;
  onLeaderChange(listener: LeaderChangeListener<PeerIDT>): () => void;
  getRole(): ElectionRole;
  getTerm(): number;
  /** The leader this node follows (itself when it leads), or null during an election. */
  getLeader(): PeerIDT | null;
}

/** A node configured with `coordination`: its `kv`, `locks` and `barriers` clients propose through its own log. */
export type WithCoordination<NodeT> = NodeT & CoordinationClients;

/** A node's config with the coordination services on it. */
export type CoordinatedConfig<ConfigT extends { coordination?: unknown }> = ConfigT & { coordination: NonNullable<ConfigT['coordination']> };

/** Barrier waits on the node's own clock: in a simulation they sleep in simulated time. */
function waitClockOf(clock: ConsensusClock): WaitClock {
  return { now: () => clock.now(), sleep: (ms) => new Promise((resolve) => clock.setTimeout(resolve, ms)) };
}

/** Adds the clients to a built node; they answer from the log entries the node commits. */
function withCoordinationClients<StateT, PayloadT, NodeT extends ProposingNode<PayloadT>>(
  node: NodeT,
  coordination: NodeCoordinationConfig<StateT, PayloadT>,
  clock: ConsensusClock,
): WithCoordination<NodeT> {
  const { host, encode, waitClock } = coordination;
  const port = enginePort({ node, host, encode });
  return Object.assign(node, createCoordinationClients(port, { clock: waitClock ?? waitClockOf(clock) }));
}

/**
 * The sender's id, with `identity` looked up and called once; what it returns
 * is checked (and must be a string) by `checkInbound`. A lookup or call that
 * throws leaves no id, and the message is refused as from an invalid sender.
 */
function identityOf(from: unknown): unknown {
  if (typeof from !== 'object' || from === null) return from;
  try {
    const identity = (from as { identity?: unknown }).identity;
    // Reflect.apply: `identity.call` would be one more lookup the sender controls.
    return typeof identity === 'function' ? Reflect.apply(identity, from, []) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Creates a node (SPEC §1): one actor system whose root, the node machine,
 * hosts the round machine and the election machine as siblings. By default
 * the election's leader heads the round's prover order; the app still proves.
 * One clock (`config.clock`) schedules every timer of both machines.
 */
export function createNode<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
  PayloadT = never,
>(input: CoordinatedConfig<NodeConfig<StateT, VoteT, PeerIDT, CollectedT, PayloadT>>): WithCoordination<ConsensusNode<StateT, VoteT, PeerIDT, CollectedT, PayloadT>>;
export function createNode<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
  PayloadT = never,
>(input: NodeConfig<StateT, VoteT, PeerIDT, CollectedT, PayloadT>): ConsensusNode<StateT, VoteT, PeerIDT, CollectedT, PayloadT>;
export function createNode<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
  PayloadT = never,
>(input: NodeConfig<StateT, VoteT, PeerIDT, CollectedT, PayloadT>): ConsensusNode<StateT, VoteT, PeerIDT, CollectedT, PayloadT> {
  // Payloads are the app's own type; the engine holds them as they come.
  const config = input as unknown as NodeConfig<StateT, VoteT, PeerIDT, CollectedT>;
  const resolved = resolveNodeConfig(config);
  const members = new Map<NodeId, PeerIDT>(resolved.members.map((member) => [member.identity(), member]));
  const memberOf = (id: NodeId | null): PeerIDT | null => {
    const member = id === null ? undefined : members.get(id);
    return member === undefined ? null : member.clone();
  };

  // The engine's membership, once built: the election and the default leader follow it when it changes through the log.
  let membershipNow: (() => Membership) | null = null;
  const leaderListeners = new Set<() => void>();
  // Bound to the node actor below; the provider only reads it once rounds run.
  let nodeActor: Actor<NodeMachine> | undefined;
  const leaderSource: LeaderSource = {
    current: () => nodeActor?.getSnapshot().context.leader ?? null,
    subscribe(listener) {
      leaderListeners.add(listener);
      return () => leaderListeners.delete(listener);
    },
  };
  const leader =
    resolved.ownLeader ??
    createElectionLeaderProvider<StateT, PeerIDT, CollectedT>({
      members: resolved.members,
      leader: leaderSource,
      prover: resolved.prover!,
      ...(config.membershipChangeIn === undefined
        ? {}
        : { memberOf: (id: NodeId) => (membershipNow !== null && isMemberOf(membershipNow(), id) ? members.get(id) : undefined) }),
    });

  // One storage can keep the election's term and vote and the round's lock.
  const electionStorage = config.election.storage as Partial<RoundSafetyStorage>;
  const sharedStorage =
    typeof electionStorage.loadRoundSafety === 'function' && typeof electionStorage.saveRoundSafety === 'function'
      ? (electionStorage as RoundSafetyStorage)
      : undefined;
  const build = buildRoundEngineMachine<StateT, VoteT, PeerIDT, CollectedT>({
    ...resolved.engine,
    storage: resolved.engine.storage ?? sharedStorage,
    providers: { ...resolved.engine.providers, leader },
  });
  const { logger } = build;
  // The shared definitions: the app's providers, storage and randomness travel in the input.
  const machine = nodeMachine;


  const actor = createActor(machine, {
    clock: build.clock,
    ...(config.inspect === undefined ? {} : { inspect: config.inspect }),
    systemId: SYSTEM_IDS.node,
    input: {
      round: build.input,
      election: { ...resolved.election, dependencies: { storage: config.election.storage, random: config.election.random } },
      resyncOnLeaderChange: resolved.resyncOnLeaderChange,
    },
  });
  nodeActor = actor;
  const roundActor = actor.system.get(SYSTEM_IDS.round) as RoundActorRef;
  const electionActor = actor.system.get(SYSTEM_IDS.election) as ElectionActor;
  const facade = createEngineFacade(build, roundActor, () => actor.getSnapshot().context.term);
  membershipNow = () => facade.api.getMembership();
  // The election counts majorities over the members of the rank being decided, from the commit that moves to it.
  let electedOver: Membership | null = null;
  const followMembership = () => {
    const now = facade.api.getMembership();
    if (now === electedOver || config.membershipChangeIn === undefined) return;
    electedOver = now;
    for (const id of now.ids) if (!members.has(id) && build.peers.has(id)) members.set(id, build.peers.get(id) as PeerIDT);
    logger.trace(`election: members now ${now.ids.join(', ')}`);
    actor.send({ type: 'members_changed', peers: now.ids.filter((id) => id !== resolved.selfId) });
  };
  // A restarted node's log may have changed the configured membership already.
  followMembership();
  facade.api.onCommit(followMembership);

  const outboundListeners = new Set<OutboundListener<PeerIDT>>();
  const roleListeners = new Set<RoleChangeListener>();
  const leaderChangeListeners = new Set<LeaderChangeListener<PeerIDT>>();
  actor.on('outbound', ({ to, message }) => {
    const peer = members.get(to);
    if (peer === undefined) return;
    for (const listener of outboundListeners) listener(peer.clone(), message);
  });
  actor.on('role_changed', ({ from_role, to_role, term }) => {
    logger.trace(`election: ${from_role} -> ${to_role} in term ${term}`);
    for (const listener of roleListeners) listener(from_role, to_role, term);
  });
  actor.on('leader_changed', ({ leader: id, term }) => {
    logger.trace(`election: leader ${id ?? 'none'} in term ${term}`);
    // A copy: a provider waiting for the leader unsubscribes as it settles.
    for (const listener of [...leaderListeners]) listener();
    for (const listener of leaderChangeListeners) listener(memberOf(id), term);
  });
  actor.on('election_message_rejected', ({ error }) => logger.trace(error.message));
  actor.on('storage_failed', ({ operation, error }) => logger.error(`election: term/vote ${operation} failed`, error));
  actor.start();

  const node = actor;
  const subscribe = <L>(set: Set<L>, listener: L) => {
    set.add(listener);
    return () => set.delete(listener);
  };

  const api: ConsensusNode<StateT, VoteT, PeerIDT, CollectedT, PayloadT> = {
    ...facade.api,
    actor: node,
    roundActor,
    electionActor,
    start() {
      node.send({ type: 'start' });
    },
    async stop() {
      // A crashed node (its actor stopped from outside) has nothing left to stop.
      if (node.getSnapshot().status !== 'active' || node.getSnapshot().value === 'stopped') return;
      node.send({ type: 'stop' });
      await waitFor(node, (snapshot) => snapshot.value === 'stopped');
    },
    receiveElectionMessage(from, raw) {
      const checked = checkInbound(identityOf(from), raw, electionActor.getSnapshot().context.peers);
      if (!checked.ok) {
        logger.trace(checked.error.message);
        throw checked.error;
      }
      node.send({ type: 'election_message', from: checked.event.from, message: checked.event.message });
    },
    onOutbound: (listener) => subscribe(outboundListeners, listener),
    onRoleChange: (listener) => subscribe(roleListeners, listener),
    onLeaderChange: (listener) => subscribe(leaderChangeListeners, listener),
    getRole: () => node.getSnapshot().context.role,
    getTerm: () => node.getSnapshot().context.term,
    getLeader: () => memberOf(node.getSnapshot().context.leader),
  };
  // Before the start, so the first rank and the first role change are seen.
  if (build.config.metrics !== undefined) attachNodeMetrics(api, build.config.metrics, { clock: build.clock });
  return input.coordination === undefined ? api : withCoordinationClients(api, input.coordination, build.clock);
}
