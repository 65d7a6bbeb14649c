// `statechart-consensus/simulator`: the deterministic cluster simulator (in
// the spirit of FoundationDB's simulation and TigerBeetle's VOPR), its
// discrete-event clock, the online safety checker, the Byzantine behaviours,
// and the demo ledger application it runs.
export {
  runSimulation,
  MAX_EVENTS_PER_RUN,
  type NodeReport,
  type SimulationHooks,
  type SimulationReport,
  type Violation,
} from './runSimulation';
export {
  DEFAULT_SIMULATION_OPTIONS,
  MAX_NODES,
  nodeNames,
  parseBehaviour,
  parseCrashes,
  parsePartitions,
  parseRange,
  resolveOptions,
  SimulationOptionsError,
  type CrashSpec,
  type SimulationOptions,
} from './options';
export { replayCommand } from './replay';
export {
  isFaultFree,
  mayStall,
  runSweep,
  sweepPlan,
  SWEEP_SIZES,
  type SweepHooks,
  type SweepRun,
  type SweepSummary,
} from './sweep';
export { EventClock, drainMicrotasks } from './EventClock';
export { EventTrace, DEFAULT_TRACE_TAIL, type TraceEvent, type TraceEventType } from './EventTrace';
export { SafetyChecker, type Finding, type SafetyCheckerOptions, type ViolationKind } from './SafetyChecker';
export {
  ByzantineNode,
  BEHAVIOUR_OPTIONS,
  BYZANTINE_BEHAVIOURS,
  FLOOD_MESSAGES_PER_PEER,
  type BehaviourOption,
  type ByzantineBehaviour,
  type ByzantineContext,
} from './byzantine';
export { HonestNode, type HonestNodeWorld } from './HonestNode';
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
} from '../providers/simulatedNetwork';
export * from '../examples/ledger/index';
