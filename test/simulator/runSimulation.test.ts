import { runSimulation, type SimulationReport } from '../../simulator/runSimulation';
import type { EventTrace, TraceEvent } from '../../simulator/EventTrace';
import type { SimulationOptions } from '../../simulator/options';

async function simulate(options: Partial<SimulationOptions>) {
  let trace: EventTrace | undefined;
  const report = await runSimulation({ ...options, keepTrace: true }, { onTrace: (t) => (trace = t) });
  return { report, events: trace!.all() as TraceEvent[] };
}

/** Everything but the wall-clock time, which is the one thing a run may not reproduce. */
const reproducible = (report: SimulationReport) => JSON.stringify({ ...report, wallMs: 0 });

const faulty: Partial<SimulationOptions> = {
  nodes: 4,
  byzantine: 1,
  behaviour: 'mixed',
  rounds: 12,
  seed: 2024,
  dropRate: 0.05,
  duplicateRate: 0.05,
  latency: { min: 2, max: 20 },
  partitions: [{ from: 150, to: 600, groups: [['n0', 'n1'], ['n2', 'n3']] }],
  crashes: [{ node: 'n1', at: 300, restartAt: 900 }],
};

describe('determinism: one seed reproduces a whole run, faults included', () => {
  it('gives an identical event trace and report (byte for byte, bar wallMs) for the same seed and options', async () => {
    const first = await simulate(faulty);
    const second = await simulate(faulty);
    expect(first.events.length).toBeGreaterThan(1_000);
    expect(JSON.stringify(second.events)).toBe(JSON.stringify(first.events));
    expect(reproducible(second.report)).toBe(reproducible(first.report));
    expect(second.report.traceDigest).toBe(first.report.traceDigest);
  });

  it('gives a different trace for a different seed', async () => {
    const first = await simulate(faulty);
    const other = await simulate({ ...faulty, seed: 2025 });
    expect(other.report.traceDigest).not.toBe(first.report.traceDigest);
    expect(JSON.stringify(other.events)).not.toBe(JSON.stringify(first.events));
  });
});

describe('faults the honest majority rides out', () => {
  it('a crashed node restarts from its persisted ledger, re-syncs from peers and agrees with them', async () => {
    const { report, events } = await simulate({
      nodes: 4,
      byzantine: 0,
      rounds: 20,
      seed: 5,
      latency: { min: 2, max: 10 },
      crashes: [{ node: 'n2', at: 200, restartAt: 800 }],
    });
    expect(report.violations).toEqual([]);
    expect(report.reachedTarget).toBe(true);
    const n2 = report.perNode.find((node) => node.name === 'n2')!;
    expect(n2.crashes).toBe(1);
    expect(n2.framesSynced).toBeGreaterThan(0);
    expect(events.filter((e) => e.type === 'crash' || e.type === 'restart').map((e) => `${e.type}@${e.at}`)).toEqual([
      'crash@200',
      'restart@800',
    ]);
    // n2 finalized nothing while it was down.
    expect(events.filter((e) => e.node === 'n2' && e.type === 'commit' && e.at > 200 && e.at < 800)).toEqual([]);
  });

  it('a partition without a quorum on either side stalls everyone until it heals, then all finalize', async () => {
    const { report, events } = await simulate({
      nodes: 4,
      byzantine: 0,
      rounds: 15,
      seed: 9,
      latency: { min: 2, max: 10 },
      partitions: [{ from: 100, to: 1_100, groups: [['n0', 'n1'], ['n2', 'n3']] }],
    });
    expect(report.violations).toEqual([]);
    expect(report.reachedTarget).toBe(true);
    const commits = events.filter((e) => e.type === 'commit' || e.type === 'sync');
    // Two nodes out of four are never 2f + 1 = 3: nothing is finalized while cut off
    // (bar a height whose votes were already in flight when the partition began).
    const during = commits.filter((e) => e.at > 150 && e.at < 1_100);
    expect(during).toEqual([]);
    expect(commits.filter((e) => e.at >= 1_100).length).toBeGreaterThan(0);
  });

  it('messages lost, duplicated and reordered: re-sends and sync keep every node going', async () => {
    const { report } = await simulate({ nodes: 7, byzantine: 2, behaviour: 'withhold', rounds: 15, seed: 3, dropRate: 0.1, duplicateRate: 0.1, latency: { min: 1, max: 30 } });
    expect(report.violations).toEqual([]);
    expect(report.reachedTarget).toBe(true);
    expect(report.messages.dropped).toBeGreaterThan(0);
    expect(report.messages.duplicated).toBeGreaterThan(0);
  });
});
