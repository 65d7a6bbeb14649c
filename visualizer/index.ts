// `statechart-consensus/visualizer`: statechart diagrams generated from the
// machines, inspection for the Stately inspector (sanitized), and the offline
// live view of a simulated cluster.
export { describeMachine, toDot, toMermaid, toSvg } from './diagram';
export type { MachineModel, StateModel, StateType, TransitionModel, TriggerKind } from './diagram';
export { overviewDot, overviewModel, overviewSvg, ROUND_EVERYWHERE_EVENTS, type OverviewModel } from './overviewDiagram';
export {
  DIAGRAM_EXTENSIONS,
  DIAGRAM_FORMATS,
  DIAGRAM_MACHINE_NAMES,
  DIAGRAM_MACHINES,
  type DiagramFormat,
  type DiagramMachineName,
} from './machines';
export { DIAGRAMS_DIRECTORY, generateDiagrams, renderDiagram, renderDiagramFiles, type DiagramFile } from './generateDiagrams';
export {
  DEFAULT_SANITIZE_OPTIONS,
  sanitizeContext,
  sanitizeValue,
  summarizeRankBook,
  type SanitizeOptions,
} from './sanitize';
export {
  FORWARDED_INSPECTION_TYPES,
  loadStatelyInspect,
  sanitizeEventObject,
  sanitizeInspectionEvent,
  sanitizeSnapshot,
  toStatelyInspectionEvent,
  withSanitizedInspection,
  type InspectionObserver,
  type SanitizedSnapshot,
  type StatelyActorEvent,
  type StatelyEventEvent,
  type StatelyInspectionEvent,
  type StatelyInspectModule,
  type StatelySnapshotEvent,
  type StatelyWebSocketInspector,
} from './inspector';
export { InspectionHub, DEFAULT_HUB_LIMITS, type HubLimits } from './inspectionHub';
export type { ClusterFault, ClusterFaultKind, ClusterNodeStatus } from './clusterStatus';
export { SimulationPlayer, type SimulationPlayerOptions } from './live/SimulationPlayer';
export type { LiveCluster } from './live/LiveCluster';
export type { RunOutcome } from './live/runOutcome';
export { startVisualizerServer, findPageDirectory, DEFAULT_SPEED, type VisualizerServer, type VisualizerServerOptions } from './server';
export { SPEEDS, MAX_SPEED, MAX_VISUAL_NODES, parseControl, parseSpeed, type ClockState, type ControlCommand, type ServerMessage } from './protocol';
export {
  streamClusterToInspector,
  InspectorConnectionError,
  type InspectStreamOptions,
  type InspectStreamReport,
} from './streamToInspector';
export {
  runDiagramCommand,
  runInspectCommand,
  runVisualizeCommand,
  DIAGRAM_FORMAT_CHOICES,
  DIAGRAM_MACHINE_CHOICES,
  VISUALIZER_EXIT,
  type CommandIO,
  type DiagramCommandOptions,
  type InspectCommandOptions,
  type VisualizeCommandOptions,
  type VisualizeCommandResult,
} from './commands';
