import { expectLinearSeedsCoverThePlan, expectLinearSweepHolds, LINEAR_SWEEP_SEEDS } from './linearSweepCase';
import { SWEEP_TIMEOUT_MS } from './sweepCase';

// The linear sweep's seeds, split in three files so none runs long.
describe('linear messaging over the sweep plan, part 2 (clusters of 1 to 10 nodes, f Byzantine nodes of every behaviour, loss, partitions, crash-restarts)', () => {
  it(
    'has no safety violation, its logs match, and every run reaches its target',
    async () => {
      expectLinearSeedsCoverThePlan();
      await expectLinearSweepHolds(LINEAR_SWEEP_SEEDS.filter((_, i) => i % 3 === 1));
    },
    SWEEP_TIMEOUT_MS,
  );
});
