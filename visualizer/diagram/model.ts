import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';

/**
 * A plain, JSON-serialisable picture of a machine's statechart: what the
 * diagram renderers draw. Everything is in document order (the order of the
 * machine config), so the same machine always gives byte-identical diagrams.
 */
export interface MachineModel {
  id: string;
  /** Every state node, root first, depth-first in definition order. */
  states: StateModel[];
  /** Every transition, grouped by source state in `states` order. */
  transitions: TransitionModel[];
}

export type StateType = 'atomic' | 'compound' | 'parallel' | 'final' | 'history';

export interface StateModel {
  id: string;
  key: string;
  path: string[];
  /** `null` for the root. */
  parent: string | null;
  type: StateType;
  /** Id of the initial child of a compound state, else `null`. */
  initial: string | null;
  children: string[];
  /** Source names of the actors invoked while in this state. */
  invokes: string[];
  entry: string[];
  exit: string[];
  /** Names of the delays this state's `after` transitions wait for. */
  delays: string[];
}

export type TriggerKind =
  | 'event'
  | 'always'
  | 'after'
  | 'done.state'
  | 'done.actor'
  | 'error.actor'
  | 'snapshot.actor';

export interface TransitionModel {
  source: string;
  /** Empty for a targetless transition (runs actions, leaves no state). */
  targets: string[];
  /** The event type as XState stores it (`''` for `always`). */
  eventType: string;
  kind: TriggerKind;
  /** What a reader should see: `VOTE`, `after proposeTimeout`, `done: prove`. */
  trigger: string;
  /** Only for `after` transitions: the named delay, or milliseconds. */
  delay?: string;
  guard: string | null;
  reenter: boolean;
  actions: string[];
}

export function isMachineModel(input: AnyStateMachine | MachineModel): input is MachineModel {
  return Array.isArray((input as MachineModel).states);
}

export function toModel(input: AnyStateMachine | MachineModel): MachineModel {
  return isMachineModel(input) ? input : describeMachine(input);
}

/** `event [guard] / actions`, the label both renderers put on an edge. */
export function transitionLabel(t: TransitionModel): string {
  const guard = t.guard === null ? '' : ` [${t.guard}]`;
  const actions = t.actions.length === 0 ? '' : ` / ${t.actions.join(', ')}`;
  return `${t.trigger}${guard}${actions}${t.reenter ? ' (reenter)' : ''}`;
}

export function describeMachine(machine: AnyStateMachine): MachineModel {
  const states: StateModel[] = [];
  const transitions: TransitionModel[] = [];
  const visit = (node: AnyStateNode): void => {
    const children = childrenOf(node);
    states.push(describeState(node, children));
    transitions.push(...describeTransitions(node));
    children.forEach(visit);
  };
  visit(machine.root);
  return { id: machine.id, states, transitions };
}

// Keyed by the config rather than by iterating `node.states`, so the order is
// visibly the one the machine author wrote.
function childrenOf(node: AnyStateNode): AnyStateNode[] {
  return Object.keys(node.config.states ?? {}).map((key) => node.states[key]!);
}

function describeState(node: AnyStateNode, children: AnyStateNode[]): StateModel {
  return {
    id: node.id,
    key: node.key,
    path: [...node.path],
    parent: node.parent?.id ?? null,
    type: node.type,
    initial: node.type === 'compound' ? (node.initial.target[0]?.id ?? null) : null,
    children: children.map((child) => child.id),
    invokes: node.invoke.map(invokeSource),
    entry: node.entry.filter((a) => !isDelayTimer(a) && !isObservation(a)).map(actionName),
    exit: node.exit.filter((a) => !isDelayTimer(a) && !isObservation(a)).map(actionName),
    delays: [...new Set(node.after.map((t) => delayName(t.delay)))],
  };
}

type TransitionConfigKey = 'on' | 'always' | 'after' | 'invoke' | 'onDone';

// XState flattens every kind of transition into one Map keyed by event type,
// in an order of its own. Walking the config keys instead keeps definition
// order, and turns internal event types back into what the author wrote.
function describeTransitions(node: AnyStateNode): TransitionModel[] {
  const byKey: Record<TransitionConfigKey, () => TransitionModel[]> = {
    on: () =>
      Object.keys(node.config.on ?? {}).flatMap((event) =>
        (node.transitions.get(event) ?? []).map((t) => describeTransition(t, 'event', event)),
      ),
    always: () => (node.always ?? []).map((t) => describeTransition(t, 'always', 'always')),
    after: () =>
      node.after.map((t) => {
        const delay = delayName(t.delay);
        return { ...describeTransition(t, 'after', `after ${delay}`), delay };
      }),
    invoke: () =>
      node.invoke.flatMap((invoke) => {
        const src = invokeSource(invoke);
        return [
          ...actorTransitions(node, `xstate.done.actor.${invoke.id}`, 'done.actor', `done: ${src}`),
          ...actorTransitions(node, `xstate.error.actor.${invoke.id}`, 'error.actor', `error: ${src}`),
          ...actorTransitions(node, `xstate.snapshot.${invoke.id}`, 'snapshot.actor', `snapshot: ${src}`),
        ];
      }),
    onDone: () => actorTransitions(node, `xstate.done.state.${node.id}`, 'done.state', 'done'),
  };
  return Object.keys(node.config)
    .filter((key): key is TransitionConfigKey => Object.hasOwn(byKey, key))
    .flatMap((key) => byKey[key]());
}

function actorTransitions(
  node: AnyStateNode,
  eventType: string,
  kind: TriggerKind,
  trigger: string,
): TransitionModel[] {
  return (node.transitions.get(eventType) ?? []).map((t) => describeTransition(t, kind, trigger));
}

function describeTransition(t: AnyTransitionDefinition, kind: TriggerKind, trigger: string): TransitionModel {
  return {
    source: t.source.id,
    targets: (t.target ?? []).map((target) => target.id),
    eventType: t.eventType,
    kind,
    trigger,
    guard: t.guard === undefined ? null : guardName(t.guard),
    reenter: t.reenter,
    actions: t.actions.map(actionName),
  };
}

function delayName(delay: unknown): string {
  return typeof delay === 'number' ? `${delay}ms` : typeof delay === 'string' ? delay : 'anonymous';
}

function invokeSource(invoke: { src: unknown }): string {
  // XState names inline actor logic `xstate.invoke.<index>.<stateId>`.
  return typeof invoke.src === 'string' && !invoke.src.startsWith('xstate.invoke.') ? invoke.src : 'anonymous';
}

function guardName(guard: unknown): string {
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    // not/and/or/stateIn are functions carrying their operands.
    const higherOrder = guard as { guards?: unknown[]; stateValue?: unknown };
    if (Array.isArray(higherOrder.guards) && ['not', 'and', 'or'].includes(guard.name)) {
      return `${guard.name}(${higherOrder.guards.map(guardName).join(', ')})`;
    }
    if (guard.name === 'stateIn' && higherOrder.stateValue !== undefined) {
      const value = higherOrder.stateValue;
      return `stateIn(${typeof value === 'string' ? value : JSON.stringify(value)})`;
    }
    return 'anonymous';
  }
  return typeName(guard) ?? 'anonymous';
}

function actionName(action: unknown): string {
  if (typeof action === 'string') return action;
  // Built-ins (assign, raise, sendTo, ...) are functions with an `xstate.*` type.
  const name = typeName(action)?.replace(/^xstate\./, '') ?? 'anonymous';
  // A raise of a fixed event is named by that event: the round machine's
  // timeouts and signals are all raises, and "raise" alone would hide which.
  const raised = name === 'raise' ? (action as { event?: unknown }).event : undefined;
  const raisedType = typeof raised === 'object' && raised !== null ? typeName(raised) : undefined;
  return raisedType ? `raise ${raisedType}` : name;
}

function typeName(value: unknown): string | undefined {
  const type = (value as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? type : undefined;
}

// XState implements `after` by adding a raise (entry) and a cancel (exit) to
// the state; they are part of the delayed transition, not author actions.
function isDelayTimer(action: unknown): boolean {
  const builtin = action as { type?: unknown; id?: unknown; sendId?: unknown };
  const timerId =
    builtin.type === 'xstate.raise' ? builtin.id : builtin.type === 'xstate.cancel' ? builtin.sendId : undefined;
  return typeof timerId === 'string' && timerId.startsWith('xstate.after.');
}

// Every top-level state of the round announces its entry so the engine can
// follow it (`announceState`): how the round is watched, not what it does.
function isObservation(action: unknown): boolean {
  return typeName(action) === 'announceState';
}

/** Lookups the renderers need over a model's state tree. */
export interface StateTree {
  get(id: string): StateModel;
  /** The ids from the root down to `id`, both included. */
  lineage(id: string): string[];
  isWithin(id: string, ancestorId: string): boolean;
}

export function stateTree(model: MachineModel): StateTree {
  const byId = new Map(model.states.map((s) => [s.id, s]));
  const get = (id: string): StateModel => {
    const state = byId.get(id);
    if (state === undefined) throw new Error(`unknown state '${id}' in machine '${model.id}'`);
    return state;
  };
  const lineage = (id: string): string[] => {
    const parent = get(id).parent;
    return parent === null ? [id] : [...lineage(parent), id];
  };
  return { get, lineage, isWithin: (id, ancestorId) => lineage(id).includes(ancestorId) };
}

/**
 * The lines drawn inside a state besides its name: invoked actors, entry and
 * exit actions, and targetless transitions (UML's "internal transitions":
 * they run actions without leaving the state, so they get no arrow).
 */
export function stateDetails(state: StateModel, model: MachineModel): string[] {
  const internal = model.transitions.filter((t) => t.source === state.id && t.targets.length === 0);
  return [
    ...(state.type === 'history' ? ['history'] : []),
    ...state.invokes.map((src) => `invoke ${src}`),
    ...(state.entry.length > 0 ? [`entry / ${state.entry.join(', ')}`] : []),
    ...(state.exit.length > 0 ? [`exit / ${state.exit.join(', ')}`] : []),
    ...internal.map(transitionLabel),
  ];
}
