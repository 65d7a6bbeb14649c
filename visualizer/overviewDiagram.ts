import type { AnyStateMachine } from 'xstate';
import { stateTree, toModel, type MachineModel } from './diagram/model';
import { renderDot } from './diagram/svg';

/**
 * A machine's top level only: one box per top-level state, one arrow per
 * pair of states that some transition joins (nested transitions lifted to
 * the top-level states that contain them), labelled with the events. Small
 * enough to draw once per node in the live view, where the full diagram of
 * every sub-step would not fit.
 */
export interface OverviewModel {
  id: string;
  /** Top-level state keys in definition order. */
  states: string[];
  /** One edge per (source, target), events in first-seen order. */
  edges: { source: string; target: string; events: string[] }[];
  /** Events left out because every running state handles them the same way. */
  omitted: string[];
}

export function overviewModel(input: AnyStateMachine | MachineModel, omitEvents: readonly string[] = []): OverviewModel {
  const model = toModel(input);
  const tree = stateTree(model);
  const root = model.states[0]!;
  const topOf = (id: string): string | null => tree.lineage(id)[1] ?? null;
  const edges = new Map<string, { source: string; target: string; events: string[] }>();
  for (const t of model.transitions) {
    if (omitEvents.includes(t.eventType)) continue;
    const source = topOf(t.source);
    if (source === null) continue;
    for (const targetId of t.targets) {
      const target = topOf(targetId);
      if (target === null) continue;
      // A transition between sub-steps of one state is that state's own business.
      if (source === target && !(t.reenter && t.source === source)) continue;
      const key = `${source}\u0000${target}`;
      const edge = edges.get(key) ?? { source, target, events: [] };
      if (!edge.events.includes(t.trigger)) edge.events.push(t.trigger);
      edges.set(key, edge);
    }
  }
  const keyOf = (id: string) => tree.get(id).key;
  return {
    id: model.id,
    states: root.children.map(keyOf),
    edges: [...edges.values()].map((e) => ({ source: keyOf(e.source), target: keyOf(e.target), events: e.events })),
    omitted: [...omitEvents],
  };
}

/**
 * DOT for an overview. Each state's SVG group carries the classes
 * `state state-<key>`, which is how the live view finds the box to highlight.
 */
export function overviewDot(overview: OverviewModel): string {
  const q = (text: string) => `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
  const lines = [
    `digraph ${q(overview.id)} {`,
    '  bgcolor="transparent";',
    '  ranksep=0.25;',
    '  nodesep=0.2;',
    '  fontname="Helvetica";',
    '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", color="#8a94a6", fontname="Helvetica", fontsize=11, margin="0.08,0.03", height=0.3];',
    '  edge [fontname="Helvetica", fontsize=8, color="#9aa3b2", fontcolor="#5b6577", arrowsize=0.6];',
  ];
  for (const state of overview.states) lines.push(`  ${q(state)} [class=${q(`state state-${state}`)}];`);
  for (const edge of overview.edges) {
    lines.push(`  ${q(edge.source)} -> ${q(edge.target)} [label=${q(edge.events.join('\n'))}, class=${q(`edge edge-${edge.source}-${edge.target}`)}];`);
  }
  if (overview.omitted.length > 0) {
    lines.push(`  label=${q(`${overview.omitted.join(', ')}: from every running state`)};`, '  labelloc="b";', '  fontsize=9;');
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** The round machine's transitions that SPEC §2.2 allows from any running state. */
export const ROUND_EVERYWHERE_EVENTS = ['stop', 'induce_sync'] as const;

/** The overview SVG the live view draws for each node's round machine. */
export async function overviewSvg(input: AnyStateMachine | MachineModel, omitEvents: readonly string[] = []): Promise<string> {
  return renderDot(overviewDot(overviewModel(input, omitEvents)));
}
