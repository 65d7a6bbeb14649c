import { expectSweepHolds, SWEEP_TIMEOUT_MS } from './sweepCase';

// The sweep is split in two files so jest runs the halves in parallel.
describe('seeded sweep, seeds 1–100 (SPEC §6 over random clusters, Byzantine nodes and faults)', () => {
  it(
    'has no safety violation, and every run not facing an equivocator reaches its target',
    async () => {
      const summary = await expectSweepHolds(1, 100);
      expect(summary.runs).toBe(100);
      expect(summary.faultFreeRuns).toBe(12);
      // Every run either reached its target or stalled facing an equivocator.
      expect(summary.reachedTarget + summary.expectedStalls).toBe(100);
    },
    SWEEP_TIMEOUT_MS,
  );
});
