import { createSeededRandom, type RandomSource } from '../providers/random';
import type { Partition } from './simulatedNetwork';
import { faultTolerance } from '../examples/ledger/rules';
import { BEHAVIOUR_OPTIONS, type BehaviourOption } from './byzantine';
import { nodeNames, type CrashSpec, type SimulationOptions } from './options';
import type { LogMatchingSummary } from './LogMatching';
import { runSimulation, type AttemptReport, type SimulationReport, type Violation } from './runSimulation';

/** Cluster sizes a sweep covers: every n from 1 to 10, not only n = 3f + 1. */
export const SWEEP_SIZES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] as const;

/** Runs per block of the plan: one of each cluster size. */
const BLOCK = SWEEP_SIZES.length;
/** Blocks per cycle: one per Byzantine behaviour (nine, `mixed` included), then one without Byzantine nodes. */
const CYCLE = 10;
/** The block of a cycle that has no Byzantine node. */
const BYZANTINE_FREE_BLOCK = 9;

function pick<T>(random: RandomSource, items: readonly T[]): T {
  return items[random.integer(0, items.length - 1)];
}

/**
 * The options of sweep run `seed`. The cluster size and the behaviour come
 * from the seed's position, so that every 100 consecutive seeds meet every
 * size from 1 to 10 under every behaviour: seeds run in blocks of ten, one
 * per size; a block's f = ⌊(n − 1)/3⌋ Byzantine nodes act out one behaviour,
 * blocks cycling over them (and one block in ten has no Byzantine node; up
 * to n = 3 f is 0 anyway). The rest (loss, duplication, latency, a
 * partition, crash-restarts or a rolling restart of every node, slow
 * storage, a single prover per height) is drawn from the seed, so one seed
 * names one run.
 */
export function sweepPlan(seed: number, rounds: number): Partial<SimulationOptions> {
  // The generator's first draws from small seeds are poorly mixed; a forked stream's are not.
  const random = createSeededRandom(seed).fork();
  const index = seed - 1;
  const nodes = SWEEP_SIZES[((index % BLOCK) + BLOCK) % BLOCK];
  const block = Math.floor(index / BLOCK) % CYCLE;
  const names = nodeNames(nodes);
  const byzantine = block === BYZANTINE_FREE_BLOCK ? 0 : faultTolerance(nodes);
  const behaviour = BEHAVIOUR_OPTIONS[block % BEHAVIOUR_OPTIONS.length];
  const dropRate = pick(random, [0, 0, 0.02, 0.05]);
  const duplicateRate = pick(random, [0, 0, 0.02]);
  const latency = pick(random, [
    { min: 1, max: 5 },
    { min: 2, max: 10 },
    { min: 5, max: 30 },
  ]);
  const partitions: Partition[] = [];
  if (nodes > 1 && random.fraction() < 0.3) {
    const from = random.integer(50, 600);
    const to = from + random.integer(100, 1_000);
    const shuffled = names.map((name) => ({ name, key: random.fraction() }));
    shuffled.sort((a, b) => a.key - b.key);
    const cut = random.integer(1, nodes - 1);
    partitions.push({ from, to, groups: [shuffled.slice(0, cut).map((x) => x.name), shuffled.slice(cut).map((x) => x.name)] });
  }
  const crashes: CrashSpec[] = [];
  if (nodes > 1 && random.fraction() < 0.1) {
    // A rolling restart: every node, one after the other, so every node that locked restarts.
    const gap = random.integer(150, 400);
    names.forEach((node, i) => crashes.push({ node, at: 100 + i * gap, restartAt: 100 + i * gap + random.integer(50, gap - 50) }));
  } else if (random.fraction() < 0.3) {
    // At most f at once, but one even when f is 0: a crash-restart is a fault every cluster must ride out.
    const victims = random.integer(1, Math.max(1, faultTolerance(nodes)));
    const pool = [...names];
    for (let i = 0; i < victims && pool.length > 0; i += 1) {
      const node = pool.splice(random.integer(0, pool.length - 1), 1)[0];
      const at = random.integer(50, 600);
      crashes.push({ node, at, restartAt: at + random.integer(100, 1_000) });
    }
  }
  // Slow disks (each write of a term, vote or lock slower than some state timeouts) and silent
  // prover sets (one prover per height, sometimes a Byzantine or crashed one) in some runs.
  const storageMs = random.fraction() < 0.25 ? { min: 10, max: 120 } : { min: 0, max: 0 };
  const proversPerRank = random.fraction() < 0.25 ? 1 : undefined;
  return {
    seed,
    nodes,
    byzantine,
    behaviour,
    dropRate,
    duplicateRate,
    latency,
    partitions,
    crashes,
    rounds,
    storageMs,
    // One seed in ten (every cluster size) keeps its nodes' state on a real disk, so restarts run the real store's recovery.
    storage: Math.floor(seed / 10) % 10 === 3 ? 'disk' : 'memory',
    ...(proversPerRank === undefined ? {} : { proversPerRank }),
  };
}

/** No Byzantine node, no loss, duplication, partition or crash. */
export function isFaultFree(plan: Partial<SimulationOptions>): boolean {
  return (
    (plan.byzantine ?? 0) === 0 &&
    (plan.dropRate ?? 0) === 0 &&
    (plan.duplicateRate ?? 0) === 0 &&
    (plan.partitions ?? []).length === 0 &&
    (plan.crashes ?? []).length === 0
  );
}

export interface SweepRun {
  seed: number;
  nodes: number;
  byzantine: number;
  behaviour: BehaviourOption;
  faultFree: boolean;
  reachedTarget: boolean;
  stalled: boolean;
  stallReason: string | null;
  violations: Violation[];
  simulatedMs: number;
  attempts: AttemptReport;
  logMatching: LogMatchingSummary;
  replay: string;
}

export interface SweepSummary {
  runs: number;
  firstSeed: number;
  rounds: number;
  violations: number;
  reachedTarget: number;
  /** Runs that ended without a violation and short of their target: liveness failures. */
  stalls: number;
  /** Attempts needed (1 = the first) → ranks, over every run: how often round change was needed. */
  attemptsPerRank: Record<string, number>;
  /** Log matching over every run: entries checked, certificates verified, and the gaps sync left. */
  logMatching: Pick<LogMatchingSummary, 'entries' | 'certificatesVerified' | 'gaps' | 'skippedRanks' | 'filled'>;
  faultFreeRuns: number;
  faultFreeReached: number;
  wallMs: number;
  results: SweepRun[];
}

export interface SweepHooks {
  onRun?: (run: SweepRun, index: number, total: number) => void;
  /** Options every run of the sweep takes on top of its seed's plan (e.g. `messaging: 'linear'`). */
  overrides?: Partial<SimulationOptions>;
}

function summarize(plan: Partial<SimulationOptions>, report: SimulationReport): SweepRun {
  return {
    seed: report.seed,
    nodes: report.nodes,
    byzantine: report.byzantine,
    behaviour: report.behaviour,
    faultFree: isFaultFree(plan),
    reachedTarget: report.reachedTarget,
    stalled: report.stalled,
    stallReason: report.stallReason,
    violations: report.violations,
    simulatedMs: report.simulatedMs,
    attempts: report.attempts,
    logMatching: report.logMatching,
    replay: report.replay,
  };
}

/** Runs `runs` sweep plans, seeds `firstSeed`, `firstSeed + 1`, … */
export async function runSweep(firstSeed: number, runs: number, rounds: number, hooks: SweepHooks = {}): Promise<SweepSummary> {
  const wallStart = Date.now();
  const results: SweepRun[] = [];
  for (let i = 0; i < runs; i += 1) {
    const plan = { ...sweepPlan(firstSeed + i, rounds), ...hooks.overrides };
    const run = summarize(plan, await runSimulation(plan));
    results.push(run);
    hooks.onRun?.(run, i, runs);
  }
  const attemptsPerRank: Record<string, number> = {};
  for (const run of results) {
    for (const [needed, ranks] of Object.entries(run.attempts.perRank)) attemptsPerRank[needed] = (attemptsPerRank[needed] ?? 0) + ranks;
  }
  const logMatching = { entries: 0, certificatesVerified: 0, gaps: 0, skippedRanks: 0, filled: 0 };
  for (const { logMatching: run } of results) {
    logMatching.entries += run.entries;
    logMatching.certificatesVerified += run.certificatesVerified;
    logMatching.gaps += run.gaps;
    logMatching.skippedRanks += run.skippedRanks;
    logMatching.filled += run.filled;
  }
  const faultFree = results.filter((run) => run.faultFree);
  return {
    runs,
    firstSeed,
    rounds,
    violations: results.filter((run) => run.violations.length > 0).length,
    reachedTarget: results.filter((run) => run.reachedTarget).length,
    stalls: results.filter((run) => run.stalled).length,
    attemptsPerRank,
    logMatching,
    faultFreeRuns: faultFree.length,
    faultFreeReached: faultFree.filter((run) => run.reachedTarget).length,
    wallMs: Date.now() - wallStart,
    results,
  };
}
