import type * as VizModule from '@viz-js/viz' with { 'resolution-mode': 'import' };
import type { AnyStateMachine } from 'xstate';
import { toDot } from './dot';
import type { MachineModel } from './model';

// Graphviz compiled to WebAssembly: renders offline, without a browser.
// Compiling the module is the slow part, so it happens once, on first use.
let graphviz: Promise<VizModule.Viz> | undefined;

/** An SVG document of the machine's DOT diagram (see `toDot`). */
export async function toSvg(input: AnyStateMachine | MachineModel): Promise<string> {
  return renderDot(toDot(input));
}

/** Any DOT text as an SVG document, with the same offline Graphviz. */
export async function renderDot(dot: string): Promise<string> {
  graphviz ??= loadViz().then((viz) => viz.instance());
  return (await graphviz).renderString(dot, { format: 'svg' });
}

// viz ships both module formats. Whatever runs this module is CommonJS (the
// package's bundles, and Jest, whose CommonJS VM rejects `import()`), so it
// takes viz's CommonJS build; a bundled `import()` would add a second copy.
function loadViz(): Promise<typeof VizModule> {
  return Promise.resolve(require('@viz-js/viz') as typeof VizModule);
}
