import { expectServicesSweepHolds, SERVICES_SWEEP_TIMEOUT_MS, servicesSweepSeeds } from './servicesSweepCase';

// Thirty files of ten seeds make the 300 (servicesSweepSeeds): jest runs them in parallel and none runs long.
describe(`coordination services over the seeded sweep, seeds ${servicesSweepSeeds(1).join(', ')} (1 to 10 nodes, every Byzantine behaviour, faults)`, () => {
  it(
    'keeps consensus safe, and the clients see linearizable KV and locks that kept fencing',
    async () => {
      await expectServicesSweepHolds(1);
    },
    SERVICES_SWEEP_TIMEOUT_MS,
  );
});
