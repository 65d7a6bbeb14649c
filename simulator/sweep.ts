import { createSeededRandom, type RandomSource } from '../providers/random';
import type { Partition } from '../providers/simulatedNetwork';
import { faultTolerance } from '../examples/ledger/rules';
import { BEHAVIOUR_OPTIONS, type BehaviourOption } from './byzantine';
import { nodeNames, type CrashSpec, type SimulationOptions } from './options';
import { runSimulation, type SimulationReport, type Violation } from './runSimulation';

/** Cluster sizes a sweep draws from: n = 3f + 1 for f = 1, 2, 3. */
export const SWEEP_SIZES = [4, 7, 10] as const;

function pick<T>(random: RandomSource, items: readonly T[]): T {
  return items[random.integer(0, items.length - 1)];
}

/**
 * The options of sweep run `seed`: a cluster size, up to f Byzantine nodes of
 * one behaviour, and a random mix of loss, duplication, latency, a partition
 * and crash-restarts, all drawn from the seed, so one seed names one run.
 */
export function sweepPlan(seed: number, rounds: number): Partial<SimulationOptions> {
  const random = createSeededRandom(seed);
  const nodes = pick(random, SWEEP_SIZES);
  const names = nodeNames(nodes);
  const byzantine = random.integer(0, faultTolerance(nodes));
  const behaviour = pick(random, BEHAVIOUR_OPTIONS);
  const dropRate = pick(random, [0, 0, 0.02, 0.05]);
  const duplicateRate = pick(random, [0, 0, 0.02]);
  const latency = pick(random, [
    { min: 1, max: 5 },
    { min: 2, max: 10 },
    { min: 5, max: 30 },
  ]);
  const partitions: Partition[] = [];
  if (random.fraction() < 0.3) {
    const from = random.integer(50, 600);
    const to = from + random.integer(100, 1_000);
    const shuffled = names.map((name) => ({ name, key: random.fraction() }));
    shuffled.sort((a, b) => a.key - b.key);
    const cut = random.integer(1, nodes - 1);
    partitions.push({ from, to, groups: [shuffled.slice(0, cut).map((x) => x.name), shuffled.slice(cut).map((x) => x.name)] });
  }
  const crashes: CrashSpec[] = [];
  if (random.fraction() < 0.3) {
    const victims = random.integer(1, faultTolerance(nodes));
    const pool = [...names];
    for (let i = 0; i < victims && pool.length > 0; i += 1) {
      const node = pool.splice(random.integer(0, pool.length - 1), 1)[0];
      const at = random.integer(50, 600);
      crashes.push({ node, at, restartAt: at + random.integer(100, 1_000) });
    }
  }
  return { seed, nodes, byzantine, behaviour, dropRate, duplicateRate, latency, partitions, crashes, rounds };
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

/**
 * Whether the run may stall without a bug: an equivocating proposer can split
 * the honest votes, and only the round change of SPEC §2.8 gets past that.
 */
export function mayStall(plan: Partial<SimulationOptions>): boolean {
  const behaviour: BehaviourOption | undefined = plan.behaviour;
  return (plan.byzantine ?? 0) > 0 && (behaviour === 'equivocate' || behaviour === 'mixed');
}

export interface SweepRun {
  seed: number;
  nodes: number;
  byzantine: number;
  behaviour: BehaviourOption;
  faultFree: boolean;
  mayStall: boolean;
  reachedTarget: boolean;
  stalled: boolean;
  stallReason: string | null;
  violations: Violation[];
  simulatedMs: number;
  replay: string;
}

export interface SweepSummary {
  runs: number;
  firstSeed: number;
  rounds: number;
  violations: number;
  reachedTarget: number;
  /** Stalls where an equivocating node may cause them (the round change of SPEC §2.8 is not built yet). */
  expectedStalls: number;
  /** Stalls nothing excuses: a liveness bug. */
  unexpectedStalls: number;
  faultFreeRuns: number;
  faultFreeReached: number;
  wallMs: number;
  results: SweepRun[];
}

export interface SweepHooks {
  onRun?: (run: SweepRun, index: number, total: number) => void;
}

function summarize(plan: Partial<SimulationOptions>, report: SimulationReport): SweepRun {
  return {
    seed: report.seed,
    nodes: report.nodes,
    byzantine: report.byzantine,
    behaviour: report.behaviour,
    faultFree: isFaultFree(plan),
    mayStall: mayStall(plan),
    reachedTarget: report.reachedTarget,
    stalled: report.stalled,
    stallReason: report.stallReason,
    violations: report.violations,
    simulatedMs: report.simulatedMs,
    replay: report.replay,
  };
}

/** Runs `runs` sweep plans, seeds `firstSeed`, `firstSeed + 1`, … */
export async function runSweep(firstSeed: number, runs: number, rounds: number, hooks: SweepHooks = {}): Promise<SweepSummary> {
  const wallStart = Date.now();
  const results: SweepRun[] = [];
  for (let i = 0; i < runs; i += 1) {
    const plan = sweepPlan(firstSeed + i, rounds);
    const run = summarize(plan, await runSimulation(plan));
    results.push(run);
    hooks.onRun?.(run, i, runs);
  }
  const stalls = results.filter((run) => run.stalled);
  const faultFree = results.filter((run) => run.faultFree);
  return {
    runs,
    firstSeed,
    rounds,
    violations: results.filter((run) => run.violations.length > 0).length,
    reachedTarget: results.filter((run) => run.reachedTarget).length,
    expectedStalls: stalls.filter((run) => run.mayStall).length,
    unexpectedStalls: stalls.filter((run) => !run.mayStall).length,
    faultFreeRuns: faultFree.length,
    faultFreeReached: faultFree.filter((run) => run.reachedTarget).length,
    wallMs: Date.now() - wallStart,
    results,
  };
}
