import { RunChecks } from './checks';
import { populateCluster, shapeCluster } from './cluster';
import { scheduleClusterFaults } from './faults';
import type { SimulationHooks } from './hooks';
import { lockBarrierWorkload } from './lockBarrierWorkload';
import { resolveOptions, type SimulationOptions } from './options';
import { replayCommand } from './replay';
import { reportRun, type SimulationReport } from './report';
import { runClock } from './runClock';

export type { ServicesCluster, SimulatedCluster, SimulationHooks } from './hooks';
export { MAX_EVENTS_PER_RUN } from './runClock';

// The report's types and assembly live in ./report; re-exported so importers of this module keep working.
export {
  attemptReport,
  type AttemptReport,
  type ElectionReport,
  type Leadership,
  type NodeElectionReport,
  type NodeReport,
  type SimulationReport,
  type Violation,
} from './report';

/**
 * Runs one seeded simulation: n ledger nodes (some Byzantine) over a
 * simulated network on one discrete-event clock, with the scheduled faults,
 * checked online by the safety checker. The same options give the same trace
 * and report (bar `wallMs`).
 */
export async function runSimulation(
  input: Partial<SimulationOptions>,
  hooks: SimulationHooks = {},
): Promise<SimulationReport> {
  const options = resolveOptions(input);
  const workloadOf = hooks.workload ?? (options.services ? lockBarrierWorkload(options.seed, options.rounds) : undefined);
  const wallStart = Date.now(); // wall time is reported, never simulated
  const replay = replayCommand(options);
  const cluster = shapeCluster(options);
  const checks = new RunChecks(options, cluster, hooks, replay);
  await populateCluster(cluster, options, hooks, checks, workloadOf !== undefined);
  checks.startCounting();
  const faults = scheduleClusterFaults(options, cluster, checks);
  const outcome = await runClock(options, hooks, cluster, checks, faults, workloadOf);
  return reportRun(options, hooks, cluster, checks, faults, outcome, { replay, wallStart });
}
