import { resolveOptions, SimulationOptionsError, type SimulationOptions } from '../../simulator/options';
import { runSimulation, type SimulationReport } from '../../simulator/runSimulation';

/**
 * What changed when the run loop started firing a whole simulated instant
 * before promise continuations run: the held-message bound is checked once an
 * instant per node that received something, and the trace can be turned off.
 */

const honestRun: Partial<SimulationOptions> = { nodes: 4, byzantine: 0, rounds: 8, seed: 3, latency: { min: 2, max: 10 } };

const honestPeaks = (report: SimulationReport) => report.perNode.filter((node) => node.byzantine === null).map((node) => node.peakHeldMessages);

describe('held messages, checked once per instant per node that received something', () => {
  it('a deliberately low maxHeldMessages is a held_messages finding, at an honest node, with its count', async () => {
    const report = await runSimulation({ ...honestRun, maxHeldMessages: 3 });
    expect(report.maxHeldMessages).toBe(3);
    expect(report.violations).toHaveLength(1);
    const [violation] = report.violations;
    expect(violation.kind).toBe('held_messages');
    expect(violation.nodes).toHaveLength(1);
    expect(report.byzantineNodes).not.toContain(violation.nodes[0]);
    expect(violation.detail).toMatch(new RegExp(`^${violation.nodes[0]} holds (\\d+) peer messages, above the bound of 3$`));
    expect(violation.trace.at(-1)!.type).toBe('violation');
    expect(report.reachedTarget).toBe(false);
    expect(report.stalled).toBe(false);
  });

  it('the bound is checked at the very counts reported as peaks: one below the highest peak is caught, the peak itself is not', async () => {
    const clean = await runSimulation(honestRun);
    expect(clean.violations).toEqual([]);
    expect(clean.reachedTarget).toBe(true);
    const peaks = honestPeaks(clean);
    expect(Math.min(...peaks)).toBeGreaterThan(0);
    const highest = Math.max(...peaks);
    expect(highest).toBeLessThanOrEqual(clean.maxHeldMessages);

    const atPeak = await runSimulation({ ...honestRun, maxHeldMessages: highest });
    expect(atPeak.violations).toEqual([]);
    expect(honestPeaks(atPeak)).toEqual(peaks);

    const below = await runSimulation({ ...honestRun, maxHeldMessages: highest - 1 });
    expect(below.violations.map((violation) => violation.kind)).toEqual(['held_messages']);
    const [violation] = below.violations;
    expect(violation.detail).toBe(`${violation.nodes[0]} holds ${highest} peer messages, above the bound of ${highest - 1}`);
  });

  it('a flood keeps every honest node within the engine bound', async () => {
    const report = await runSimulation({ nodes: 4, byzantine: 1, behaviour: 'flood', rounds: 6, seed: 4 });
    expect(report.violations).toEqual([]);
    expect(report.reachedTarget).toBe(true);
    for (const peak of honestPeaks(report)) {
      expect(peak).toBeGreaterThan(0);
      expect(peak).toBeLessThanOrEqual(report.maxHeldMessages);
    }
  });
});

describe('trace: false, for runs timed for speed', () => {
  /** The report bar wall time, what only the trace gives, and the option that turned it off. */
  const run = (report: SimulationReport) =>
    JSON.stringify({
      ...report,
      wallMs: 0,
      traceDigest: '',
      violations: report.violations.map((violation) => ({ ...violation, trace: [] })),
      options: { ...report.options, trace: false },
    });

  const faulty: Partial<SimulationOptions> = {
    nodes: 4,
    byzantine: 1,
    behaviour: 'mixed',
    rounds: 10,
    seed: 2024,
    dropRate: 0.05,
    duplicateRate: 0.05,
    latency: { min: 2, max: 20 },
    partitions: [{ from: 150, to: 600, groups: [['n0', 'n1'], ['n2', 'n3']] }],
    crashes: [{ node: 'n1', at: 300, restartAt: 900 }],
  };

  it.each([
    ['faults and mixed Byzantine behaviours', faulty],
    // The trace describes messages as they are sent and delivered; a value that changes once read must not notice it.
    ['shape-shifting values, duplicated', { ...faulty, behaviour: 'shape-shift', duplicateRate: 0.2, partitions: [], crashes: [] }],
  ] as [string, Partial<SimulationOptions>][])('is the same run without the trace: %s', async (_name, options) => {
    const traced = await runSimulation(options);
    const untraced = await runSimulation({ ...options, trace: false });
    expect(traced.traceDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(untraced.traceDigest).toBe('');
    expect(untraced.events).toBe(traced.events);
    expect(run(untraced)).toBe(run(traced));
    expect(untraced.violations).toEqual([]);
    expect(untraced.reachedTarget).toBe(true);
  });

  it('still finds a violation, without its trace tail', async () => {
    const options: Partial<SimulationOptions> = { ...honestRun, maxHeldMessages: 3 };
    const traced = await runSimulation(options);
    const untraced = await runSimulation({ ...options, trace: false });
    expect(untraced.violations).toHaveLength(1);
    expect(untraced.violations[0].trace).toEqual([]);
    expect(run(untraced)).toBe(run(traced));
  });

  it('is on by default, and cannot be off while the whole trace is kept', () => {
    expect(resolveOptions({}).trace).toBe(true);
    expect(() => resolveOptions({ trace: false, keepTrace: true })).toThrow(
      new SimulationOptionsError('keepTrace needs the trace: it cannot be kept with trace: false'),
    );
    expect(() => resolveOptions({ trace: 'no' as unknown as boolean })).toThrow(new SimulationOptionsError('trace must be true or false, got no'));
  });
});
