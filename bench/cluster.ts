import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { version } from '../package.json';
import { ETCD_INSTALL_HINT, ETCD_PUT_PATH, etcdPutBody, findEtcd, startEtcdCluster, waitUntilHealthy } from './etcd';
import { cpuWindow } from './cpuShare';
import { runLoad, type LoadOptions, type LoadResult } from './loadGenerator';
import { startOurCluster, stopOurCluster } from './ourCluster';

/**
 * Our cluster against etcd on this machine, in one run: our node processes
 * (as `cluster up` starts them), then a 3-member etcd cluster, each driven
 * by the same closed-loop load generator for the same time with the same
 * number of clients, one after the other so that neither shares the CPU
 * with the other. Both acknowledge a write only once a majority (etcd) or a
 * quorum (ours) has it durably.
 */
export interface ClusterBenchOptions {
  /** The built CLI (dist/cli.js) whose `node` command runs our members. */
  cli: string;
  nodes: number;
  clients: number;
  seconds: number;
  warmupSeconds?: number;
  /** Members of the etcd cluster: 3, the size etcd's documentation recommends as the smallest fault-tolerant one. */
  etcdMembers?: number;
  env?: NodeJS.ProcessEnv;
  /** One line of progress at a time (starting, measuring, stopping). */
  onProgress?: (line: string) => void;
}

export interface ClusterBenchRow extends Omit<LoadResult, 'generatorCores'> {
  system: 'statechart-consensus' | 'etcd';
  version: string;
  members: number;
  /** The request each client sends. */
  request: string;
  /**
   * Cores busy over the measured window, on average: the system's own
   * processes, the load generator, everything else on the machine (null
   * where /proc is not readable), and the machine as a whole.
   */
  cores: { measured: number | null; generator: number; other: number | null; busy: number };
}

export interface ClusterBenchResult {
  machine: { cpus: number; cpuModel: string; platform: string; node: string };
  warmupSeconds: number;
  ours: ClusterBenchRow;
  /** Null when etcd was not found or did not start; `etcdUnavailable` says why. */
  etcd: ClusterBenchRow | null;
  etcdUnavailable?: string;
  /** ours ÷ etcd: acknowledged/s (above 1: ours acknowledges more) and p99 latency (above 1: ours is slower). */
  ratio: { throughput: number | null; p99: number | null } | null;
}

const ETCD_MEMBERS = 3;
/** Our proposals wait this long for their commit; a request times out a little after it. */
const PROPOSAL_TIMEOUT_MS = 20_000;
const REQUEST_TIMEOUT_MS = PROPOSAL_TIMEOUT_MS + 5_000;

/** Printable text, unique per request, at most 25 characters for the largest flags. */
const payloadText = (client: number, seq: number) => `b-${client}-${seq}`;

/** The last lines of each log: the temp directory holding them is removed before the error is read. */
function logTails(files: readonly string[], lines = 3): string {
  return files
    .map((file) => {
      try {
        return `${file.split('/').slice(-2).join('/')}: ${readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join(' | ')}`;
      } catch {
        return null;
      }
    })
    .filter((tail): tail is string => tail !== null)
    .join('\n');
}

const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 1000) / 1000 : null);

/** A run that ends here: after a signal, the process exits from its clean-up, not from the run. */
const never = () => new Promise<never>(() => undefined);

/**
 * Runs the comparison. Every process it starts is ended by its pid before it
 * returns (or rejects), and so is its temp directory; a SIGINT or SIGTERM
 * meanwhile does the same, then exits (130, 143).
 */
export async function runClusterBench(options: ClusterBenchOptions): Promise<ClusterBenchResult> {
  const { nodes, clients, seconds } = options;
  const warmupSeconds = options.warmupSeconds ?? 2;
  const etcdMembers = options.etcdMembers ?? ETCD_MEMBERS;
  const progress = options.onProgress ?? (() => undefined);
  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model.trim() ?? 'unknown', platform: `${process.platform} ${process.arch}`, node: process.version };
  // Looked up first: a missing etcd is said before minutes are spent on our side.
  const lookup = findEtcd(options.env ?? process.env);
  if (!lookup.found) progress(`etcd not found (${lookup.reason}): only our cluster is measured`);
  const dir = mkdtempSync(join(tmpdir(), 'bench-cluster-'));
  // Each holds processes from the moment they are spawned, before they are ready.
  const stops: Array<(graceMs?: number) => Promise<void>> = [];
  let interrupted = false;
  // While a signal's clean-up runs, the run goes on until the exit: it stops at its next step instead of starting more processes.
  const step = <T>(next: () => Promise<T>): Promise<T> => (interrupted ? never() : next());
  const cleanUp = async () => {
    for (const stop of stops.splice(0).reverse()) await stop(5000).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  // Node and etcd processes run in process groups of their own: a Ctrl-C reaches only the bench, which must end them.
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = true;
    void cleanUp().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const measure = async (): Promise<ClusterBenchResult> => {
    const oursDir = join(dir, 'ours');
    progress(`starting ${nodes} node${nodes === 1 ? '' : 's'} of ours`);
    stops.push((graceMs) => stopOurCluster(oursDir, graceMs));
    const ours = await step(() => startOurCluster(options.cli, oursDir, nodes)).catch((error: Error) => {
      throw new Error(`${error.message}\n${logTails(Array.from({ length: nodes }, (_, i) => join(oursDir, `n${i + 1}`, 'node.log')))}`);
    });
    progress(`ours: ${clients} clients for ${warmupSeconds} s of warm-up and ${seconds} s measured`);
    const oursLoad = await step(() =>
      measured(ours.members.map((member) => member.clientUrl), ours.members.map((member) => member.pid), (client, seq) => ({
        path: '/v1/propose',
        body: JSON.stringify({ payload: payloadText(client, seq), timeoutMs: PROPOSAL_TIMEOUT_MS }),
      })),
    );
    progress(`ours: ${oursLoad.acknowledgedPerSecond} acknowledged/s, p50 ${oursLoad.latencyMs.p50} ms, p99 ${oursLoad.latencyMs.p99} ms, ${oursLoad.failures} failures`);
    await step(() => stops.pop()!());
    const oursRow: ClusterBenchRow = { system: 'statechart-consensus', version, members: nodes, request: `POST /v1/propose {"payload":"b-<client>-<seq>","timeoutMs":${PROPOSAL_TIMEOUT_MS}}`, ...oursLoad };
    const without = (why: string): ClusterBenchResult => ({ machine, warmupSeconds, ours: oursRow, etcd: null, etcdUnavailable: why, ratio: null });
    if (!lookup.found) return without(`etcd not found (${lookup.reason}): ${ETCD_INSTALL_HINT}`);

    const etcdDir = join(dir, 'etcd');
    mkdirSync(etcdDir);
    progress(`starting ${etcdMembers} etcd members (${lookup.bin})`);
    const etcd = await step(() => startEtcdCluster(lookup.bin, etcdDir, etcdMembers));
    stops.push(etcd.stop);
    try {
      await step(() => waitUntilHealthy(etcd));
    } catch (error) {
      const tails = logTails(etcd.members.map((member) => member.log), 1);
      return without(`etcd did not start: ${(error as Error).message}${tails ? `\n${tails}` : ''}`);
    }
    progress(`etcd ${etcd.version}: ${clients} clients for ${warmupSeconds} s of warm-up and ${seconds} s measured`);
    const etcdLoad = await step(() =>
      measured(etcd.members.map((member) => member.clientUrl), etcd.members.map((member) => member.pid), (client, seq) => ({ path: ETCD_PUT_PATH, body: etcdPutBody(`bench/${client}`, payloadText(client, seq)) })),
    );
    progress(`etcd: ${etcdLoad.acknowledgedPerSecond} acknowledged/s, p50 ${etcdLoad.latencyMs.p50} ms, p99 ${etcdLoad.latencyMs.p99} ms, ${etcdLoad.failures} failures`);
    const etcdRow: ClusterBenchRow = { system: 'etcd', version: etcd.version, members: etcdMembers, request: `POST ${ETCD_PUT_PATH} {"key":base64("bench/<client>"),"value":base64("b-<client>-<seq>")}`, ...etcdLoad };
    return {
      machine,
      warmupSeconds,
      ours: oursRow,
      etcd: etcdRow,
      ratio: { throughput: ratio(oursLoad.acknowledgedPerSecond, etcdLoad.acknowledgedPerSecond), p99: ratio(oursLoad.latencyMs.p99, etcdLoad.latencyMs.p99) },
    };
  };

  /** The same load on either system, with the CPU its processes and everything else took over the measured window. */
  const measured = async (urls: string[], pids: number[], request: LoadOptions['request']) => {
    let window: ReturnType<typeof cpuWindow> | null = null;
    const windowStart = setTimeout(() => (window = cpuWindow(pids)), warmupSeconds * 1000);
    try {
      const load = await runLoad({ urls, clients, seconds, warmupSeconds, requestTimeoutMs: REQUEST_TIMEOUT_MS, request });
      const cpu = (window as ReturnType<typeof cpuWindow> | null)?.end() ?? { busy: 0, measured: null };
      const other = cpu.measured === null ? null : Math.max(0, Math.round((cpu.busy - cpu.measured - load.generatorCores) * 100) / 100);
      const { generatorCores, ...figures } = load;
      return { ...figures, cores: { measured: cpu.measured, generator: generatorCores, other, busy: cpu.busy } };
    } finally {
      clearTimeout(windowStart);
    }
  };

  let result: ClusterBenchResult;
  try {
    result = await measure();
  } catch (error) {
    if (interrupted) return never();
    throw error;
  } finally {
    if (!interrupted) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await cleanUp();
    }
  }
  return interrupted ? never() : result;
}
