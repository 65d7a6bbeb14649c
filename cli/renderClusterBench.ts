import type { ClusterBenchResult, ClusterBenchRow } from '../bench/cluster';
import { table } from './render';

const kinds = (row: ClusterBenchRow) =>
  Object.entries(row.failureKinds)
    .map(([kind, count]) => `${kind} ${count}`)
    .join(', ');

/**
 * `bench --cluster`: ours and etcd side by side, then ours ÷ etcd. The notes
 * say what the figures depend on: the machine, and who used its cores over
 * each window (the system, the load generator on the same cores, anything else).
 */
export function clusterBenchLines(result: ClusterBenchResult): string {
  const rows = [result.ours, ...(result.etcd === null ? [] : [result.etcd])];
  let text = table(
    ['system', 'members', 'clients', 'seconds', 'acknowledged/s', 'p50 ms', 'p99 ms', 'failures'],
    rows.map((row) => [row.system === 'etcd' ? 'etcd' : 'ours', row.members, row.clients, row.seconds, row.acknowledgedPerSecond, row.latencyMs.p50, row.latencyMs.p99, row.failures]),
  );
  text += '\n';
  if (result.etcd === null || result.ratio === null) {
    text += `${result.etcdUnavailable ?? 'etcd was not measured'}\n`;
  } else {
    const { throughput, p99 } = result.ratio;
    text += `ours/etcd throughput: ${throughput ?? '-'} (acknowledged/s; above 1, ours acknowledges more)\n`;
    text += `ours/etcd p99: ${p99 ?? '-'} (above 1, ours is slower)\n`;
  }
  text += '\n';
  const { machine } = result;
  for (const row of rows) {
    const name = row.system === 'etcd' ? 'etcd' : 'ours';
    const failed = row.failures > 0 ? `; failures: ${kinds(row)}` : '';
    const { measured, generator, other, busy } = row.cores;
    const processes = row.system === 'etcd' ? 'members' : 'nodes';
    text += `${name}: ${row.system} ${row.version}, ${row.request}; max ${row.latencyMs.max} ms${failed}\n`;
    text += `${name}: cores busy over the window: ${processes} ${measured ?? '?'}, load generator ${generator}, other processes ${other ?? '?'} (machine ${busy} of ${machine.cpus})\n`;
  }
  text += `machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.platform}, Node ${machine.node}; closed-loop clients over keep-alive HTTP, ${result.warmupSeconds} s of warm-up not counted; one system at a time\n`;
  return text;
}
