import { DEFAULT_ELECTION_TIMING } from '../machines/election.schemas';
import { createSeededRandom, type RandomSource } from '../providers/random';
import type { Partition } from './simulatedNetwork';
import { countsAgainstBound, type LeaderWindow } from './LeaderLiveness';
import { LEADER, nodeNames, type CrashSpec, type SimulationOptions } from './options';
import { runSimulation, type SimulationReport, type Violation } from './runSimulation';

/**
 * The election sweep: many short, election-only runs (`rounds: 0`) of
 * crash-fault clusters, each with its own mix of loss, duplication, latency,
 * partitions and crash-restarts drawn from its seed. What it checks: election
 * safety and vote fencing (any violation fails), and how long the cluster
 * takes to follow one leader again after each heal and each leader crash,
 * against the bound of 2 × the maximum election timeout.
 */

/**
 * Every size from 1 to 10: odd sizes are the usual Raft clusters (3, 5 and 7
 * tolerate 1, 2 and 3 crashes), even ones tolerate no more than the odd size
 * below them, and a lone node elects itself.
 */
export const ELECTION_SWEEP_SIZES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] as const;

/** SPEC §3's liveness bound with the default timing: 2 × 300 ms. */
const BOUND_MS = 2 * DEFAULT_ELECTION_TIMING.electionTimeoutMaxMs;

function pick<T>(random: RandomSource, items: readonly T[]): T {
  return items[random.integer(0, items.length - 1)];
}

/** `names` split into `count` non-empty groups at random. */
function randomGroups(random: RandomSource, names: readonly string[], count: number): string[][] {
  const shuffled = names.map((name) => ({ name, key: random.fraction() })).sort((a, b) => a.key - b.key).map((x) => x.name);
  const cuts = new Set<number>();
  while (cuts.size < count - 1) cuts.add(random.integer(1, names.length - 1));
  const bounds = [0, ...[...cuts].sort((a, b) => a - b), names.length];
  return bounds.slice(1).map((end, i) => shuffled.slice(bounds[i], end));
}

/**
 * The options of election-sweep run `seed`. Faults come in one to three
 * episodes (a partition, a crash-restart, or a crash inside a partition); each
 * episode starts at least one bound after the previous one ended, so every
 * window is measured to its end and none is cut short by the next fault
 * (cutting them short would drop exactly the slow ones from the figures).
 * The crash victim is a named node or `leader`, whoever leads at that instant.
 */
export function electionSweepPlan(seed: number): Partial<SimulationOptions> {
  // The generator's first draws from small seeds are poorly mixed; a forked stream's are not.
  const random = createSeededRandom(seed).fork();
  const nodes = ELECTION_SWEEP_SIZES[(((seed - 1) % ELECTION_SWEEP_SIZES.length) + ELECTION_SWEEP_SIZES.length) % ELECTION_SWEEP_SIZES.length];
  const names = nodeNames(nodes);
  const dropRate = pick(random, [0, 0.01, 0.05, 0.1]);
  const duplicateRate = pick(random, [0, 0, 0.02]);
  const latency = pick(random, [
    { min: 1, max: 5 },
    { min: 2, max: 10 },
    { min: 5, max: 20 },
    { min: 5, max: 30 },
  ]);
  const partitions: Partition[] = [];
  const crashes: CrashSpec[] = [];
  const crashed = new Set<string>();
  let t = BOUND_MS + random.integer(0, 400);
  const episodes = random.integer(1, 3);
  for (let episode = 0; episode < episodes; episode += 1) {
    // A lone node cannot be cut off from anyone; it can still crash.
    const kind = nodes === 1 ? 'crash' : pick(random, ['partition', 'crash', 'both'] as const);
    let end = t;
    if (kind !== 'crash') {
      const to = t + random.integer(100, 1_500);
      const groups = nodes > 2 && random.fraction() >= 0.8 ? 3 : 2;
      partitions.push({ from: t, to, groups: randomGroups(random, names, groups) });
      end = to;
    }
    if (kind !== 'partition') {
      const free = names.filter((name) => !crashed.has(name));
      const node = free.length === 0 || random.fraction() < 0.5 ? LEADER : pick(random, free);
      if (node !== LEADER) crashed.add(node);
      const at = kind === 'both' ? t + random.integer(0, end - t - 1) : t;
      const restartAt = at + random.integer(100, 1_500);
      crashes.push({ node, at, restartAt });
      end = Math.max(end, restartAt);
    }
    t = end + BOUND_MS + random.integer(0, 400);
  }
  return { seed, nodes, byzantine: 0, rounds: 0, dropRate, duplicateRate, latency, partitions, crashes };
}

export interface ElectionSweepRun {
  seed: number;
  nodes: number;
  violations: Violation[];
  /** Heal, failover and restart windows of the run, in time order. */
  windows: LeaderWindow[];
  maxTerm: number;
  simulatedMs: number;
  replay: string;
}

/** Times (simulated ms) until every connected honest node followed one leader again. */
export interface LeaderDistribution {
  /** Windows counted against the bound (a majority was connected; no new fault cut them short). */
  counted: number;
  /** Of those, how many converged within the bound. */
  withinBound: number;
  fraction: number;
  /** Percentiles over the counted windows that converged; a window that never did counts as above every one. */
  p50: number | null;
  p99: number | null;
  max: number | null;
  /** Counted windows that never converged while observed. */
  late: number;
  /** Not counted: no connected majority when they opened. */
  noQuorum: number;
  /** Not counted: a new fault or the end of the run came within the bound. */
  cutShort: number;
}

export interface ElectionSweepSummary {
  runs: number;
  firstSeed: number;
  /** Runs with a safety violation (election safety, vote fencing, an engine crash). */
  violations: number;
  boundMs: number;
  heals: LeaderDistribution;
  failovers: LeaderDistribution;
  /** Until a restarted node (and everyone) followed one leader. */
  restarts: LeaderDistribution;
  wallMs: number;
  results: ElectionSweepRun[];
}

/** Nearest-rank percentile of an ascending list. */
function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
}

/** p50, p99, max and the fraction within `boundMs` over `windows`. */
export function leaderDistribution(windows: readonly LeaderWindow[], boundMs: number): LeaderDistribution {
  const counted = windows.filter(countsAgainstBound);
  // Late windows sort after every converged one, as the slowest of all.
  const times = counted.map((window) => (window.outcome === 'converged' ? (window.ms as number) : Number.POSITIVE_INFINITY)).sort((a, b) => a - b);
  const finite = (value: number | null) => (value === null || !Number.isFinite(value) ? null : value);
  const withinBound = counted.filter((window) => window.withinBound).length;
  return {
    counted: counted.length,
    withinBound,
    fraction: counted.length === 0 ? 1 : withinBound / counted.length,
    p50: finite(percentile(times, 0.5)),
    p99: finite(percentile(times, 0.99)),
    max: finite(times.at(-1) ?? null),
    late: counted.filter((window) => window.outcome === 'late').length,
    noQuorum: windows.filter((window) => !window.quorum).length,
    cutShort: windows.filter((window) => window.quorum && (window.outcome === 'interrupted' || window.outcome === 'unfinished')).length,
  };
}

export interface ElectionSweepHooks {
  onRun?: (run: ElectionSweepRun, index: number, total: number) => void;
}

function summarize(report: SimulationReport): ElectionSweepRun {
  return {
    seed: report.seed,
    nodes: report.nodes,
    violations: report.violations,
    windows: [...report.elections.failovers, ...report.elections.heals, ...report.elections.restarts].sort((a, b) => a.at - b.at),
    maxTerm: report.elections.maxTerm,
    simulatedMs: report.simulatedMs,
    replay: report.replay,
  };
}

/** Runs election-sweep plans `firstSeed`, `firstSeed + 1`, … and gathers the heal and failover distributions. */
export async function runElectionSweep(firstSeed: number, runs: number, hooks: ElectionSweepHooks = {}): Promise<ElectionSweepSummary> {
  const wallStart = Date.now();
  const results: ElectionSweepRun[] = [];
  for (let i = 0; i < runs; i += 1) {
    const run = summarize(await runSimulation(electionSweepPlan(firstSeed + i)));
    results.push(run);
    hooks.onRun?.(run, i, runs);
  }
  const windows = results.flatMap((run) => run.windows);
  return {
    runs,
    firstSeed,
    violations: results.filter((run) => run.violations.length > 0).length,
    boundMs: BOUND_MS,
    heals: leaderDistribution(windows.filter((window) => window.kind === 'heal'), BOUND_MS),
    failovers: leaderDistribution(windows.filter((window) => window.kind === 'failover'), BOUND_MS),
    restarts: leaderDistribution(windows.filter((window) => window.kind === 'restart'), BOUND_MS),
    wallMs: Date.now() - wallStart,
    results,
  };
}

/** One line per distribution, e.g. for a test log or a terminal. */
export function formatLeaderDistribution(label: string, d: LeaderDistribution, boundMs: number): string {
  const ms = (value: number | null) => (value === null ? '-' : `${value} ms`);
  return (
    `${label}: ${d.counted} counted, ${d.withinBound} (${(d.fraction * 100).toFixed(1)} %) within ${boundMs} ms; ` +
    `p50 ${ms(d.p50)}, p99 ${ms(d.p99)}, max ${ms(d.max)}; ${d.late} late, ${d.noQuorum} without a connected majority, ${d.cutShort} cut short`
  );
}
