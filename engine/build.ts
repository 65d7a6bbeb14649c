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
import { ConsensusConfigError, ProviderContractError } from './errors';
import { providerPorts, type RoundLink } from './providerActors';
import { LinearMessaging } from './linearMessaging';
import type { RelayProvider } from '../providers/relay';
import { memberKeys } from './signing/certificate';
import { EngineSigning } from './signing/engineSigning';
import { privateKeyObject } from './signing/keys';
import { SignatureVerifier } from './signing/verifier';
import { ProposalPool } from './proposals/pool';
import { CommitPacer } from './pacer';
import { keepsLog } from '../providers/storage';
import { resumeLog, type ResumedLog } from './storedLog';
import { engineMemberships, type EngineMemberships } from './membership/engineMemberships';

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
  /** The configured membership: the one at the initial state. */
  readonly membership: Membership;
  /** The membership of every rank (`membership` throughout, unless the app changes it through the log). */
  readonly memberships: EngineMemberships;
  /** The configured member objects, by identity (and those the log added). */
  readonly peers: ReadonlyMap<Identity, PeerIDT>;
  readonly maxValueSize: number;
  readonly warnOnRefusals: boolean;
  /** This engine's keys and signatures; null when it has no keys (nothing signed). */
  readonly signing: EngineSigning | null;
  /** How the provider calls read the running round; set once its actor exists. */
  readonly link: RoundLink;
  /** Payloads waiting to commit; null without `proposals` configured. */
  readonly proposals: ProposalPool<StateT, unknown> | null;
  /** Audiences and aggregation under `messaging: 'linear'`; null for all-to-all. */
  readonly linear: LinearMessaging<StateT> | null;
  /** The commit log read back from storage, and the state resumed from it; null when the storage keeps no log. */
  readonly resumed: ResumedLog<StateT, PeerIDT> | null;
}

/** The engine's signing, from its keys; null without a private key. Throws `ConsensusConfigError` on unusable keys. */
function signingOf(
  config: ConsensusEngineConfig<Unique, Unique, Unique, Unique>,
  membership: Membership,
  publicKeys: ReadonlyMap<Identity, string>,
): EngineSigning | null {
  if (config.privateKey === undefined) return null;
  const self = config.id.identity();
  // resolveConfig checked the key against this node's publicKey, with every other issue.
  const privateKey = privateKeyObject(config.privateKey);
  let keys;
  try {
    keys = memberKeys(
      membership.ids.map((id) => ({ id, publicKey: publicKeys.get(id) as string, weight: membership.weights[id] })),
      membership.faulty,
    );
  } catch (error) {
    throw new ConsensusConfigError([(error as Error).message]);
  }
  return new EngineSigning(self, privateKey, config.chainId ?? '', keys, config.signatureVerifier ?? new SignatureVerifier());
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
  const { membership, peers, publicKeys } = resolveConfig(config);
  const signing = signingOf(config as unknown as ConsensusEngineConfig<Unique, Unique, Unique, Unique>, membership, publicKeys);
  const link: RoundLink = { context: () => null, pacer: new CommitPacer(config.clock ?? systemClock) };
  const logger = config.traceLogger ?? silentTraceLogger;
  const clock = config.clock ?? systemClock;
  const proposals = proposalPoolOf(config, clock, logger);
  // The configuration check made sure linear messaging has keys and a relay that broadcasts.
  const relay = config.providers.relay;
  const linear =
    config.messaging === 'linear' && signing !== null && relay !== undefined
      ? new LinearMessaging<StateT>(signing, relay as RelayProvider<StateT, Unique, unknown>, logger, () => link.context())
      : null;
  // A storage that keeps the commit log says where this engine left off.
  const resumed = keepsLog(config.storage) ? resumeLog<StateT, PeerIDT>(config.storage, config.codec.state, (id) => peers.get(id), config.initialState) : null;
  const initialState = resumed?.state ?? config.initialState;
  const memberships = membershipsOf(config, membership, publicKeys, peers as Map<Identity, PeerIDT>, resumed, signing, logger);
  const minimumProvers = config.minimumProvers ?? 1;
  const thresholdsFor = (active: StateT): RoundThresholds => ({
    provers: resolveThreshold(minimumProvers, active, 'minimumProvers'),
    liveness: resolveThreshold(config.livenessThreshold ?? minimumProvers, active, 'livenessThreshold', 0),
    proposals: resolveThreshold(config.proposalThreshold ?? minimumProvers, active, 'proposalThreshold'),
  });
  const input: RoundInput = {
    self: config.id,
    initialState,
    thresholds: thresholdsFor(initialState),
    timeouts: { ...DEFAULT_ROUND_TIMEOUTS, ...config.timeouts },
    rankWindow: config.rankWindow ?? DEFAULT_RANK_WINDOW,
    ...memberships.input,
    shouldEmitReceiveEventsOnSends: config.shouldEmitReceiveEventsOnSends ?? true,
    attemptWindow: config.attemptWindow ?? DEFAULT_ATTEMPT_WINDOW,
    ports: providerPorts(config, logger, thresholdsFor, signing, link, proposals, linear),
  };
  return {
    config,
    machine: roundMachine,
    input,
    clock,
    logger,
    membership,
    memberships,
    peers,
    maxValueSize: config.maxValueSize ?? DEFAULT_MAX_VALUE_SIZE,
    warnOnRefusals: config.warnOnRefusals ?? true,
    signing,
    link,
    proposals,
    linear,
    resumed,
  };
}

/** The engine's memberships; with keys, its signing weighs and checks each rank's signatures with that rank's. */
function membershipsOf<StateT extends Unique, PeerIDT extends Unique>(
  config: ConsensusEngineConfig<StateT, Unique, PeerIDT, Unique>,
  membership: Membership,
  publicKeys: ReadonlyMap<Identity, string>,
  peers: Map<Identity, PeerIDT>,
  resumed: ResumedLog<StateT, PeerIDT> | null,
  signing: EngineSigning | null,
  logger: TraceLogger,
): EngineMemberships {
  let memberships: EngineMemberships;
  try {
    memberships = engineMemberships(config as ConsensusEngineConfig<StateT, Unique, PeerIDT, Unique, unknown>, { membership, publicKeys, peers }, resumed, signing?.members ?? null, logger);
  } catch (error) {
    throw new ConsensusConfigError([`the stored snapshot's membership: ${(error as Error).message}`]);
  }
  if (signing !== null && memberships.history !== null) signing.membersAt = (rank) => memberships.keysAt(rank) ?? signing.members;
  return memberships;
}

/** The engine's proposal pool, forwarding each new proposal through the relay when the app gives a way. */
function proposalPoolOf<StateT extends Unique>(
  config: ConsensusEngineConfig<StateT, Unique, Unique, Unique, unknown>,
  clock: ConsensusClock,
  logger: TraceLogger,
): ProposalPool<StateT, unknown> | null {
  if (config.proposals === undefined) return null;
  const forward = config.providers.relay?.forwardPayload?.bind(config.providers.relay);
  const hooks = forward === undefined
    ? {}
    : {
        forward: (payload: unknown) => {
          Promise.resolve()
            .then(() => forward(payload))
            .catch((error: unknown) => logger.error('relay.forwardPayload failed', error));
        },
      };
  return new ProposalPool(config.id.identity(), config.proposals, clock, logger, hooks);
}
