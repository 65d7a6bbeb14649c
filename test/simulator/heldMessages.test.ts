import type { HonestNode } from '../../simulator/HonestNode';
import { HeldMessageWatch } from '../../simulator/heldMessages';
import { SafetyChecker, type Finding } from '../../simulator/SafetyChecker';

/** A node as the watch reads it: what its engine holds, whether it is down, its head. */
function fakeNode(held: number, down = false) {
  const node = { down, peakHeldMessages: 0, node: { getHeldMessageCount: () => node.count }, head: () => ({ height: 3 }), count: held };
  return node;
}

describe('HeldMessageWatch', () => {
  it('checks each node delivered something once per instant, keeps its peak, and reports a node past the bound', () => {
    const checker = new SafetyChecker({ proposersOf: () => [], maxHeldMessages: 10 });
    const nodes: Record<string, ReturnType<typeof fakeNode>> = { n0: fakeNode(4), n1: fakeNode(11), n2: fakeNode(50, true) };
    const findings: Finding[] = [];
    const watch = new HeldMessageWatch(checker, (name) => nodes[name] as unknown as HonestNode, (finding) => findings.push(finding));
    watch.received('n0');
    watch.received('n0');
    watch.endOfInstant();
    expect(nodes.n0.peakHeldMessages).toBe(4);
    expect(findings).toEqual([]);
    nodes.n0.count = 2;
    watch.endOfInstant();
    // Nothing delivered this instant: not counted again, the peak stays.
    expect(nodes.n0.peakHeldMessages).toBe(4);
    // A node down is not counted; one past the bound is reported with its rank.
    watch.received('n2');
    watch.received('n1');
    watch.endOfInstant();
    expect(findings.map((f) => [f.nodes, f.rank])).toEqual([[['n1'], 4]]);
    expect(nodes.n2.peakHeldMessages).toBe(0);
  });

  it('counts a node about to crash first, and only if it was delivered something this instant', () => {
    const checker = new SafetyChecker({ proposersOf: () => [], maxHeldMessages: 10 });
    const nodes = { n0: fakeNode(7) };
    const watch = new HeldMessageWatch(checker, (name) => nodes[name as 'n0'] as unknown as HonestNode, () => undefined);
    watch.beforeCrash('n0');
    expect(nodes.n0.peakHeldMessages).toBe(0);
    watch.received('n0');
    watch.beforeCrash('n0');
    expect(nodes.n0.peakHeldMessages).toBe(7);
    nodes.n0.count = 9;
    watch.endOfInstant();
    expect(nodes.n0.peakHeldMessages).toBe(7);
  });
});
