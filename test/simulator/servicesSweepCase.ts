import { sweepPlan } from '../../simulator/sweep';
import { isIndeterminate } from '../support/linearizability/history';
import type { ConflictStrategy } from '../../services';
import type { CoordinationPort } from '../../services/port';
import { runServicesSimulation, type ServicesRun, type ServicesRunOptions } from '../support/services/simulatedServices';
import { SWEEP_ROUNDS } from './sweepCase';

/** Files the services sweep is split in, ten seeds each: 300 seeds. */
export const SERVICES_SWEEP_FILES = 30;
/** Wall time one file may take: 26–156 s a file in `.ci/run` on a fresh clone here (two workers, 2 cores), a third of this at most. */
export const SERVICES_SWEEP_TIMEOUT_MS = 480_000;

/**
 * The seeds of file `file` (1 to 30): one of each cluster size from 1 to 10,
 * each from a different block of the plan, so that every file meets every
 * Byzantine behaviour once and the costly ones (flood, garbage at n = 7 to
 * 10) are spread over the files instead of filling one. Over the 30 files
 * every seed from 1 to 300 comes once.
 */
export function servicesSweepSeeds(file: number): number[] {
  return Array.from({ length: 10 }, (_, size) => 10 * ((file - 1 + 3 * size) % SERVICES_SWEEP_FILES) + 1 + size);
}

/**
 * The clients' shape in a sweep run: four clients over the honest nodes,
 * ten operations each and, beside them, two barrier steps; leases
 * long enough that most holds outlast a few commits under slow disks and
 * loss, with stalls that outlast them.
 */
export const SWEEP_WORKLOAD = { clients: 4, opsPerClient: 10, barrierOps: 2, leaseMs: 2_000, stallMs: 3_000, deadlineMs: 3_000 } as const;

/** Conflict strategies a seed sets on its key space, by seed modulo five: every file meets each twice. */
const SWEEP_STRATEGIES: readonly (ConflictStrategy | null)[] = [null, 'reject', 'siblings', 'merge:max', 'merge:union'];

/** The key space a seed sets up before its clients write, or none (last-writer-wins everywhere). */
export function sweepKeySpace(seed: number): { prefix: string; strategy: ConflictStrategy } | undefined {
  const strategy = SWEEP_STRATEGIES[seed % SWEEP_STRATEGIES.length];
  return strategy == null ? undefined : { prefix: 'x/', strategy };
}

/** One seed of the sweep's plan (1 to 10 nodes, every Byzantine behaviour, partitions, crash-restarts, loss, slow disks) with clients. */
export function servicesRun(seed: number, wrapPort?: ServicesRunOptions['wrapPort']): Promise<ServicesRun> {
  return runServicesSimulation({
    simulation: { ...sweepPlan(seed, SWEEP_ROUNDS), seed, maxSimulatedMs: 180_000 },
    workload: { ...SWEEP_WORKLOAD, keySpace: sweepKeySpace(seed) },
    ...(wrapPort === undefined ? {} : { wrapPort }),
  });
}

/**
 * Runs the seeds of one file: every run keeps consensus
 * safety and reaches its target, and the clients' history is linearizable
 * (KV) and kept fencing (locks); and the runs did exercise what the checkers
 * look at: reads that saw writes, accepted and refused fenced writes, lock
 * hand-overs, and operations whose effect is unknown.
 */
export async function expectServicesSweepHolds(file: number): Promise<void> {
  const seeds = servicesSweepSeeds(file);
  const failures: string[] = [];
  const totals = { operations: 0, indeterminate: 0, granted: 0, fencedAccepted: 0, fencedRefused: 0 };
  const barriers = { arrivals: 0, releasedOnArrivals: 0, releasedOnTimeout: 0, failed: 0, stagesOpened: 0, toldReleased: 0 };
  const replayed = { compared: 0, combined: 0 };
  for (const seed of seeds) {
    const { report, verdict, recorder } = await servicesRun(seed);
    if (report.violations.length > 0 || !report.reachedTarget) failures.push(`seed ${seed}: ${report.violations[0]?.detail ?? report.stallReason}`);
    if (!verdict.ok) failures.push(`seed ${seed}: ${verdict.summary}`);
    const history = recorder.kvHistory();
    totals.operations += history.length;
    totals.indeterminate += history.filter(isIndeterminate).length;
    for (const name of Object.keys(barriers) as (keyof typeof barriers)[]) barriers[name] += verdict.barriers?.stats[name] ?? 0;
    replayed.compared += verdict.replayedKv?.compared ?? 0;
    replayed.combined += verdict.replayedKv?.combined ?? 0;
    for (const step of recorder.lockLog()) {
      if (step.step === 'acquire' && step.outcome === 'ok' && step.status === 'granted') totals.granted += 1;
      if (step.step === 'write' && step.outcome === 'ok') totals.fencedAccepted += 1;
      if (step.step === 'write' && step.outcome === 'refused') totals.fencedRefused += 1;
    }
  }
  console.log(`services sweep seeds ${seeds.join(', ')}: ${JSON.stringify({ ...totals, barriers, replayed })}`);
  expect(failures).toEqual([]);
  expect(totals.operations).toBeGreaterThan(seeds.length * 20);
  expect(totals.granted).toBeGreaterThan(seeds.length);
  expect(totals.fencedAccepted).toBeGreaterThan(seeds.length);
  expect(totals.fencedRefused).toBeGreaterThan(0);
  expect(barriers.arrivals).toBeGreaterThan(seeds.length);
  expect(barriers.releasedOnArrivals).toBeGreaterThan(0);
  expect(barriers.failed).toBeGreaterThan(0);
  expect(barriers.toldReleased).toBeGreaterThan(0);
  expect(replayed.compared).toBeGreaterThan(0);
}

/** A broken read rule: a linearizable read answered from the node's own applied state, as a follower without ReadIndex would. */
export function readsWithoutReadIndex(port: CoordinationPort): CoordinationPort {
  return { submit: (command, options) => port.submit(command, options), query: (query, options) => port.query(query, { ...options, consistency: 'stale' }) };
}

/**
 * A broken barrier rule: a generation one arrival short of its threshold is
 * released to the participant who arrived, as a service counting one too
 * many would; the log, and everyone else, still wait for the last arrival.
 */
export function barriersReleasedEarly(port: CoordinationPort): CoordinationPort {
  return {
    submit: async (command, options) => {
      const outcome = await port.submit(command, options);
      const sent = command as { service?: unknown; op?: unknown } | null;
      if (outcome.outcome !== 'committed' || sent?.service !== 'barriers' || sent.op !== 'arrive') return outcome;
      const result = outcome.result as { ok?: boolean; value?: { status?: string; arrived?: number; required?: number } };
      const value = result.ok === true ? result.value : undefined;
      if (value?.status !== 'waiting' || value.arrived !== (value.required ?? 0) - 1) return outcome;
      return { ...outcome, result: { ...result, value: { ...value, status: 'released', arrived: value.required } } };
    },
    query: (query, options) => port.query(query, options),
  };
}

/** A broken lock rule: writes go in without their fencing token, so a holder whose lease ended still writes. */
export function locksWithoutFencing(port: CoordinationPort): CoordinationPort {
  return {
    submit: (command, options) => {
      if (typeof command === 'object' && command !== null && 'fence' in command) {
        const { fence: _dropped, ...unfenced } = command as Record<string, unknown>;
        return port.submit(unfenced, options);
      }
      return port.submit(command, options);
    },
    query: (query, options) => port.query(query, options),
  };
}
