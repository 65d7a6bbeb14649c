// `statechart-consensus/simulator`: the deterministic cluster simulator (in
// the spirit of FoundationDB's simulation and TigerBeetle's VOPR), its
// discrete-event clock, the online safety checker, the Byzantine behaviours,
// and the demo ledger application it runs.
export {
  runSimulation,
  attemptReport,
  type AttemptReport,
  MAX_EVENTS_PER_RUN,
  type ElectionReport,
  type Leadership,
  type NodeElectionReport,
  type NodeReport,
  type SimulationHooks,
  type SimulationReport,
  type Violation,
} from './runSimulation';
export {
  DEFAULT_SIMULATION_OPTIONS,
  LEADER,
  MAX_DELAY_MS,
  MAX_FAULT_MS,
  MAX_NODES,
  nodeNames,
  parseBehaviour,
  parseCrashes,
  parsePartitions,
  parseRange,
  resolveOptions,
  SimulationOptionsError,
  type CrashSpec,
  type RangeLimits,
  type SimulationOptions,
  type SkippedCrash,
} from './options';
export { replayCommand } from './replay';
export {
  isFaultFree,
  runSweep,
  sweepPlan,
  SWEEP_SIZES,
  type SweepHooks,
  type SweepRun,
  type SweepSummary,
} from './sweep';
export {
  electionSweepPlan,
  ELECTION_SWEEP_SIZES,
  formatLeaderDistribution,
  leaderDistribution,
  runElectionSweep,
  type ElectionSweepHooks,
  type ElectionSweepRun,
  type ElectionSweepSummary,
  type LeaderDistribution,
} from './electionSweep';
export {
  agreedLeader,
  countsAgainstBound,
  LeaderLiveness,
  majorityComponent,
  type ClusterSnapshot,
  type ElectionView,
  type LeaderLivenessOptions,
  type LeaderWindow,
  type LeaderWindowKind,
  type LeaderWindowOutcome,
} from './LeaderLiveness';
export { EventClock, drainMicrotasks } from './EventClock';
export { EventTrace, DEFAULT_TRACE_TAIL, type TraceEvent, type TraceEventType } from './EventTrace';
export { SafetyChecker, type Finding, type SafetyCheckerOptions, type ViolationKind } from './SafetyChecker';
export { LogMatching, type LogMatchingOptions, type LogMatchingSummary, type MatchedEntry } from './LogMatching';
export { CommitLogRecorder, type CommitLogsJson, type FrameJson, type LogEntryJson } from './commitLogs';
export {
  ByzantineNode,
  BEHAVIOUR_OPTIONS,
  electionJunk,
  BYZANTINE_BEHAVIOURS,
  FLOOD_MESSAGES_PER_PEER,
  type BehaviourOption,
  type ByzantineBehaviour,
  type ByzantineContext,
} from './byzantine';
export {
  HonestNode,
  type ElectionDeliveryOutcome,
  type HonestNodeWorld,
  type NodeElectionState,
  type SimNode,
} from './HonestNode';
export { idleProviders } from './idleApp';
export {
  SimulatedNetwork,
  type DropReason,
  type LatencyRange,
  type LinkConditions,
  type MessageHandler,
  type NetworkEvent,
  type NetworkStats,
  type Partition,
  type SimulatedNetworkOptions,
} from './simulatedNetwork';
export * from '../examples/ledger/index';
