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
import { admit, type Candidate, type MessageKind, type RejectionReason } from '../guards/admission';
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
import type { AttemptPosition, VotingProvider } from '../providers/voting';
import type { RoundSafetyStorage } from '../providers/storage';
import { defaultSkipThreshold, endorsementOf, NIL } from '../guards/roundChange';
import type { MessageIds, QuorumFinding, RoundSafetyRecord } from '../machines/round.types';
import { rankOf } from '../guards/rank';
import { InFlightLedger } from './inFlight';
import {
  AttemptOutOfWindowError,
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
  MAX_ATTEMPT,
  MAX_IDENTITY_LENGTH,
  livenessMessageSchema,
  nilConfirmationMessageSchema,
  nilVoteMessageSchema,
  proposalMessageSchema,
  rankedSchema,
  uniqueSchema,
  voteMessageSchema,
} from './schemas';

/** A node more than this many ranks behind its peers should sync, not buffer. */
export const DEFAULT_RANK_WINDOW = 16;
/**
 * Most peer messages one engine holds: per rank in the window and sender, one
 * liveness, and a proposal, a vote and a confirmation in each attempt kept
 * (the current one ± `attemptWindow`).
 */
export function heldMessageBound(rankWindow: number, senders: number, attemptWindow = DEFAULT_ATTEMPT_WINDOW): number {
  return rankWindow * senders * (1 + 3 * (2 * attemptWindow + 1));
}

/** Upper bound on the window (see `heldMessageBound`). */
export const MAX_RANK_WINDOW = 1024;
/** Attempts before and after the current one whose messages a node keeps. */
export const DEFAULT_ATTEMPT_WINDOW = 4;
export const MAX_ATTEMPT_WINDOW = 64;
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
  /**
   * Where the lock and the last attempt voted in are kept (SPEC §2.8). Pass
   * the same storage to a restarted node, or it may vote against its lock.
   * Default: kept in the actor only.
   */
  storage?: RoundSafetyStorage;
  /** Attempts before and after the current one whose messages are kept. Default 4. */
  attemptWindow?: number;
  /**
   * Senders heard at a higher attempt that make a node skip to it: f + 1.
   * Default: f + 1 of `members` when given; without members, skipping ahead is off.
   */
  skipAheadThreshold?: number;
}

/** Where a peer's message sits; omitted fields mean attempt 0, the reference's flow. */
export interface ProposalMessagePosition {
  attempt?: number;
  validAttempt?: number | null;
}
export interface VoteMessagePosition {
  attempt?: number;
  /** The identity of the proposal the vote endorses. Without it, votes match by prover only. */
  proposal?: Identity;
}
export interface ConfirmationMessagePosition {
  attempt?: number;
}

export interface AttemptChange {
  rank: number;
  from: number;
  to: number;
  reason: 'timeout' | 'nil_confirmations' | 'skip_ahead';
}

export type TransitionListener = (from: RoundStateName, to: RoundStateName, event: RoundEventType) => void;

export interface CommitRecord<StateT extends Unique, PeerIDT extends Unique> {
  rank: number;
  state: StateT;
  /** The prover whose proposal was finalized, when this node holds its proposal. */
  proposer: PeerIDT | null;
  /** The attempt whose 2f + 1 confirmations committed it. */
  attempt: number;
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
  /** Called each time the node leaves an attempt of a rank for a later one. */
  onAttemptChange(listener: (change: AttemptChange) => void): () => void;
  /** The attempt of the rank being decided. */
  getAttempt(): number;
  receiveLivenessCheck(peer: PeerIDT, collected: CollectedT): ReceiveResult;
  receiveProposal(peer: PeerIDT, proposal: StateT, position?: ProposalMessagePosition): ReceiveResult;
  receiveVote(proposer: PeerIDT, voter: PeerIDT, vote: VoteT, position?: VoteMessagePosition): ReceiveResult;
  /** A nil vote: `vote` is the app's nil ballot (it carries the rank). */
  receiveNilVote(voter: PeerIDT, vote: VoteT, position?: ConfirmationMessagePosition): ReceiveResult;
  receiveConfirmation(peer: PeerIDT, state: StateT, position?: ConfirmationMessagePosition): ReceiveResult;
  receiveNilConfirmation(peer: PeerIDT, position: AttemptPosition): ReceiveResult;
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
    storage: z.object({ loadRoundSafety: method('loadRoundSafety'), saveRoundSafety: method('saveRoundSafety') }).loose().optional(),
    attemptWindow: z.number().int().min(1).max(MAX_ATTEMPT_WINDOW).optional(),
    skipAheadThreshold: z.number().int().min(1).max(MAX_SENDERS_PER_RANK).optional(),
  })
  .strict()
  .refine((config) => (config.timeouts?.attemptGrowth ?? 1) >= 1, {
    message: 'timeouts.attemptGrowth must be at least 1: later attempts never wait less',
    path: ['timeouts', 'attemptGrowth'],
  });

const attemptOf = z.number().int().min(0).max(MAX_ATTEMPT);
/** What a storage gives back is checked like a message: a corrupt record must not unlock a node. */
const safetyRecordSchema = z
  .object({
    rank: z.number().int().min(0),
    votedAttempt: z.number().int().min(-1).max(MAX_ATTEMPT),
    confirmedAttempt: z.number().int().min(-1).max(MAX_ATTEMPT),
    lock: z
      .object({
        contentId: z.string().min(1).max(MAX_IDENTITY_LENGTH),
        proposerId: z.string().min(1).max(MAX_IDENTITY_LENGTH).nullable(),
        attempt: attemptOf,
      })
      .nullable(),
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

function toInputError(candidate: Candidate, context: RoundContext, admission: { reason: RejectionReason; detail: string }) {
  const { kind, sender, rank } = candidate;
  switch (admission.reason) {
    case 'stale_rank':
    case 'future_rank':
      return new RankOutOfWindowError(admission.reason, kind, rank, context.activeRank, context.rankWindow, admission.detail);
    case 'stale_attempt':
    case 'future_attempt':
      return new AttemptOutOfWindowError(admission.reason, kind, rank, candidate.attempt, context.attemptWindow, admission.detail);
    case 'not_member':
    case 'not_prover':
    case 'not_proposer':
      return new UnexpectedSenderError(admission.reason, kind, sender, admission.detail);
    case 'equivocation':
      return new EquivocationError(kind, sender, rank, admission.detail);
    case 'rank_full':
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
      sendProposal: call<In<'sendProposal'>, void>(({ proposal, rank, attempt, validAttempt }, signal) =>
        providers.voting.sendProposal(proposal.clone() as StateT, signal, { rank, attempt, validAttempt }),
      ),
      decideAndSendVote: call<In<'decideAndSendVote'>, { proposer: Unique | null; vote: Unique }>(
        async ({ proposals, rank, attempt }, signal) => {
          const offered = toMap<StateT>(proposals, logger);
          const decision = await providers.voting.decideAndSendVote(offered, signal, { rank, attempt });
          if (typeof decision !== 'object' || decision === null) {
            throw new ProviderContractError('decideAndSendVote', 'must resolve to { proposer, vote }');
          }
          checkUnique('decideAndSendVote', decision.vote, 'vote');
          if (decision.proposer === null) return decision;
          const proposer = uniqueSchema('proposer').safeParse(decision.proposer);
          if (!proposer.success) {
            throw new ProviderContractError('decideAndSendVote', describeIssues(proposer.error).join('; '));
          }
          return decision;
        },
      ),
      tally: call<In<'tally'>, QuorumFinding | null>(async ({ groups }, signal) => {
        for (const group of groups) {
          const messages = new Map<Identity, VoteT | StateT | null>();
          for (const [sender, value] of Object.entries(group.messages)) {
            if (value === null) messages.set(sender, null);
            else {
              const copy = toMap<VoteT | StateT>({ [sender]: value }, logger).get(sender);
              if (copy !== undefined) messages.set(sender, copy);
            }
          }
          const { kind, rank, attempt, value } = group;
          const quorum = await providers.voting.isQuorum(messages, signal, { kind, rank, attempt, value });
          if (typeof quorum !== 'boolean') throw new ProviderContractError('isQuorum', 'must resolve to a boolean');
          if (quorum) return group.finding;
        }
        return null;
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
      sendConfirmation: call<In<'sendConfirmation'>, void>(async ({ finalized, rank, attempt }, signal) => {
        if (finalized !== null) {
          await providers.voting.sendConfirmation(finalized.clone() as StateT, signal, { rank, attempt });
        } else {
          await providers.voting.sendNilConfirmation?.({ rank, attempt }, signal);
        }
      }),
      loadSafety: call<In<'loadSafety'>, RoundSafetyRecord | null>(async () => {
        if (config.storage === undefined) return null;
        const record = await config.storage.loadRoundSafety();
        if (record === null) return null;
        const parsed = safetyRecordSchema.safeParse(record);
        if (!parsed.success) {
          throw new ProviderContractError('loadRoundSafety', describeIssues(parsed.error).join('; '));
        }
        return parsed.data;
      }),
      saveSafety: call<In<'saveSafety'>, void>(async ({ record }) => {
        await config.storage?.saveRoundSafety(record);
      }),
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
    attemptWindow: config.attemptWindow ?? DEFAULT_ATTEMPT_WINDOW,
    skipThreshold:
      config.skipAheadThreshold ??
      (config.members ? defaultSkipThreshold(config.members.length) : Number.POSITIVE_INFINITY),
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
  const attemptListeners = new Set<(change: AttemptChange) => void>();
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

  round.on('attempt_changed', ({ rank, from, to, reason }) => {
    logger.trace(`rank ${rank}: attempt ${from} -> ${to} (${reason})`);
    for (const listener of attemptListeners) {
      try {
        listener({ rank, from, to, reason });
      } catch (error) {
        logger.error('an attempt listener threw', error);
      }
    }
  });
  round.on('provider_error', (failure) => {
    providerErrorCount += 1;
    logger.error(`${failure.state}: ${failure.call} failed`, failure.error);
  });
  round.on('committed', (commit) => {
    logger.trace(`committed rank ${commit.rank}: ${commit.state.identity()}`);
    const record = {
      rank: commit.rank,
      state: commit.state as StateT,
      proposer: commit.proposer as PeerIDT | null,
      attempt: commit.attempt,
    };
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
    payloadOf: (parsed: Parsed) => Unique | null,
    toEvent: (parsed: Parsed, payload: Unique | null) => RoundDataEvent,
    validAttempt?: (parsed: Parsed) => number | null,
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
    const { sender, rank, contentId, proposer, attempt, endorses } = candidate;
    const ids: MessageIds = { sender, rank, contentId, attempt };
    if (proposer !== undefined) ids.proposerId = proposer;
    if (endorses !== undefined) ids.endorses = endorses;
    if (validAttempt !== undefined) ids.validAttempt = validAttempt(parsed.data);
    // Too far ahead to keep: the actor only notes that the sender got there.
    if (admission.evidenceOnly) {
      round.send({ ...toEvent(parsed.data, payloadOf(parsed.data)), ids });
      return 'accepted';
    }
    const payload = payloadOf(parsed.data);
    let copy: Unique | null = null;
    if (payload !== null) {
      const copied = ownCopy(payload, contentId, rank);
      if ('issue' in copied) {
        const error = new MalformedMessageError(kind, [`${kind}: ${copied.issue}`]);
        logger.trace(error.message);
        throw error;
      }
      copy = copied.copy;
    }
    // The event carries the ids checked here, so the machine never asks the
    // peer's values again (their answers could change, or throw).
    const event: RoundDataEvent = { ...toEvent(parsed.data, copy), ids };
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
    onAttemptChange(listener) {
      attemptListeners.add(listener);
      return () => attemptListeners.delete(listener);
    },
    getAttempt: () => context().attempt,
    receiveLivenessCheck(peer, collected) {
      return receive(
        'liveness',
        livenessMessageSchema,
        { peer, collected },
        (m) => ({ kind: 'liveness', sender: m.peer.id, rank: m.collected.rank, contentId: m.collected.id, attempt: 0 }),
        (m) => m.collected.value,
        (m, copy) => ({ type: 'liveness_check_received', peer: m.peer.value, collected: copy as Unique }),
      );
    },
    receiveProposal(peer, proposal, position) {
      return receive(
        'proposal',
        proposalMessageSchema,
        { peer, proposal, position },
        (m) => ({
          kind: 'proposal',
          sender: m.peer.id,
          rank: m.proposal.rank,
          contentId: m.proposal.id,
          attempt: m.position?.attempt ?? 0,
        }),
        (m) => m.proposal.value,
        (m, copy) => ({ type: 'proposal_received', peer: m.peer.value, proposal: copy as Unique }),
        (m) => m.position?.validAttempt ?? null,
      );
    },
    receiveVote(proposer, voter, vote, position) {
      return receive(
        'vote',
        voteMessageSchema,
        { proposer, voter, vote, position },
        (m) => ({
          kind: 'vote',
          sender: m.voter.id,
          rank: m.vote.rank,
          contentId: m.vote.id,
          proposer: m.proposer.id,
          attempt: m.position?.attempt ?? 0,
          endorses: endorsementOf(m.position?.proposal, m.proposer.id),
        }),
        (m) => m.vote.value,
        (m, copy) => ({ type: 'vote_received', proposer: m.proposer.value, voter: m.voter.value, vote: copy as Unique }),
      );
    },
    receiveNilVote(voter, vote, position) {
      return receive(
        'vote',
        nilVoteMessageSchema,
        { voter, vote, position },
        (m) => ({
          kind: 'vote',
          sender: m.voter.id,
          rank: m.vote.rank,
          contentId: m.vote.id,
          attempt: m.position?.attempt ?? 0,
          endorses: NIL,
        }),
        (m) => m.vote.value,
        (m, copy) => ({ type: 'vote_received', proposer: null, voter: m.voter.value, vote: copy as Unique }),
      );
    },
    receiveConfirmation(peer, state, position) {
      return receive(
        'confirmation',
        confirmationMessageSchema,
        { peer, state, position },
        (m) => ({
          kind: 'confirmation',
          sender: m.peer.id,
          rank: m.state.rank,
          contentId: m.state.id,
          attempt: m.position?.attempt ?? 0,
        }),
        (m) => m.state.value,
        (m, copy) => ({ type: 'confirmation_received', peer: m.peer.value, state: copy }),
      );
    },
    receiveNilConfirmation(peer, position) {
      return receive(
        'confirmation',
        nilConfirmationMessageSchema,
        { peer, position },
        (m) => ({ kind: 'confirmation', sender: m.peer.id, rank: m.position.rank, contentId: NIL, attempt: m.position.attempt }),
        () => null,
        (m) => ({ type: 'confirmation_received', peer: m.peer.value, state: null }),
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
