import { runSimulation, type SimulationReport } from '../../simulator/runSimulation';
import type { EventTrace } from '../../simulator/EventTrace';
import type { SimulationOptions } from '../../simulator/options';

async function simulate(options: Partial<SimulationOptions>): Promise<{ report: SimulationReport; trace: EventTrace }> {
  let trace: EventTrace | undefined;
  const report = await runSimulation({ rounds: 12, seed: 11, ...options, keepTrace: true }, { onTrace: (t) => (trace = t) });
  return { report, trace: trace! };
}

const honest = (report: SimulationReport) => report.perNode.filter((node) => node.byzantine === null);
/** Provers of the frames honest nodes finalized, from the trace. */
const finalizedProvers = (trace: EventTrace) =>
  new Set(trace.all().filter((e) => e.type === 'commit' || e.type === 'sync').map((e) => /by (n\d+)$/.exec(e.detail)![1]));
const refusedTotal = (report: SimulationReport, code: string) =>
  honest(report).reduce((sum, node) => sum + (node.refused[code] ?? 0), 0);

function expectLiveAndAgreed(report: SimulationReport) {
  expect(report.violations).toEqual([]);
  expect(report.agreement).toBe(true);
  expect(report.reachedTarget).toBe(true);
  expect(report.stalled).toBe(false);
  const digests = new Set(honest(report).map((node) => node.digest));
  // Nodes may stop a height apart; the slowest reached the target.
  expect(Math.min(...honest(report).map((node) => node.roundsFinalized))).toBeGreaterThanOrEqual(12);
  expect(digests.size).toBeLessThanOrEqual(2);
}

describe('one Byzantine node of four (f = 1): agreement always, progress unless it equivocates', () => {
  it('withhold: a silent node is skipped as a prover and the others finalize every height', async () => {
    const { report } = await simulate({ behaviour: 'withhold' });
    expectLiveAndAgreed(report);
    expect(report.byzantineNodes).toEqual(['n3']);
    // Only late copies (stale ranks, skip requests for decided heights): nothing malformed, nothing forged.
    for (const node of honest(report)) expect(Object.keys(node.refused).filter((code) => code !== 'stale_rank' && code !== 'ignored')).toEqual([]);
  });

  it('invalid: no frame of the invalid prover is ever finalized, and nobody votes for one', async () => {
    const { report, trace } = await simulate({ behaviour: 'invalid' });
    expectLiveAndAgreed(report);
    expect(finalizedProvers(trace).has(report.byzantineNodes[0])).toBe(false);
    expect(trace.all().filter((e) => e.type === 'byzantine').length).toBeGreaterThan(0);
  });

  it('garbage: every malformed message is refused by the engine schemas or the transport, without a provider error', async () => {
    const { report } = await simulate({ behaviour: 'garbage' });
    expectLiveAndAgreed(report);
    expect(refusedTotal(report, 'malformed')).toBeGreaterThan(0);
    expect(refusedTotal(report, 'not_member')).toBeGreaterThan(0);
    expect(refusedTotal(report, 'forged')).toBeGreaterThan(0);
    expect(honest(report).map((node) => node.providerErrors)).toEqual([0, 0, 0]);
  });

  it('flood: far-future messages are refused and what is held stays within the bound', async () => {
    const { report } = await simulate({ behaviour: 'flood' });
    expectLiveAndAgreed(report);
    expect(refusedTotal(report, 'future_rank')).toBeGreaterThan(0);
    expect(report.maxHeldMessages).toBe(4 * 16 * 4);
    for (const node of honest(report)) expect(node.peakHeldMessages).toBeLessThanOrEqual(report.maxHeldMessages);
  });

  it('equivocate: agreement holds; nodes left on the minority frame catch up by sync', async () => {
    const { report, trace } = await simulate({ behaviour: 'equivocate' });
    expect(report.violations).toEqual([]);
    expect(report.agreement).toBe(true);
    expect(report.reachedTarget).toBe(true);
    expect(trace.all().some((e) => e.type === 'byzantine' && e.detail.includes('equivocates proposals'))).toBe(true);
  });
});

describe('f Byzantine nodes of larger clusters', () => {
  it.each([
    [7, 2, 'withhold'],
    [7, 2, 'invalid'],
    [10, 3, 'garbage'],
    [10, 3, 'flood'],
  ] as const)('n = %i with %i %s nodes keeps agreement and finalizes', async (nodes, byzantine, behaviour) => {
    const { report } = await simulate({ nodes, byzantine, behaviour, rounds: 8, latency: { min: 2, max: 10 } });
    expect(report.violations).toEqual([]);
    expect(report.reachedTarget).toBe(true);
    expect(report.byzantineNodes).toHaveLength(byzantine);
  });

  it('two equivocators of seven split the honest votes: reported as a liveness stall, never as progress', async () => {
    const { report, trace } = await simulate({ nodes: 7, byzantine: 2, behaviour: 'equivocate', rounds: 20, seed: 2, latency: { min: 2, max: 10 } });
    expect(report.violations).toEqual([]);
    expect(report.agreement).toBe(true);
    expect(report.reachedTarget).toBe(false);
    expect(report.stalled).toBe(true);
    expect(report.stallReason).toBe('no honest node finalized a height for 5000 ms (frontier 0, slowest 0)');
    expect(trace.all().at(-1)!.type).toBe('stall');
  });

  it('mixed behaviours never break agreement', async () => {
    const { report } = await simulate({ nodes: 7, byzantine: 2, behaviour: 'mixed', rounds: 10, latency: { min: 2, max: 10 } });
    expect(report.violations).toEqual([]);
    expect(report.agreement).toBe(true);
    expect(report.reachedTarget || report.stalled).toBe(true);
  });
});
