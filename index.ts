// The public API of statechart-consensus.
export {
  createConsensusEngine,
  heldMessageBound,
  DEFAULT_ATTEMPT_WINDOW,
  MAX_ATTEMPT_WINDOW,
  DEFAULT_RANK_WINDOW,
  DEFAULT_MAX_VALUE_SIZE,
  MAX_RANK_WINDOW,
  MAX_MEMBERS,
  DEFAULT_LOG_RETENTION,
  DEFAULT_MAX_PENDING_PROPOSALS,
  DEFAULT_MAX_BATCH,
  DEFAULT_MAX_BATCH_BYTES,
  DEFAULT_PROPOSAL_TIMEOUT,
  type ProposalOptions,
  type ProposalOutcome,
  type ProposeOptions,
  type AttemptChange,
  type CommitLogView,
  type LogEntry,
  type CommitCertificateInput,
  type CommitRecord,
  type LockProofInput,
  type MemberConfig,
  type MembershipChange,
  type MembershipChangeNotice,
  type PeerRef,
  type ConfirmationMessagePosition,
  type ProposalMessagePosition,
  type VoteMessagePosition,
  type ConsensusEngine,
  type ConsensusEngineConfig,
  type ConsensusProviders,
  type InspectionObserver,
  type MessagingMode,
  type ReceiveResult,
  type Threshold,
  type TransitionListener,
} from './engine/createConsensusEngine';
export {
  ConsensusError,
  ConsensusConfigError,
  StoredLogError,
  ConsensusInputError,
  MalformedMessageError,
  RankOutOfWindowError,
  AttemptOutOfWindowError,
  UnexpectedSenderError,
  EquivocationError,
  RankCapacityError,
  QuorumShortfallError,
  InvalidSignatureError,
  ProviderContractError,
  ProposalError,
  type ProposalErrorCode,
  ReadIndexError,
  type ReadIndexErrorCode,
  type InputErrorCode,
} from './engine/errors';
export { MAX_IDENTITY_LENGTH, MAX_ATTEMPT } from './engine/schemas';
export { roundMachine, type RoundMachine, type ProviderCallInputs } from './machines/round.machine';
export {
  ROUND_STATES,
  ROUND_SIGNAL_EVENTS,
  DEFAULT_ROUND_TIMEOUTS,
  type RoundStateName,
  type RoundEventType,
  type RoundEvent,
  type RoundContext,
  type RoundInput,
  type RoundTimeouts,
  type RoundThresholds,
} from './machines/round.types';
export type { MessageKind, RejectionReason } from './guards/admission';
export type { Identity, Unique } from './providers/unique';
export type { SyncProvider } from './providers/sync';
export type { LeaderProvider } from './providers/leader';
export type { LivenessProvider } from './providers/liveness';
export type {
  VotingProvider,
  VoteDecision,
  Finalization,
  AttemptPosition,
  ProposalPosition,
  SignedPosition,
  VotePosition,
} from './providers/voting';
export type { RelayProvider, SnapshotChunk } from './providers/relay';
export * from './engine/signing/index';
export type { ValueCodec, ValueCodecs } from './providers/codec';
export {
  createMembership,
  isQuorum,
  maxFaultTolerance,
  quorumThreshold,
  weightOf,
  weightOfSenders,
  type Membership,
  type WeightedMember,
} from './guards/quorum';
export { silentTraceLogger, type TraceLogger } from './providers/trace';
export { systemClock, type ConsensusClock } from './providers/clock';
export { createSeededRandom, type RandomSource } from './providers/random';
export { SimulatedClock } from 'xstate';
export {
  electionMachine,
  createElectionMachine,
  electionStatus,
  MAX_OUTBOX,
  type ElectionActor,
  type ElectionContext,
  type ElectionDependencies,
  type ElectionEmitted,
  type ElectionEvent,
  type ElectionMachine,
  type ElectionRole,
  type ElectionSnapshot,
  type NodeId,
  type OutboundMessage,
} from './machines/election.machine';
export {
  DEFAULT_ELECTION_TIMING,
  ElectionMessageError,
  ElectionMessageSchema,
  MAX_CLUSTER_SIZE,
  checkInbound,
  parseElectionMessage,
  toElectionEvent,
  type ElectionInput,
  type ElectionMessage,
  type ElectionTiming,
  type LogPosition,
} from './machines/election.schemas';
export {
  InMemoryElectionStorage,
  InMemorySafetyStorage,
  type ElectionStorage,
  type HardState,
  type RoundSafetyStorage,
  type RoundSafetyRecord,
  type SafetyStorage,
  type LogStorage,
  type NodeStorage,
  type StoredLogEntry,
  type StoredSnapshot,
} from './providers/storage';
export type { ReplicatedStateMachine, Snapshot } from './engine/stateMachine';
export { openNodeStore, NodeStore, StoreFormatError, type NodeStoreOptions } from './storage/nodeStore';
export { DirectoryLockedError } from './storage/dirLock';
export { WalCorruptionError, WalWriteError, WalClosedError, WalError } from './storage/errors';
export type { RecoveryReport } from './storage/recovery';
export { openNode, type DurableNode, type DurableNodeConfig } from './node/openNode';
export {
  buildRoundEngineMachine,
  createEngineFacade,
  type EngineFacade,
  type RoundActorRef,
  type RoundEngineApi,
  type RoundEngineBuild,
} from './engine/createConsensusEngine';
export {
  createNode,
  type ConsensusNode,
  type LeaderChangeListener,
  type OutboundListener,
  type RoleChangeListener,
  type CoordinatedConfig,
  type WithCoordination,
} from './node/createNode';
export type { NodeConfig, NodeCoordinationConfig, NodeElectionConfig, NodeProviders } from './node/config';
export {
  nodeMachine,
  roundFollowsAnotherLeader,
  roundStateOf,
  type ElectionRelayEvent,
  type NodeActor,
  type NodeContext,
  type NodeEmitted,
  type NodeEvent,
  type NodeInput,
  type NodeMachine,
  type NodeSnapshot,
} from './machines/node.machine';
export { SYSTEM_IDS, type SystemId } from './machines/systemIds';
export {
  createElectionLeaderProvider,
  type ElectionLeaderProviderOptions,
  type LeaderSource,
  type StateProver,
} from './providers/electionLeader';
export {
  SimulatedNetwork,
  type LatencyRange,
  type LinkConditions,
  type Partition,
  type NetworkEvent,
  type NetworkStats,
  type SimulatedNetworkOptions,
} from './simulator/simulatedNetwork';
export {
  EngineMetrics,
  createEngineMetrics,
  createMetricsRegistry,
  DEFAULT_LATENCY_BUCKETS,
  ATTEMPT_BUCKETS,
  PROPOSAL_OUTCOMES,
  type CommitLatencySource,
  type EngineMetricsOptions,
  type ProposalOutcomeName,
  type ScrapeReadings,
} from './engine/metrics';
export {
  attachEngineMetrics,
  attachNodeMetrics,
  type AttachMetricsOptions,
  type MeteredEngine,
  type MeteredNode,
} from './engine/attachMetrics';
