import { z } from 'zod';
import {
  assign,
  createActor,
  fromPromise,
  waitFor,
  type Actor,
  type ActorRefFrom,
  type InspectionEvent,
  type Observer,
} from 'xstate';
import { admit, type Candidate, type MessageKind } from '../guards/admission';
import { roundMachine, type ProviderCallInputs, type RoundMachine } from '../machines/round.machine';
import { sizeOf } from '../machines/rankBook';
import {
  DEFAULT_ROUND_TIMEOUTS,
  type RoundContext,
  type RoundDataEvent,
  type RoundEventType,
  type RoundInput,
  type RoundStateName,
  type RoundThresholds,
  type RoundTimeouts,
} from '../machines/round.types';
import { systemClock, type ConsensusClock } from '../providers/clock';
import type { LeaderProvider } from '../providers/leader';
import type { LivenessProvider } from '../providers/liveness';
import type { SyncProvider } from '../providers/sync';
import { silentTraceLogger, type TraceLogger } from '../providers/trace';
import type { Identity, Unique } from '../providers/unique';
import type { VotingProvider } from '../providers/voting';
import { rankOf } from '../guards/rank';
import { InFlightLedger } from './inFlight';
import {
  ConsensusConfigError,
  EquivocationError,
  MalformedMessageError,
  ProviderContractError,
  RankCapacityError,
  RankOutOfWindowError,
  UnexpectedSenderError,
  type ConsensusInputError,
} from './errors';
import {
  confirmationMessageSchema,
  describeIssues,
  livenessMessageSchema,
  proposalMessageSchema,
  rankedSchema,
  uniqueSchema,
  voteMessageSchema,
} from './schemas';

/** A node more than this many ranks behind its peers should sync, not buffer. */
export const DEFAULT_RANK_WINDOW = 16;
/** Upper bound on the window: messages held are at most 4 × window × senders. */
export const MAX_RANK_WINDOW = 1024;
/** Senders kept per rank and message kind when the app declares no membership. */
export const DEFAULT_MAX_SENDERS_PER_RANK = 256;
export const MAX_SENDERS_PER_RANK = 65_536;

/** A fixed count, or one computed from the active state at the start of each round. */
export type Threshold<StateT> = number | ((active: StateT) => number);

export interface ConsensusProviders<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
> {
  sync: SyncProvider<StateT>;
  leader: LeaderProvider<StateT, PeerIDT, CollectedT>;
  liveness: LivenessProvider<StateT, CollectedT>;
  voting: VotingProvider<StateT, VoteT, PeerIDT>;
}

export type InspectionObserver = Observer<InspectionEvent> | ((event: InspectionEvent) => void);

export interface ConsensusEngineConfig<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
> {
  /** This node's peer id. */
  id: PeerIDT;
  /** The state the first round builds on (genesis, or the last one persisted). */
  initialState: StateT;
  providers: ConsensusProviders<StateT, VoteT, PeerIDT, CollectedT>;
  /**
   * Record this node's own liveness and votes as if received. Set it when the
   * transport does not deliver a node's messages back to itself. Default true.
   */
  shouldEmitReceiveEventsOnSends?: boolean;
  /** Provers the leader provider must name before proving starts. Default 1. */
  minimumProvers?: Threshold<StateT>;
  /** Liveness announcements needed to start proving. Default: minimumProvers. */
  livenessThreshold?: Threshold<StateT>;
  /** Proposals needed to vote and to accept a quorum. Default: minimumProvers. */
  proposalThreshold?: Threshold<StateT>;
  /** Per-state timeouts in ms (SPEC §2.5 defaults). */
  timeouts?: Partial<RoundTimeouts>;
  /** Ranks past the active one a peer's message may be for. Default 16. */
  rankWindow?: number;
  /** Senders kept per rank and kind when `members` is not given. Default 256. */
  maxSendersPerRank?: number;
  /** The cluster's members; when given, messages from anyone else are refused. */
  members?: PeerIDT[];
  traceLogger?: TraceLogger;
  /** Schedules every timeout; XState's `SimulatedClock` in tests. Default: wall clock. */
  clock?: ConsensusClock;
  /** XState inspection observer, e.g. `createBrowserInspector().inspect`. */
  inspect?: InspectionObserver;
  /** Work to finish in `stopping` (flush, close); aborted after the stopping timeout. */
  cleanup?: (signal: AbortSignal) => Promise<void>;
}

export type TransitionListener = (from: RoundStateName, to: RoundStateName, event: RoundEventType) => void;

export interface CommitRecord<StateT extends Unique, PeerIDT extends Unique> {
  rank: number;
  state: StateT;
  /** The prover whose proposal was finalized. */
  proposer: PeerIDT | null;
}

/** A refused message throws a `ConsensusInputError`; these are the two ways in. */
export type ReceiveResult = 'accepted' | 'duplicate';

export interface ConsensusEngine<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
> {
  readonly id: PeerIDT;
  /** The running round machine, for apps that compose actors themselves. */
  readonly actor: Actor<RoundMachine>;
  /** Leaves `stopped` for `starting`; a stopped engine can be started again. */
  start(): void;
  /** Resolves once `stopped` is reached; every in-flight provider call is aborted. */
  stop(): Promise<void>;
  /** Re-enters loading from any running state, e.g. after falling behind. */
  induceSync(): void;
  getState(): RoundStateName;
  /** Milliseconds (on the engine's clock) since the current state was entered. */
  getStateTime(): number;
  /** State transitions so far, re-entries included. */
  getTransitionCount(): number;
  getActiveState(): StateT;
  getActiveRank(): number;
  /** Provider calls that failed so far (each was also reported to the trace logger). */
  getProviderErrorCount(): number;
  /** Peer messages currently held for undecided ranks: bounded by the rank window. */
  getHeldMessageCount(): number;
  addListener(listener: TransitionListener): () => void;
  /** Called each time verifying makes a finalized state the active one. */
  onCommit(listener: (commit: CommitRecord<StateT, PeerIDT>) => void): () => void;
  receiveLivenessCheck(peer: PeerIDT, collected: CollectedT): ReceiveResult;
  receiveProposal(peer: PeerIDT, proposal: StateT): ReceiveResult;
  receiveVote(proposer: PeerIDT, voter: PeerIDT, vote: VoteT): ReceiveResult;
  receiveConfirmation(peer: PeerIDT, state: StateT): ReceiveResult;
}

const isFunction = (value: unknown) => typeof value === 'function';
const method = (name: string) => z.custom<unknown>(isFunction, { message: `${name} must be a function` });
const provider = (methods: string[]) =>
  z.object(Object.fromEntries(methods.map((name) => [name, method(name)]))).loose();
const thresholdSchema = z.union([
  z.number().int().positive(),
  z.custom<(active: unknown) => number>(isFunction, { message: 'must be a positive integer or a function' }),
]);
const timeoutSchema = z.number().finite().positive();

const configSchema = z
  .object({
    id: uniqueSchema('id'),
    initialState: rankedSchema('initialState'),
    providers: z.object({
      sync: provider(['synchronize']),
      leader: provider(['getNextLeaders', 'proveNextState']),
      liveness: provider(['collect', 'sendLiveness']),
      voting: provider(['sendProposal', 'decideAndSendVote', 'isQuorum', 'finalizeVotes', 'sendConfirmation']),
    }),
    shouldEmitReceiveEventsOnSends: z.boolean().optional(),
    minimumProvers: thresholdSchema.optional(),
    livenessThreshold: thresholdSchema.optional(),
    proposalThreshold: thresholdSchema.optional(),
    timeouts: z
      .object(Object.fromEntries(Object.keys(DEFAULT_ROUND_TIMEOUTS).map((key) => [key, timeoutSchema.optional()])))
      .strict()
      .optional(),
    rankWindow: z.number().int().min(1).max(MAX_RANK_WINDOW).optional(),
    maxSendersPerRank: z.number().int().min(1).max(MAX_SENDERS_PER_RANK).optional(),
    members: z.array(uniqueSchema('member')).min(1).max(MAX_SENDERS_PER_RANK).optional(),
    traceLogger: z.object({ trace: method('trace'), error: method('error') }).loose().optional(),
    clock: z
      .object({ setTimeout: method('setTimeout'), clearTimeout: method('clearTimeout'), now: method('now') })
      .loose()
      .optional(),
    inspect: z.unknown().optional(),
    cleanup: method('cleanup').optional(),
  })
  .strict();

function resolveThreshold<StateT>(threshold: Threshold<StateT>, active: StateT, name: string): number {
  const value = typeof threshold === 'function' ? threshold(active) : threshold;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ProviderContractError(name, `must resolve to a positive integer, got ${String(value)}`);
  }
  return value;
}

function checkUnique(call: string, value: unknown, label: string): void {
  const parsed = rankedSchema(label).safeParse(value);
  if (!parsed.success) throw new ProviderContractError(call, describeIssues(parsed.error).join('; '));
}

/**
 * Copies of the recorded values for a provider call. One value whose clone()
 * fails is left out (and logged) rather than failing the whole call, which
 * would stop this node from ever voting at that rank.
 */
function toMap<T extends Unique>(records: Readonly<Record<Identity, Unique>>, logger: TraceLogger): Map<Identity, T> {
  const copies = new Map<Identity, T>();
  for (const [id, value] of Object.entries(records)) {
    try {
      copies.set(id, value.clone() as T);
    } catch (error) {
      logger.error(`left out ${id}'s message: its clone() threw`, error);
    }
  }
  return copies;
}

/**
 * The engine's own copy of an admitted value, so the sender keeps no handle on
 * what the engine holds. A copy that cannot be made, or that is not the value
 * that was checked, makes the message malformed.
 */
function ownCopy(value: Unique, id: Identity, rank: number | undefined): { copy: Unique } | { issue: string } {
  try {
    const copy = value.clone();
    if (copy.identity() !== id) return { issue: 'clone() returned a value with another identity' };
    if (rank !== undefined && rankOf(copy) !== rank) return { issue: 'clone() returned a value with another rank' };
    return { copy };
  } catch (error) {
    return { issue: `clone() failed: ${String(error)}` };
  }
}

function toInputError(candidate: Candidate, context: RoundContext, admission: { reason: string; detail: string }) {
  const { kind, sender, rank } = candidate;
  switch (admission.reason) {
    case 'stale_rank':
    case 'future_rank':
      return new RankOutOfWindowError(admission.reason, kind, rank, context.activeRank, context.rankWindow, admission.detail);
    case 'not_member':
    case 'not_prover':
      return new UnexpectedSenderError(admission.reason, kind, sender, admission.detail);
    case 'equivocation':
      return new EquivocationError(kind, sender, rank, admission.detail);
    default:
      return new RankCapacityError(kind, rank, admission.detail);
  }
}

/**
 * What an engine is made of before anything runs: the round machine wired to
 * the app's providers, and its input. Build it once, then run it as a root
 * actor (`createConsensusEngine`) or as a child in a larger system (a node).
 */
export interface RoundEngineBuild<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
> {
  readonly config: ConsensusEngineConfig<StateT, VoteT, PeerIDT, CollectedT>;
  /** `roundMachine` with every provider call supplied. */
  readonly machine: RoundMachine;
  /** The machine's input, for `createActor(machine, { input })` or an `invoke`. */
  readonly input: RoundInput;
  readonly clock: ConsensusClock;
  readonly logger: TraceLogger;
}

/** A running round machine, whether the root of its system or a child. */
export type RoundActorRef = ActorRefFrom<RoundMachine>;

/** The engine API over a round actor that someone else created and starts. */
export type RoundEngineApi<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
  ActorT extends RoundActorRef = RoundActorRef,
> = Omit<ConsensusEngine<StateT, VoteT, PeerIDT, CollectedT>, 'actor'> & { readonly actor: ActorT };

export interface EngineFacade<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
  ActorT extends RoundActorRef = RoundActorRef,
> {
  readonly api: RoundEngineApi<StateT, VoteT, PeerIDT, CollectedT, ActorT>;
  /**
   * Give it every inspection event of the round actor's system (pass it in the
   * system's `inspect`): transitions are read from the round actor's microsteps.
   */
  observe(inspection: InspectionEvent): void;
}

/**
 * Validates an engine configuration and wires the app's providers into the
 * round machine. Throws `ConsensusConfigError` on an unusable configuration.
 */
export function buildRoundEngineMachine<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
>(
  config: ConsensusEngineConfig<StateT, VoteT, PeerIDT, CollectedT>,
): RoundEngineBuild<StateT, VoteT, PeerIDT, CollectedT> {
  const parsedConfig = configSchema.safeParse(config);
  if (!parsedConfig.success) throw new ConsensusConfigError(describeIssues(parsedConfig.error));

  const { providers } = config;
  const logger = config.traceLogger ?? silentTraceLogger;
  const clock = config.clock ?? systemClock;
  const minimumProvers = config.minimumProvers ?? 1;
  const thresholdsFor = (active: StateT): RoundThresholds => ({
    provers: resolveThreshold(minimumProvers, active, 'minimumProvers'),
    liveness: resolveThreshold(config.livenessThreshold ?? minimumProvers, active, 'livenessThreshold'),
    proposals: resolveThreshold(config.proposalThreshold ?? minimumProvers, active, 'proposalThreshold'),
  });

  // Each provider call runs in an async function, so a provider that throws
  // synchronously becomes a rejection like any other and never reaches the actor.
  const call = <Input, Output>(run: (input: Input, signal: AbortSignal) => Promise<Output>) =>
    fromPromise<Output, Input>(async ({ input, signal }) => run(input, signal));
  type In<K extends keyof ProviderCallInputs> = ProviderCallInputs[K];

  const machine = roundMachine.provide({
    actors: {
      synchronize: call<In<'synchronize'>, Unique>(async ({ existing }, signal) => {
        const synced = await providers.sync.synchronize(existing.clone() as StateT, signal);
        checkUnique('synchronize', synced, 'synchronized state');
        return synced;
      }),
      getNextLeaders: call<In<'getNextLeaders'>, Unique[]>(async ({ prior }, signal) => {
        const leaders = await providers.leader.getNextLeaders(prior.clone() as StateT, signal);
        if (!Array.isArray(leaders) || leaders.length === 0) {
          throw new ProviderContractError('getNextLeaders', 'must resolve to a non-empty array of peer ids');
        }
        leaders.forEach((leader, i) => {
          const parsed = uniqueSchema(`leader ${i}`).safeParse(leader);
          if (!parsed.success) throw new ProviderContractError('getNextLeaders', describeIssues(parsed.error).join('; '));
        });
        return leaders;
      }),
      collect: call<In<'collect'>, Unique>(async (_, signal) => {
        const collected = await providers.liveness.collect(signal);
        checkUnique('collect', collected, 'collected');
        return collected;
      }),
      sendLiveness: call<In<'sendLiveness'>, void>(({ prior, collected }, signal) =>
        providers.liveness.sendLiveness(prior.clone() as StateT, collected.clone() as CollectedT, signal),
      ),
      proveNextState: call<In<'proveNextState'>, Unique>(async ({ prior, collected }, signal) => {
        const proposal = await providers.leader.proveNextState(
          prior.clone() as StateT,
          collected.clone() as CollectedT,
          signal,
        );
        checkUnique('proveNextState', proposal, 'proposal');
        return proposal;
      }),
      sendProposal: call<In<'sendProposal'>, void>(({ proposal }, signal) =>
        providers.voting.sendProposal(proposal.clone() as StateT, signal),
      ),
      decideAndSendVote: call<In<'decideAndSendVote'>, { proposer: Unique; vote: Unique }>(
        async ({ proposals }, signal) => {
          const decision = await providers.voting.decideAndSendVote(toMap<StateT>(proposals, logger), signal);
          if (typeof decision !== 'object' || decision === null) {
            throw new ProviderContractError('decideAndSendVote', 'must resolve to { proposer, vote }');
          }
          const proposer = uniqueSchema('proposer').safeParse(decision.proposer);
          if (!proposer.success) {
            throw new ProviderContractError('decideAndSendVote', describeIssues(proposer.error).join('; '));
          }
          checkUnique('decideAndSendVote', decision.vote, 'vote');
          return decision;
        },
      ),
      isQuorum: call<In<'isQuorum'>, boolean>(async ({ votes }, signal) => {
        const quorum = await providers.voting.isQuorum(toMap<VoteT>(votes, logger), signal);
        if (typeof quorum !== 'boolean') throw new ProviderContractError('isQuorum', 'must resolve to a boolean');
        return quorum;
      }),
      finalizeVotes: call<In<'finalizeVotes'>, { state: Unique; proposer: Unique }>(
        async ({ proposals, votes }, signal) => {
          const result = await providers.voting.finalizeVotes(toMap<StateT>(proposals, logger), toMap<VoteT>(votes, logger), signal);
          if (typeof result !== 'object' || result === null) {
            throw new ProviderContractError('finalizeVotes', 'must resolve to { state, proposer }');
          }
          checkUnique('finalizeVotes', result.state, 'state');
          const proposer = uniqueSchema('proposer').safeParse(result.proposer);
          if (!proposer.success) {
            throw new ProviderContractError('finalizeVotes', describeIssues(proposer.error).join('; '));
          }
          return result;
        },
      ),
      sendConfirmation: call<In<'sendConfirmation'>, void>(({ finalized }, signal) =>
        providers.voting.sendConfirmation(finalized.clone() as StateT, signal),
      ),
      cleanup: call<In<'cleanup'>, void>(async (_, signal) => {
        await config.cleanup?.(signal);
      }),
    },
    actions: {
      resolveThresholds: assign(({ context }) => {
        try {
          return { thresholds: thresholdsFor(context.activeState as StateT) };
        } catch (error) {
          logger.error('threshold resolution failed; keeping the previous thresholds', error);
          return {};
        }
      }),
    },
  });

  const initialState = config.initialState;
  const input: RoundInput = {
    self: config.id,
    initialState,
    thresholds: thresholdsFor(initialState),
    timeouts: { ...DEFAULT_ROUND_TIMEOUTS, ...config.timeouts },
    rankWindow: config.rankWindow ?? DEFAULT_RANK_WINDOW,
    maxSendersPerRank: config.maxSendersPerRank ?? DEFAULT_MAX_SENDERS_PER_RANK,
    members: config.members ? config.members.map((member) => member.identity()) : null,
    shouldEmitReceiveEventsOnSends: config.shouldEmitReceiveEventsOnSends ?? true,
  };
  return { config, machine, input, clock, logger };
}

/**
 * The engine API (validated receives, listeners, state readings, start/stop)
 * over a round actor, which may be a child in a larger system. Call it after
 * the actor is created and before it is started, so no commit or provider
 * error goes unreported, and route the system's inspection events to
 * `observe`, or the transition listeners and `getState()` stay blind.
 */
export function createEngineFacade<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
  ActorT extends RoundActorRef,
>(
  build: RoundEngineBuild<StateT, VoteT, PeerIDT, CollectedT>,
  roundActor: ActorT,
): EngineFacade<StateT, VoteT, PeerIDT, CollectedT, ActorT> {
  const { config, clock, logger } = build;
  // Widened once, so the API reads the round's snapshot type whatever ActorT is.
  const round: RoundActorRef = roundActor;
  const transitionListeners = new Set<TransitionListener>();
  const commitListeners = new Set<(commit: CommitRecord<StateT, PeerIDT>) => void>();
  let currentState: RoundStateName = 'stopped';
  let stateEnteredAt = clock.now();
  let transitionCount = 0;
  let providerErrorCount = 0;

  const inFlight = new InFlightLedger();
  // Transition listeners hear of a transition once the step that made it has
  // settled, so whatever they read or send sees the state it produced.
  let notifications: Array<() => void> = [];
  const notify = (what: string, run: () => void) =>
    notifications.push(() => {
      try {
        run();
      } catch (error) {
        logger.error(`a ${what} listener threw`, error);
      }
    });

  // Transitions are read from XState's microsteps, so every one is seen, even
  // those that happen within one macrostep (e.g. proving → voting for a
  // non-prover). Only transitions that target a top-level state count: moves
  // between a state's own sub-steps are its internal progress.
  const observe = (inspection: InspectionEvent) => {
    if (inspection.actorRef !== round) return;
    if (inspection.type === '@xstate.snapshot') {
      inFlight.settle(inspection.event);
      const ready = notifications;
      notifications = [];
      for (const run of ready) run();
      return;
    }
    if (inspection.type !== '@xstate.microstep') return;
    for (const transition of inspection._transitions) {
      const target = transition.target?.find((node) => node.path.length === 1);
      if (target === undefined) continue;
      const from = currentState;
      const to = target.key as RoundStateName;
      const eventType = inspection.event.type as RoundEventType;
      currentState = to;
      stateEnteredAt = clock.now();
      transitionCount += 1;
      logger.trace(`${from} -> ${to} [${eventType}]`);
      notify('transition', () => {
        for (const listener of transitionListeners) listener(from, to, eventType);
      });
    }
  };

  round.on('provider_error', (failure) => {
    providerErrorCount += 1;
    logger.error(`${failure.state}: ${failure.call} failed`, failure.error);
  });
  round.on('committed', (commit) => {
    logger.trace(`committed rank ${commit.rank}: ${commit.state.identity()}`);
    const record = { rank: commit.rank, state: commit.state as StateT, proposer: commit.proposer as PeerIDT | null };
    // XState delivers emits after the step's snapshot is in place and before
    // the next round's provider calls start: the right moment for commit
    // listeners, who may read the new state and build on it.
    for (const listener of commitListeners) {
      try {
        listener(record);
      } catch (error) {
        logger.error('a commit listener threw', error);
      }
    }
  });

  const context = () => round.getSnapshot().context;

  /** Parses, admits, then sends: a refused message never reaches the actor. */
  function receive<Parsed>(
    kind: MessageKind,
    schema: z.ZodType<Parsed>,
    raw: unknown,
    toCandidate: (parsed: Parsed) => Candidate,
    payloadOf: (parsed: Parsed) => Unique,
    toEvent: (parsed: Parsed, payload: Unique) => RoundDataEvent,
  ): ReceiveResult {
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      const error = new MalformedMessageError(kind, describeIssues(parsed.error));
      logger.trace(error.message);
      throw error;
    }
    const candidate = toCandidate(parsed.data);
    const admission = admit(context(), candidate, inFlight);
    if (!admission.admitted) {
      const error: ConsensusInputError = toInputError(candidate, context(), admission);
      if (error instanceof EquivocationError) logger.error(`equivocation by ${candidate.sender}`, error);
      else logger.trace(error.message);
      throw error;
    }
    if (admission.duplicate) return 'duplicate';
    const { sender, rank, contentId, proposer } = candidate;
    const copied = ownCopy(payloadOf(parsed.data), contentId, rank);
    if ('issue' in copied) {
      const error = new MalformedMessageError(kind, [`${kind}: ${copied.issue}`]);
      logger.trace(error.message);
      throw error;
    }
    // The event carries the ids checked here, so the machine never asks the
    // peer's values again (their answers could change, or throw).
    const event: RoundDataEvent = {
      ...toEvent(parsed.data, copied.copy),
      ids: proposer === undefined ? { sender, rank, contentId } : { sender, rank, contentId, proposerId: proposer },
    };
    inFlight.add(event, candidate);
    round.send(event);
    return 'accepted';
  }

  const api: RoundEngineApi<StateT, VoteT, PeerIDT, CollectedT, ActorT> = {
    id: config.id,
    actor: roundActor,
    start() {
      round.send({ type: 'start' });
    },
    async stop() {
      if (round.getSnapshot().value === 'stopped') return;
      round.send({ type: 'stop' });
      await waitFor(round, (snapshot) => snapshot.value === 'stopped');
    },
    induceSync() {
      round.send({ type: 'induce_sync' });
    },
    getState: () => currentState,
    getStateTime: () => clock.now() - stateEnteredAt,
    getTransitionCount: () => transitionCount,
    getActiveState: () => context().activeState as StateT,
    getActiveRank: () => context().activeRank,
    getProviderErrorCount: () => providerErrorCount,
    getHeldMessageCount() {
      const { liveness, proposals, votes, confirmations } = context();
      return sizeOf(liveness) + sizeOf(proposals) + sizeOf(votes) + sizeOf(confirmations);
    },
    addListener(listener) {
      transitionListeners.add(listener);
      return () => transitionListeners.delete(listener);
    },
    onCommit(listener) {
      commitListeners.add(listener);
      return () => commitListeners.delete(listener);
    },
    receiveLivenessCheck(peer, collected) {
      return receive(
        'liveness',
        livenessMessageSchema,
        { peer, collected },
        (m) => ({ kind: 'liveness', sender: m.peer.id, rank: m.collected.rank, contentId: m.collected.id }),
        (m) => m.collected.value,
        (m, collected) => ({ type: 'liveness_check_received', peer: m.peer.value, collected }),
      );
    },
    receiveProposal(peer, proposal) {
      return receive(
        'proposal',
        proposalMessageSchema,
        { peer, proposal },
        (m) => ({ kind: 'proposal', sender: m.peer.id, rank: m.proposal.rank, contentId: m.proposal.id }),
        (m) => m.proposal.value,
        (m, proposal) => ({ type: 'proposal_received', peer: m.peer.value, proposal }),
      );
    },
    receiveVote(proposer, voter, vote) {
      return receive(
        'vote',
        voteMessageSchema,
        { proposer, voter, vote },
        (m) => ({ kind: 'vote', sender: m.voter.id, rank: m.vote.rank, contentId: m.vote.id, proposer: m.proposer.id }),
        (m) => m.vote.value,
        (m, vote) => ({ type: 'vote_received', proposer: m.proposer.value, voter: m.voter.value, vote }),
      );
    },
    receiveConfirmation(peer, state) {
      return receive(
        'confirmation',
        confirmationMessageSchema,
        { peer, state },
        (m) => ({ kind: 'confirmation', sender: m.peer.id, rank: m.state.rank, contentId: m.state.id }),
        (m) => m.state.value,
        (m, state) => ({ type: 'confirmation_received', peer: m.peer.value, state }),
      );
    },
  };
  return { api, observe };
}

/**
 * Creates a node's round engine: the round machine wired to the app's
 * providers, clock, logger and inspector, with a typed, validated API for
 * peers' messages.
 */
export function createConsensusEngine<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
>(
  config: ConsensusEngineConfig<StateT, VoteT, PeerIDT, CollectedT>,
): ConsensusEngine<StateT, VoteT, PeerIDT, CollectedT> {
  const build = buildRoundEngineMachine(config);

  // The facade needs the actor, and the actor needs the inspector that feeds
  // the facade: the inspector forwards once the facade exists, which is before
  // the actor starts and so before its first microstep.
  let facade: EngineFacade<StateT, VoteT, PeerIDT, CollectedT, Actor<RoundMachine>> | undefined;
  const userInspect = config.inspect;
  const inspect = (inspection: InspectionEvent) => {
    facade?.observe(inspection);
    if (typeof userInspect === 'function') userInspect(inspection);
    else userInspect?.next?.(inspection);
  };

  const roundActor = createActor(build.machine, { clock: build.clock, inspect, input: build.input });
  facade = createEngineFacade(build, roundActor);
  roundActor.start();
  return facade.api;
}
