import type { AnyStateMachine } from 'xstate';
import { electionMachine } from '../machines/election.machine';
import { nodeMachine } from '../machines/node.machine';
import { roundMachine } from '../machines/round.machine';

/** The machines the project draws, by the name the `diagram` command takes. */
export const DIAGRAM_MACHINES: Readonly<Record<'round' | 'election' | 'node', AnyStateMachine>> = Object.freeze({
  round: roundMachine,
  election: electionMachine,
  node: nodeMachine,
});

export type DiagramMachineName = keyof typeof DIAGRAM_MACHINES;
export const DIAGRAM_MACHINE_NAMES = Object.keys(DIAGRAM_MACHINES) as DiagramMachineName[];

export const DIAGRAM_FORMATS = ['mermaid', 'dot', 'svg'] as const;
export type DiagramFormat = (typeof DIAGRAM_FORMATS)[number];

/** File extension per format, as the committed diagrams in `docs/diagrams/` use them. */
export const DIAGRAM_EXTENSIONS: Readonly<Record<DiagramFormat, string>> = Object.freeze({
  mermaid: 'mmd',
  dot: 'dot',
  svg: 'svg',
});

export function isDiagramMachineName(name: string): name is DiagramMachineName {
  return Object.hasOwn(DIAGRAM_MACHINES, name);
}

export function isDiagramFormat(format: string): format is DiagramFormat {
  return (DIAGRAM_FORMATS as readonly string[]).includes(format);
}
