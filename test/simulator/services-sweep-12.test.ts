import { expectServicesSweepHolds, SERVICES_SWEEP_TIMEOUT_MS } from './servicesSweepCase';

// Fifteen files of twenty seeds make the 300: jest runs them in parallel and none runs long.
describe('coordination services over the seeded sweep, seeds 221–240 (1 to 10 nodes, every Byzantine behaviour, partitions, crash-restarts, loss, slow disks)', () => {
  it(
    'keeps consensus safe, and the clients see linearizable KV and locks that kept fencing',
    async () => {
      await expectServicesSweepHolds(221);
    },
    SERVICES_SWEEP_TIMEOUT_MS,
  );
});
