import type { AnyStateMachine } from 'xstate';
import {
  stateDetails,
  stateTree,
  toModel,
  transitionLabel,
  type MachineModel,
  type StateModel,
  type StateTree,
  type TransitionModel,
} from './model';

// Words Mermaid's (case-insensitive) state diagram lexer reads as keywords.
const RESERVED = new Set([
  'state', 'note', 'class', 'classdef', 'default', 'scale', 'end', 'direction', 'style', 'hide', 'as',
]);
const PLAIN_ID = /^[A-Za-z_][A-Za-z0-9_]*$/;

// Mermaid ends a label at `:` or `;`, reads `#...;` as an entity and `{ }`
// as blocks; its own entity codes keep such characters in the rendered text.
const ENTITIES: Record<string, string> = {
  '#': '#35;',
  ':': '#58;',
  ';': '#59;',
  '{': '#123;',
  '}': '#125;',
  '"': '#34;',
  '<': '#60;',
  '>': '#62;',
};

/** Mermaid `stateDiagram-v2` text for a machine (or a model of one). */
export function toMermaid(input: AnyStateMachine | MachineModel): string {
  const model = toModel(input);
  const tree = stateTree(model);
  const ids = mermaidIds(model.states);
  const id = (stateId: string): string => ids.get(stateId)!;
  const lines = ['stateDiagram-v2'];

  const edges = (scope: string | null, indent: string): string[] =>
    model.transitions
      .filter((t) => t.targets.length > 0 && edgeScope(t, tree) === scope)
      .flatMap((t) => {
        const label = escape(transitionLabel(t));
        return t.targets.map((target) => `${indent}${id(t.source)} --> ${id(target)} : ${label}`);
      });

  const emit = (state: StateModel, indent: string): void => {
    if (state.type === 'compound' || state.type === 'parallel') {
      const inner = `${indent}  `;
      lines.push(`${indent}state ${id(state.id)} {`);
      if (state.initial !== null) lines.push(`${inner}[*] --> ${id(state.initial)}`);
      state.children.forEach((child, i) => {
        if (state.type === 'parallel' && i > 0) lines.push(`${inner}--`);
        emit(tree.get(child), inner);
      });
      lines.push(...edges(state.id, inner), `${indent}}`);
    } else {
      const declaration = id(state.id) === state.key ? state.key : `state "${escape(state.key)}" as ${id(state.id)}`;
      lines.push(`${indent}${declaration}`);
    }
    for (const detail of stateDetails(state, model)) lines.push(`${indent}${id(state.id)} : ${escape(detail)}`);
    if (state.type === 'final') lines.push(`${indent}${id(state.id)} --> [*]`);
  };

  emit(model.states[0]!, '  ');
  lines.push(...edges(null, '  '));
  return `${lines.join('\n')}\n`;
}

/**
 * Mermaid has one flat namespace of plain identifiers, so a state is named by
 * its key when that is unambiguous, and by its path otherwise.
 */
function mermaidIds(states: StateModel[]): Map<string, string> {
  const keyUses = new Map<string, number>();
  for (const s of states) keyUses.set(s.key, (keyUses.get(s.key) ?? 0) + 1);
  const taken = new Set<string>();
  const ids = new Map<string, string>();
  for (const s of states) {
    const path = (s.path.length > 0 ? s.path : [s.id]).join('_').replace(/\W/g, '_');
    const wanted = keyUses.get(s.key) === 1 && isUsableId(s.key) ? s.key : path;
    const base = isUsableId(wanted) ? wanted : `_${wanted}`;
    let name = base;
    for (let n = 2; taken.has(name); n++) name = `${base}_${n}`;
    taken.add(name);
    ids.set(s.id, name);
  }
  return ids;
}

function isUsableId(name: string): boolean {
  const lower = name.toLowerCase();
  // The lexer's `default` rule matches a prefix, not a whole word.
  return PLAIN_ID.test(name) && !RESERVED.has(lower) && !lower.startsWith('default');
}

/**
 * The block an edge is written in: the innermost one declaring both ends.
 * Mermaid places a state in the block where it first sees it, so an edge must
 * come after both ends are declared; and a parallel state's block is split
 * into regions by `--`, so its edges go one level out.
 */
function edgeScope(t: TransitionModel, tree: StateTree): string | null {
  const blocks = [t.source, ...t.targets].map((end) => tree.lineage(end).slice(0, -1));
  const first = blocks[0]!;
  let depth = 0;
  while (depth < first.length && blocks.every((b) => b[depth] === first[depth])) depth++;
  while (depth > 0 && tree.get(first[depth - 1]!).type === 'parallel') depth--;
  return depth === 0 ? null : first[depth - 1]!;
}

function escape(text: string): string {
  return text.replace(/\s+/g, ' ').replace(/[#:;{}"<>]/g, (c) => ENTITIES[c]!);
}
