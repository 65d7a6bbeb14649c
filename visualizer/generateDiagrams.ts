import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toDot, toMermaid, toSvg } from './diagram';
import {
  DIAGRAM_EXTENSIONS,
  DIAGRAM_FORMATS,
  DIAGRAM_MACHINE_NAMES,
  DIAGRAM_MACHINES,
  type DiagramFormat,
  type DiagramMachineName,
} from './machines';

/** The committed diagrams, relative to the repository root. */
export const DIAGRAMS_DIRECTORY = join('docs', 'diagrams');

export interface DiagramFile {
  /** File name inside the diagrams directory, e.g. `round.mmd`. */
  name: string;
  machine: DiagramMachineName;
  format: DiagramFormat;
  content: string;
}

/** One machine's diagram in one format, straight from its definition. */
export async function renderDiagram(machine: DiagramMachineName, format: DiagramFormat): Promise<string> {
  const definition = DIAGRAM_MACHINES[machine];
  switch (format) {
    case 'mermaid':
      return toMermaid(definition);
    case 'dot':
      return toDot(definition);
    case 'svg':
      return toSvg(definition);
  }
}

/** Every diagram file, machines in `DIAGRAM_MACHINES` order, formats in `DIAGRAM_FORMATS` order. */
export async function renderDiagramFiles(): Promise<DiagramFile[]> {
  const files: DiagramFile[] = [];
  for (const machine of DIAGRAM_MACHINE_NAMES) {
    for (const format of DIAGRAM_FORMATS) {
      files.push({
        name: `${machine}.${DIAGRAM_EXTENSIONS[format]}`,
        machine,
        format,
        content: await renderDiagram(machine, format),
      });
    }
  }
  return files;
}

/**
 * Writes every diagram into `outDir` (created if missing) and returns the
 * paths written. The output depends only on the machine definitions and the
 * pinned Graphviz build, so regenerating unchanged machines rewrites the
 * same bytes; `test/visualizer/diagrams.test.ts` fails when the committed
 * copies differ.
 */
export async function generateDiagrams(outDir: string): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const written: string[] = [];
  for (const file of await renderDiagramFiles()) {
    const path = join(outDir, file.name);
    await writeFile(path, file.content);
    written.push(path);
  }
  return written;
}
