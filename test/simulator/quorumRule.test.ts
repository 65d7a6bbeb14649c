// SPEC §2.10: the engine owns the quorum rule, ⌊(n + f)/2⌋ + 1 of the total
// weight. These runs once forked the demo cluster, when the app counted
// quorums as 2f + 1 for every n; now the engine's rule keeps them safe. The
// negative controls break the rule (only in this file, by replacing the
// engine's membership) and the checker must catch the fork.
import type { Membership, WeightedMember } from '../../guards/quorum';
import { runSimulation, type SimulationReport } from '../../simulator/runSimulation';
import type { EventTrace, TraceEvent } from '../../simulator/EventTrace';
import type { SimulationOptions } from '../../simulator/options';

type Rule = 'engine' | '2f+1 for every n' | 'f+1';
let mockRule: Rule = 'engine';

jest.mock('../../guards/quorum', () => {
  const actual = jest.requireActual('../../guards/quorum');
  return {
    ...actual,
    createMembership: (members: readonly WeightedMember[], faulty?: number): Membership => {
      const membership: Membership = actual.createMembership(members, faulty);
      const f = membership.faulty;
      if (mockRule === '2f+1 for every n') return { ...membership, quorum: 2 * f + 1 };
      if (mockRule === 'f+1') return { ...membership, quorum: f + 1 };
      return membership;
    },
  };
});

async function simulate(options: Partial<SimulationOptions>) {
  let trace: EventTrace | undefined;
  const report = await runSimulation({ ...options, keepTrace: true }, { onTrace: (t) => (trace = t) });
  return { report, events: trace!.all() as TraceEvent[] };
}

function expectSafeAndLive(report: SimulationReport) {
  expect(report.violations).toEqual([]);
  expect(report.agreement).toBe(true);
  expect(report.reachedTarget).toBe(true);
}

/** The runs that forked under the app's old rule (the CLI forms are their replays). */
const FORKED_BEFORE: Array<[string, Partial<SimulationOptions>]> = [
  ['n = 3, no Byzantine node, n0 cut off', { nodes: 3, byzantine: 0, rounds: 30, partitions: [{ from: 500, to: 3_000, groups: [['n0'], ['n1', 'n2']] }] }],
  ['n = 6, no Byzantine node, split 3 | 3', { nodes: 6, byzantine: 0, rounds: 5, seed: 1, partitions: [{ from: 0, to: 5_000, groups: [['n0', 'n1', 'n2'], ['n3', 'n4', 'n5']] }] }],
  ['n = 5, one equivocating node', { nodes: 5, byzantine: 1, rounds: 20, seed: 2, behaviour: 'equivocate' }],
];

describe("the engine's quorum rule keeps the runs that forked under 2f + 1 for every n (SPEC §2.10)", () => {
  beforeEach(() => {
    mockRule = 'engine';
  });

  it.each(FORKED_BEFORE)('%s: agreement holds and every live honest node reaches its target', async (_, options) => {
    const { report } = await simulate(options);
    expectSafeAndLive(report);
  });

  it('n = 5 with one equivocating node stays safe over seeds 1–6', async () => {
    for (let seed = 1; seed <= 6; seed += 1) {
      const { report } = await simulate({ nodes: 5, byzantine: 1, rounds: 10, seed, behaviour: 'equivocate' });
      expect({ seed, violations: report.violations }).toEqual({ seed, violations: [] });
      expect({ seed, reached: report.reachedTarget }).toEqual({ seed, reached: true });
    }
  });
});

describe('negative controls: a broken quorum rule is caught by the checker', () => {
  afterEach(() => {
    mockRule = 'engine';
  });

  it('2f + 1 for every n forks n = 3 when n0 is cut off: the checker reports the agreement violation', async () => {
    mockRule = '2f+1 for every n';
    const { report } = await simulate(FORKED_BEFORE[0][1]);
    expect(report.agreement).toBe(false);
    expect(report.violations.map((violation) => violation.kind)).toEqual(['agreement']);
  });

  it('f + 1 instead of the quorum lets an equivocating node split n = 4, with a replay and the trace leading to it', async () => {
    mockRule = 'f+1';
    const { report, events } = await simulate({ nodes: 4, byzantine: 1, behaviour: 'equivocate', rounds: 20, seed: 1, traceTail: 32 });
    expect(report.agreement).toBe(false);
    expect(report.reachedTarget).toBe(false);
    expect(report.stalled).toBe(false);
    expect(report.violations).toHaveLength(1);
    const [violation] = report.violations;
    expect(violation.kind).toBe('agreement');
    expect(violation.seed).toBe(1);
    expect(violation.nodes).toHaveLength(2);
    expect(violation.nodes.every((node) => !report.byzantineNodes.includes(node))).toBe(true);
    expect(violation.detail).toMatch(new RegExp(`^${violation.nodes[0]} finalized [0-9a-f]{16} at ${violation.rank} but ${violation.nodes[1]} finalized [0-9a-f]{16}$`));
    expect(violation.replay).toBe('statechart-consensus simulate --nodes 4 --byzantine 1 --rounds 20 --seed 1 --behaviour equivocate --latency 5-50 --drop 0');
    // The report carries the last 32 events, ending with the violation itself.
    const last = violation.trace.at(-1)!;
    expect(last.type).toBe('violation');
    expect(violation.trace).toEqual(events.slice(last.seq - 32, last.seq));
    // The run stopped there: nothing after it but the rest of that instant's work.
    expect(events.filter((e) => e.seq > last.seq).every((e) => e.at === violation.at)).toBe(true);
  });

  it('the same run with the rule intact is safe', async () => {
    const { report } = await simulate({ nodes: 4, byzantine: 1, behaviour: 'equivocate', rounds: 20, seed: 1 });
    expectSafeAndLive(report);
  });
});
