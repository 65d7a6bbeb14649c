import type { Membership } from '../guards/quorum';
import { roundMachine, type RoundMachine } from '../machines/round.machine';
import { DEFAULT_ROUND_TIMEOUTS, type RoundInput, type RoundThresholds } from '../machines/round.types';
import { systemClock, type ConsensusClock } from '../providers/clock';
import { silentTraceLogger, type TraceLogger } from '../providers/trace';
import type { Identity, Unique } from '../providers/unique';
import {
  DEFAULT_ATTEMPT_WINDOW,
  DEFAULT_MAX_VALUE_SIZE,
  DEFAULT_RANK_WINDOW,
  resolveConfig,
  type ConsensusEngineConfig,
  type Threshold,
} from './config';
import { ProviderContractError } from './errors';
import { providerPorts } from './providerActors';

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
  /** `roundMachine` itself: one definition per process, whatever the number of engines. */
  readonly machine: RoundMachine;
  /** The machine's input, for `createActor(machine, { input })` or an `invoke`: the app's providers travel in its `ports`. */
  readonly input: RoundInput;
  readonly clock: ConsensusClock;
  readonly logger: TraceLogger;
  readonly membership: Membership;
  /** The configured member objects, by identity. */
  readonly peers: ReadonlyMap<Identity, PeerIDT>;
  readonly maxValueSize: number;
  readonly warnOnRefusals: boolean;
}

function resolveThreshold<StateT>(threshold: Threshold<StateT>, active: StateT, name: string, least = 1): number {
  const value = typeof threshold === 'function' ? threshold(active) : threshold;
  if (!Number.isSafeInteger(value) || value < least) {
    throw new ProviderContractError(name, `must resolve to an integer of at least ${least}, got ${String(value)}`);
  }
  return value;
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
>(config: ConsensusEngineConfig<StateT, VoteT, PeerIDT, CollectedT>): RoundEngineBuild<StateT, VoteT, PeerIDT, CollectedT> {
  const { membership, peers } = resolveConfig(config);
  const logger = config.traceLogger ?? silentTraceLogger;
  const clock = config.clock ?? systemClock;
  const minimumProvers = config.minimumProvers ?? 1;
  const thresholdsFor = (active: StateT): RoundThresholds => ({
    provers: resolveThreshold(minimumProvers, active, 'minimumProvers'),
    liveness: resolveThreshold(config.livenessThreshold ?? minimumProvers, active, 'livenessThreshold', 0),
    proposals: resolveThreshold(config.proposalThreshold ?? minimumProvers, active, 'proposalThreshold'),
  });
  const input: RoundInput = {
    self: config.id,
    initialState: config.initialState,
    thresholds: thresholdsFor(config.initialState),
    timeouts: { ...DEFAULT_ROUND_TIMEOUTS, ...config.timeouts },
    rankWindow: config.rankWindow ?? DEFAULT_RANK_WINDOW,
    membership,
    shouldEmitReceiveEventsOnSends: config.shouldEmitReceiveEventsOnSends ?? true,
    attemptWindow: config.attemptWindow ?? DEFAULT_ATTEMPT_WINDOW,
    ports: providerPorts(config, logger, thresholdsFor),
  };
  return {
    config,
    machine: roundMachine,
    input,
    clock,
    logger,
    membership,
    peers,
    maxValueSize: config.maxValueSize ?? DEFAULT_MAX_VALUE_SIZE,
    warnOnRefusals: config.warnOnRefusals ?? true,
  };
}
