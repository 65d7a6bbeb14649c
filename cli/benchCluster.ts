import type { Command } from 'commander';
import { runClusterBench } from '../bench/cluster';
import { parseInteger } from '../simulator/options';
import { clusterBenchLines } from './renderClusterBench';
import { refuseIgnored, UsageError } from './usage';

interface ClusterBenchFlags {
  nodes?: number[];
  clients?: number;
  seconds?: number;
  json?: boolean;
}

export const CLUSTER_BENCH_DEFAULTS = Object.freeze({ nodes: 4, clients: 64, seconds: 30 });
/** As many nodes as `cluster up` starts. */
const MAX_CLUSTER_NODES = 10;
export const MAX_CLUSTER_CLIENTS = 1024;
export const MAX_CLUSTER_SECONDS = 600;

interface Writer {
  write(text: string): unknown;
}

/** `bench --cluster`: our node processes against a 3-member etcd cluster, the same load on each. */
export async function benchCluster(flags: ClusterBenchFlags, command: Command, io: { stdout: Writer; stderr: Writer }): Promise<void> {
  refuseIgnored(command, '--cluster', ['--nodes', '--clients', '--seconds', '--json'], 'it is a bench of its own (it takes --nodes, --clients, --seconds and --json)');
  if (flags.nodes !== undefined && flags.nodes.length !== 1) throw new UsageError(`--nodes with --cluster is one cluster size, got ${flags.nodes.join(',')}`);
  const nodes = flags.nodes === undefined ? CLUSTER_BENCH_DEFAULTS.nodes : parseInteger(String(flags.nodes[0]), '--nodes', 1, MAX_CLUSTER_NODES);
  const result = await runClusterBench({
    // The CLI running now: its `node` command runs each member, as `cluster up` does.
    cli: process.argv[1],
    nodes,
    clients: flags.clients ?? CLUSTER_BENCH_DEFAULTS.clients,
    seconds: flags.seconds ?? CLUSTER_BENCH_DEFAULTS.seconds,
    onProgress: (line) => {
      if (!flags.json) io.stderr.write(`${line}\n`);
    },
  });
  io.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : clusterBenchLines(result));
}
