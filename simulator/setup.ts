// A run's setup from its seed: the random streams (in a fixed fork order),
// which nodes are Byzantine, the cluster's keys, and the engine timeouts
// scaled to the simulated network.
import type { RoundTimeouts } from '../machines/round.types';
import { createSeededRandom, type RandomSource } from '../providers/random';

export interface RandomStreams {
  network: RandomSource;
  /** Per node, its ledger node's stream. */
  nodes: Map<string, RandomSource>;
  /** Forked once per Byzantine node, in member order. */
  byzantine: RandomSource;
  byzantineNames: string[];
  electionNetwork: RandomSource;
  /** Per node, its election's stream. */
  elections: Map<string, RandomSource>;
}

/**
 * Every stream a run draws from, forked from the seed in a fixed order: a new
 * stream is forked after every older one, so adding it leaves a seed's
 * existing draws as they were.
 */
export function forkRandomStreams(seed: number, names: readonly string[], byzantineCount: number, founders: readonly string[] = names): RandomStreams {
  const random = createSeededRandom(seed);
  const network = random.fork();
  const nodes = new Map<string, RandomSource>(names.map((name) => [name, random.fork()]));
  const byzantine = random.fork();
  const byzantineNames = pickByzantine(founders, byzantineCount, random.fork());
  // Forked after every older stream, so adding the election left a seed's ledger draws as they were.
  const electionRandom = random.fork();
  const electionNetwork = electionRandom.fork();
  const elections = new Map<string, RandomSource>(names.map((name) => [name, electionRandom.fork()]));
  return { network, nodes, byzantine, byzantineNames, electionNetwork, elections };
}

/** Which nodes are Byzantine: drawn from the seed, so faults land on different priorities. */
export function pickByzantine(names: readonly string[], count: number, random: RandomSource): string[] {
  const pool = [...names];
  const chosen: string[] = [];
  for (let i = 0; i < count; i += 1) chosen.push(pool.splice(random.integer(0, pool.length - 1), 1)[0]);
  return chosen.sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
}


/**
 * Engine timeouts scaled to the simulated network. Progress is event-driven;
 * these only retry after a fault, so they are a few round trips, not the
 * production defaults of seconds (which would make a stalled run crawl).
 */
export function timeoutsFor(patienceMs: number, syncWaitMs: number, proofMaxMs: number): Partial<RoundTimeouts> {
  return {
    starting: 10,
    loading: Math.max(1_000, 20 * syncWaitMs),
    syncRetry: Math.max(50, 2 * syncWaitMs),
    collecting: 1_000,
    livenessCheck: Math.max(50, patienceMs),
    proving: 10 * proofMaxMs + 1_000,
    publishing: 500,
    voting: Math.max(200, 4 * patienceMs),
    finalizing: Math.max(50, patienceMs),
    verifying: 200,
    stopping: 100,
  };
}
