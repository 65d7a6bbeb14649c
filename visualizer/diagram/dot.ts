import type { AnyStateMachine } from 'xstate';
import { stateDetails, stateTree, toModel, transitionLabel, type MachineModel, type StateModel } from './model';

/**
 * Graphviz DOT for a machine (or a model of one). Compound and parallel
 * states are clusters; the regions of a parallel state are dashed.
 */
export function toDot(input: AnyStateMachine | MachineModel): string {
  const model = toModel(input);
  const tree = stateTree(model);
  const isCluster = (id: string): boolean => ['compound', 'parallel'].includes(tree.get(id).type);
  // Graphviz edges join nodes, never clusters: an edge to or from a cluster
  // uses a point node inside it and is clipped at the border (lhead/ltail).
  const anchor = (id: string): string => (isCluster(id) ? `${id} [*]` : id);

  const edge = (from: string, to: string, label?: string): string => {
    const attrs = label === undefined ? [] : [`label=${quote(label)}`];
    if (isCluster(from) && !tree.isWithin(to, from)) attrs.push(`ltail=${quote(`cluster_${from}`)}`);
    if (isCluster(to) && !tree.isWithin(from, to)) attrs.push(`lhead=${quote(`cluster_${to}`)}`);
    return `${quote(anchor(from))} -> ${quote(anchor(to))}${attrs.length > 0 ? ` [${attrs.join(', ')}]` : ''};`;
  };

  const lines = [
    `digraph ${quote(model.id)} {`,
    '  compound=true;',
    '  fontname="Helvetica";',
    '  node [shape=box, style=rounded, fontname="Helvetica", fontsize=11];',
    '  edge [fontname="Helvetica", fontsize=9];',
  ];

  const emit = (state: StateModel, indent: string): void => {
    const label = quote([state.key, ...stateDetails(state, model)].join('\n'));
    if (!isCluster(state.id)) {
      const shape = state.type === 'final' ? ', peripheries=2' : state.type === 'history' ? ', shape=circle' : '';
      lines.push(`${indent}${quote(state.id)} [label=${label}${shape}];`);
      return;
    }
    const inner = `${indent}  `;
    const isRegion = state.parent !== null && tree.get(state.parent).type === 'parallel';
    lines.push(
      `${indent}subgraph ${quote(`cluster_${state.id}`)} {`,
      `${inner}label=${label};`,
      `${inner}style=${isRegion ? '"rounded,dashed"' : 'rounded'};`,
      `${inner}${quote(anchor(state.id))} [shape=point${state.type === 'parallel' ? ', style=invis' : ''}];`,
    );
    state.children.forEach((child) => emit(tree.get(child), inner));
    if (state.initial !== null) lines.push(`${inner}${edge(state.id, state.initial)}`);
    lines.push(`${indent}}`);
  };

  emit(model.states[0]!, '  ');
  for (const t of model.transitions) {
    for (const target of t.targets) lines.push(`  ${edge(t.source, target, transitionLabel(t))}`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

function quote(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}
