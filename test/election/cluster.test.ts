import { createSeededRandom } from '../../providers/random';
import { Cluster } from './harness';

/** Terms in which somebody stood as candidate and nobody won. */
function splitVoteTerms(cluster: Cluster): number[] {
  return [...cluster.candidacies.keys()].filter((term) => !cluster.leadersByTerm.has(term)).sort((a, b) => a - b);
}

describe('§5.2 randomized election timeouts', () => {
  const seeds = Array.from({ length: 50 }, (_, i) => i + 1);

  test('§5.2 randomized timeouts avoid split votes: 50 seeded 5-node clusters each elect one leader, almost always in term 1', async () => {
    const outcomes: { seed: number; elected: boolean; term: number; splits: number[] }[] = [];
    for (const seed of seeds) {
      const cluster = new Cluster({ seed, size: 5 });
      cluster.bootAll();
      const took = await cluster.advanceUntil(() => cluster.leaders().length === 1, 1000);
      const [leader] = cluster.leaders();
      outcomes.push({
        seed,
        elected: took !== null,
        term: leader === undefined ? -1 : cluster.term(leader),
        splits: splitVoteTerms(cluster),
      });
      expect({ seed, violations: cluster.violations }).toEqual({ seed, violations: [] });
    }

    expect(outcomes.filter((o) => !o.elected)).toEqual([]);
    const firstTermWins = outcomes.filter((o) => o.term === 1).length;
    const splitTerms = outcomes.reduce((sum, o) => sum + o.splits.length, 0);
    expect(firstTermWins).toBeGreaterThanOrEqual(48);
    expect(splitTerms).toBeLessThanOrEqual(2);
  });

  test('§5.2 the same clusters with a fixed timeout and fixed latency split every vote and never elect', async () => {
    for (const seed of seeds.slice(0, 5)) {
      const cluster = new Cluster({
        seed,
        size: 5,
        timing: { electionTimeoutMinMs: 150, electionTimeoutMaxMs: 150 },
        latency: { min: 2, max: 2 },
      });
      cluster.bootAll();
      await cluster.advance(2000);
      expect(cluster.leadersByTerm.size).toBe(0);
      expect(splitVoteTerms(cluster).length).toBeGreaterThanOrEqual(5);
    }
  });
});

describe('§5.2 election safety under faults', () => {
  const RUNS = 100;

  test(`election safety and vote fencing hold over ${RUNS} seeded runs with partitions, drops and crashes; a leader emerges once healed`, async () => {
    for (let seed = 1; seed <= RUNS; seed += 1) {
      const size = seed % 2 === 0 ? 5 : 3;
      const cluster = new Cluster({ seed, size, dropRate: 0.1, latency: { min: 1, max: 10 } });
      const faults = createSeededRandom(seed * 7919);
      cluster.bootAll();

      for (let slice = 0; slice < 25; slice += 1) {
        const dice = faults.integer(0, 9);
        if (dice <= 2) {
          const side = cluster.ids.filter(() => faults.fraction() < 0.5);
          cluster.partition(side, cluster.ids.filter((id) => !side.includes(id)));
        } else if (dice <= 4) {
          cluster.heal();
        } else if (dice === 5) {
          const victim = cluster.ids[faults.integer(0, size - 1)];
          if (cluster.isRunning(victim)) cluster.crash(victim);
        } else if (dice === 6) {
          const back = cluster.ids.find((id) => !cluster.isRunning(id));
          if (back !== undefined) cluster.boot(back);
        }
        await cluster.advance(100);
      }

      cluster.heal();
      for (const id of cluster.ids) if (!cluster.isRunning(id)) cluster.boot(id);
      // Liveness once healed: a single leader within a bounded time (about three election timeouts).
      const took = await cluster.advanceUntil(() => cluster.leaders().length === 1, 1000);

      const replay = `seed ${seed}: npx jest test/election/cluster -t "election safety"`;
      expect({ replay, violations: cluster.violations }).toEqual({ replay, violations: [] });
      expect({ replay, elected: took !== null }).toEqual({ replay, elected: true });
    }
  });

  test('the safety checks are not vacuous: a node that ignores its earlier vote is caught', async () => {
    let caught = 0;
    for (let seed = 1; seed <= 20 && caught === 0; seed += 1) {
      const cluster = new Cluster({
        seed,
        size: 5,
        preVote: false,
        timing: { electionTimeoutMinMs: 150, electionTimeoutMaxMs: 155 },
        sabotage: (machine) =>
          machine.provide({
            guards: {
              canGrantVote: ({ context, event }) =>
                event.type === 'rpc.request_vote' && !event.message.preVote && event.message.term === context.term,
            },
          }),
      });
      cluster.bootAll();
      await cluster.advance(1500);
      caught += cluster.violations.length;
    }
    expect(caught).toBeGreaterThan(0);
  });
});
