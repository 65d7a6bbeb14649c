import { expectSweepHolds, SWEEP_TIMEOUT_MS } from './sweepCase';

// The sweep is split in ten files of thirty seeds, so jest runs them in parallel and none runs long.
describe('seeded sweep, seeds 31–60 (SPEC §6 over clusters of 1 to 10 nodes, f Byzantine nodes of every behaviour, and faults)', () => {
  it(
    'has no safety violation, every run reaches its target, and some ranks needed round change',
    async () => {
      await expectSweepHolds(31);
    },
    SWEEP_TIMEOUT_MS,
  );
});
