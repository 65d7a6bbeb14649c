import type { SimulationOptions } from '../../simulator/options';
import { runServicesSimulation } from '../support/services/simulatedServices';
import { barriersReleasedEarly, locksWithoutFencing, readsWithoutReadIndex, servicesRun, SWEEP_WORKLOAD } from './servicesSweepCase';

/**
 * Negative controls: the checkers the services sweep relies on fail when a
 * rule they guard is broken on purpose, in the same simulated runs where the
 * sound rule passes.
 */
/** Two simulated runs a case, up to 20 s together here. */
const CONTROL_TIMEOUT_MS = 120_000;

describe('the services checkers catch a broken rule', () => {
  /** n3 cut off from the other three for most of the run; eight clients, two on each node, on one key. */
  const partitioned = (seed: number): Partial<SimulationOptions> => ({
    seed,
    nodes: 4,
    byzantine: 0,
    rounds: 10,
    latency: { min: 2, max: 10 },
    partitions: [{ from: 300, to: 5_000, groups: [['n0', 'n1', 'n2'], ['n3']] }],
    maxSimulatedMs: 120_000,
  });
  // No barriers: the seeds below were found for KV and lock requests alone.
  const contended = { ...SWEEP_WORKLOAD, barrierOps: 0, opsPerClient: 12, clients: 8, keys: ['k0'] };

  // Seeds where a cut-off node's stale answer lands after a write the majority acknowledged (a search over 1–10).
  it.each([1, 3, 9])('reads answered from a node’s own state instead of through the log are not linearizable (seed %i)', async (seed) => {
    const sound = await runServicesSimulation({ simulation: partitioned(seed), workload: contended });
    expect(sound.report.reachedTarget).toBe(true);
    expect(sound.verdict.summary).toMatch(/^KV linearizable/);
    expect(sound.verdict.ok).toBe(true);
    const broken = await runServicesSimulation({ simulation: partitioned(seed), workload: contended, wrapPort: (port) => readsWithoutReadIndex(port) });
    expect(broken.verdict.kv.ok).toBe(false);
    expect(broken.verdict.summary).toMatch(/not linearizable/);
  }, CONTROL_TIMEOUT_MS);

  it.each([1, 4, 7])('locks whose writes carry no fencing token let an expired holder write (sweep seed %i)', async (seed) => {
    const sound = await servicesRun(seed);
    expect(sound.verdict.ok).toBe(true);
    const broken = await servicesRun(seed, (port) => locksWithoutFencing(port));
    expect(broken.verdict.locks.ok).toBe(false);
    // Only the lock checker sees this rule: the KV history stays linearizable.
    expect(broken.verdict.kv.ok).toBe(true);
  }, CONTROL_TIMEOUT_MS);

  // Seeds where some arrival is one short of its barrier's threshold (1, 3, 4 and 6 of sweep seeds 1–8).
  it.each([1, 3, 4])('barriers that release a generation one arrival early are caught against the log (sweep seed %i)', async (seed) => {
    const sound = await servicesRun(seed);
    expect(sound.verdict.ok).toBe(true);
    expect(sound.verdict.barriers?.ok).toBe(true);
    const broken = await servicesRun(seed, (port) => barriersReleasedEarly(port));
    expect(broken.verdict.barriers?.ok).toBe(false);
    expect(new Set(broken.verdict.barriers?.violations.map((violation) => violation.kind))).toEqual(new Set(['told_released_early']));
    expect(broken.verdict.summary).toMatch(/told_released_early/);
  }, CONTROL_TIMEOUT_MS);
});
