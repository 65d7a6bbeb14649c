/**
 * Reads back, from the committed diagram text, which states sit at the top
 * of the round machine and which labelled edges join them, so a test can
 * hold the picture against the SPEC table.
 */

export interface DiagramEdge {
  from: string;
  to: string;
  /** The label's first word: the event (or `after x`, `done: y` …) that fires the transition. */
  trigger: string;
  label: string;
}

/** Top-level states and every edge of a `toMermaid` diagram of the machine with root `root`. */
export function readMermaid(text: string): { topLevel: string[]; edges: DiagramEdge[] } {
  const topLevel: string[] = [];
  const edges: DiagramEdge[] = [];
  for (const line of text.split('\n')) {
    // The root block is indented two spaces, its children four.
    const declared = /^ {4}(?:state (\w+) \{|(\w+))$/.exec(line);
    if (declared) topLevel.push((declared[1] ?? declared[2])!);
    const edge = /^\s*(\w+) --> (\w+) : (.+)$/.exec(line);
    if (edge) edges.push({ from: edge[1]!, to: edge[2]!, label: edge[3]!, trigger: edge[3]!.split(' ')[0]! });
  }
  return { topLevel, edges };
}

/** Top-level states (nodes or clusters) and every edge between them in a `toDot` diagram. */
export function readDot(text: string, root: string): { topLevel: string[]; edges: DiagramEdge[] } {
  const topLevel: string[] = [];
  const edges: DiagramEdge[] = [];
  const id = `${root}\\.(\\w+)`;
  const declaration = new RegExp(`^ {4}(?:subgraph "cluster_${id}" \\{|"${id}" \\[label=)`);
  const edge = new RegExp(`^ {2}"${id}(?: \\[\\*\\])?" -> "${id}(?: \\[\\*\\])?" \\[label="([^"]*)"`);
  for (const line of text.split('\n')) {
    const declared = declaration.exec(line);
    if (declared) topLevel.push((declared[1] ?? declared[2])!);
    const match = edge.exec(line);
    if (match) edges.push({ from: match[1]!, to: match[2]!, label: match[3]!, trigger: match[3]!.split(' ')[0]! });
  }
  return { topLevel, edges };
}
