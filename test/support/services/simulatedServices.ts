import { serviceCommandsIn } from '../../../examples/ledger/serviceEntries';
import { runSimulation, type ServicesCluster, type SimulationHooks, type SimulationReport } from '../../../simulator/runSimulation';
import type { SimulationOptions } from '../../../simulator/options';
import type { CoordinationPort } from '../../../services/port';
import { checkServices, type ServicesVerdict } from './checkedRun';
import { replayLog } from './committedLog';
import { ServiceRecorder } from './recorder';
import { clockTime, runWorkload, type WorkloadOptions } from './workload';

export interface ServicesRun {
  readonly report: SimulationReport;
  readonly verdict: ServicesVerdict;
  readonly recorder: ServiceRecorder;
}

export interface ServicesRunOptions {
  /** The run's shape and faults, as `simulate` takes them. */
  readonly simulation: Partial<SimulationOptions>;
  readonly workload?: Partial<Omit<WorkloadOptions, 'portFor' | 'time' | 'recorder'>>;
  /**
   * Test-only: what a client's port does instead of the node's (a broken
   * read rule, for a negative control); given the node's own port and the cluster.
   */
  readonly wrapPort?: (port: CoordinationPort, node: string, cluster: ServicesCluster) => CoordinationPort;
  readonly hooks?: Omit<SimulationHooks, 'workload'>;
}

/**
 * A seeded simulation whose honest nodes host the coordination services,
 * with clients spread over them running the services workload; the history
 * the clients saw is checked for linearizability (KV) and fencing (locks)
 * against the commit log of the honest node that finalized the most.
 */
export async function runServicesSimulation(options: ServicesRunOptions): Promise<ServicesRun> {
  const seed = options.simulation.seed ?? 1;
  let recorder: ServiceRecorder | null = null;
  let longest: () => ReturnType<ServicesCluster['framesOf']> = () => [];
  const report = await runSimulation(options.simulation, {
    ...options.hooks,
    workload: async (cluster) => {
      recorder = new ServiceRecorder(() => cluster.clock.now());
      const ports = new Map(cluster.honest.map((node) => [node, options.wrapPort ? options.wrapPort(cluster.portOf(node), node, cluster) : cluster.portOf(node)]));
      longest = () => cluster.honest.map((node) => cluster.framesOf(node)).reduce((a, b) => (b.length > a.length ? b : a), []);
      await runWorkload({
        seed,
        clients: 4,
        opsPerClient: 12,
        ...options.workload,
        // Clients spread over the honest nodes, one after another.
        portFor: (client) => ports.get(cluster.honest[client % cluster.honest.length])!,
        time: clockTime(cluster.clock),
        recorder,
      });
    },
  });
  if (recorder === null) throw new Error('the workload never started');
  const frames = longest().filter((frame) => frame.height > 0);
  const committed = replayLog(
    frames.map((frame) => ({
      index: frame.height,
      time: frame.time,
      commands: serviceCommandsIn(frame)
        .filter((carried) => carried.kind === 'command')
        .map((carried) => carried.body),
    })),
  );
  return { report, verdict: checkServices(recorder, committed), recorder };
}
