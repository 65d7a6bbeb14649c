import { expectElectionSweepHolds, ELECTION_SWEEP_TIMEOUT_MS } from './electionSweepCase';

// The election sweep is split in four files so jest can run them in parallel.
describe('election sweep, seeds 251–375 (SPEC §3 over random n from 1 to 10, partitions, loss and crash-restarts)', () => {
  it(
    'has no election-safety or vote-fencing violation, and after ≥ 99 % of heals every connected node follows one leader within 2 × the maximum election timeout',
    async () => {
      const summary = await expectElectionSweepHolds(251, 125);
      expect(summary.runs).toBe(125);
    },
    ELECTION_SWEEP_TIMEOUT_MS,
  );
});
