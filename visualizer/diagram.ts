/**
 * Statechart diagrams generated from the XState machine definitions, so the
 * pictures can never drift from the protocol: `describeMachine` reads the
 * machine's state tree into a plain model; the renderers draw that model as
 * Mermaid, Graphviz DOT, or SVG.
 */
export { describeMachine } from './diagram/model';
export type { MachineModel, StateModel, StateType, TransitionModel, TriggerKind } from './diagram/model';
export { toMermaid } from './diagram/mermaid';
export { toDot } from './diagram/dot';
export { toSvg } from './diagram/svg';
