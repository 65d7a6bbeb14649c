import { expectMembershipSeedHolds, MEMBERSHIP_SEED_TIMEOUT_MS, membershipSweepSeeds } from '../support/membershipSweep';

// Seven files of ten seeds make the 70; each file meets every founders' count from 1 to 9.
describe('membership changes over the seeded sweep, seeds 41–50 (1 to 9 founders, adds and removes, Byzantine founders, faults)', () => {
  it.each(membershipSweepSeeds(5))(
    'seed %i: agreement, every change committed and in force from its index + window + 1, every certificate signed by members of its rank',
    async (seed) => {
      await expectMembershipSeedHolds(seed);
    },
    MEMBERSHIP_SEED_TIMEOUT_MS,
  );
});
