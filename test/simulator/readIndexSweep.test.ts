import { sweepPlan } from '../../simulator/sweep';
import { runServicesSimulation } from '../support/services/simulatedServices';
import { SWEEP_ROUNDS } from './sweepCase';
import { SWEEP_WORKLOAD, sweepKeySpace } from './servicesSweepCase';

type Rule = 'quorum' | 'own answer only';
let mockRule: Rule = 'quorum';

// The negative control's broken read: the node serves at the index it has applied, as if its own
// answer made a quorum (what a read served by a follower without ReadIndex does).
jest.mock('../../engine/readIndex', () => {
  const actual = jest.requireActual('../../engine/readIndex');
  class Broken extends actual.ReadIndex {
    read(deadline?: number): Promise<number> {
      if (mockRule === 'quorum') return super.read(deadline);
      return Promise.resolve((this as unknown as { options: { applied: () => number } }).options.applied());
    }
  }
  return { ...actual, ReadIndex: Broken };
});

/** Seeds of the services sweep's plan (1 to 10 nodes, every Byzantine behaviour, partitions, crash-restarts, loss) with reads by index. */
const SEEDS = Array.from({ length: 20 }, (_, i) => 1 + i * 7);
/** Seeds whose faults leave a node behind while a client reads from it (2 of seeds 1, 4, …, 118 with this plan). */
const CONTROL_SEEDS = [67, 88];
let answeredReads = 0;

async function run(seed: number, rule: Rule) {
  mockRule = rule;
  try {
    return await runServicesSimulation({
      simulation: { ...sweepPlan(seed, SWEEP_ROUNDS), seed, maxSimulatedMs: 180_000 },
      workload: { ...SWEEP_WORKLOAD, keySpace: sweepKeySpace(seed), readConsistency: 'read-index' },
    });
  } finally {
    mockRule = 'quorum';
  }
}

describe('reads by index (engine.readIndex) under the services sweep\'s faults', () => {
  it.each(SEEDS)('seed %i: consensus stays safe and the clients\' history is linearizable', async (seed) => {
    const { report, verdict, recorder } = await run(seed, 'quorum');
    expect(report.violations).toEqual([]);
    expect(report.reachedTarget).toBe(true);
    expect(verdict.summary).toBe(verdict.ok ? verdict.summary : 'linearizable');
    expect(verdict.ok).toBe(true);
    answeredReads += recorder.kvHistory().filter((operation) => operation.input.op === 'get' && operation.return !== undefined).length;
  }, 120_000);

  it('answered reads in those runs', () => {
    expect(answeredReads).toBeGreaterThan(100);
  });
});

describe('negative control: a node serving reads at its own applied index', () => {
  it.each(CONTROL_SEEDS)('seed %i: the linearizability checker reports it', async (seed) => {
    const { verdict } = await run(seed, 'own answer only');
    expect(verdict.ok).toBe(false);
  }, 120_000);

  it.each(CONTROL_SEEDS)('seed %i: the same run with the quorum passes', async (seed) => {
    const { report, verdict } = await run(seed, 'quorum');
    expect(report.violations).toEqual([]);
    expect(verdict.ok).toBe(true);
  }, 120_000);
});
