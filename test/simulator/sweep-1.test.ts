import { expectSweepHolds, SWEEP_TIMEOUT_MS } from './sweepCase';

// The sweep is split in three files so jest can run them in parallel.
describe('seeded sweep, seeds 1–100 (SPEC §6 over random clusters, f Byzantine nodes of every behaviour, and faults)', () => {
  it(
    'has no safety violation, every run reaches its target, and some ranks needed round change',
    async () => {
      await expectSweepHolds(1);
    },
    SWEEP_TIMEOUT_MS,
  );
});
