import { expectElectionSweepHolds, ELECTION_SWEEP_TIMEOUT_MS } from './electionSweepCase';

// The election sweep is split in two files so jest can run the halves in parallel.
describe('election sweep, seeds 1–250 (SPEC §3 over random n ∈ {3, 5, 7}, partitions, loss and crash-restarts)', () => {
  it(
    'has no election-safety or vote-fencing violation, and after ≥ 99 % of heals every connected node follows one leader within 2 × the maximum election timeout',
    async () => {
      const summary = await expectElectionSweepHolds(1, 250);
      expect(summary.runs).toBe(250);
    },
    ELECTION_SWEEP_TIMEOUT_MS,
  );
});
