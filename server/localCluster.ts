import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { generateKeyPair } from '../engine/signing/keys';
import type { NodeFileConfig } from './config';

/** What `cluster up` writes to `DIR/cluster.json`, and `cluster down` reads. */
export interface ClusterFile {
  clusterId: string;
  nodes: Array<{ id: string; pid: number | null; clientUrl: string; config: string; log: string }>;
}

const clusterFileSchema = z.object({
  clusterId: z.string(),
  nodes: z.array(z.object({ id: z.string(), pid: z.number().int().positive().nullable(), clientUrl: z.string(), config: z.string(), log: z.string() })),
});

/** A local cluster that cannot be brought up or down as asked. */
export class LocalClusterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalClusterError';
  }
}

export function readClusterFile(dir: string): ClusterFile {
  const file = join(resolve(dir), 'cluster.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new LocalClusterError(`${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no cluster here' : 'not readable JSON'}`);
  }
  const parsed = clusterFileSchema.safeParse(raw);
  if (!parsed.success) throw new LocalClusterError(`${file}: not a cluster file`);
  return parsed.data;
}

function writeClusterFile(dir: string, cluster: ClusterFile): void {
  writeFileSync(join(dir, 'cluster.json'), `${JSON.stringify(cluster, null, 2)}\n`);
}

/** Whether `pid` is alive and runs this cluster's node with `config`: a reused pid is left alone. */
export function runsNode(pid: number, config: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // A zombie has exited; only its parent's wait is missing.
    if (/^\d+ \(.*\) Z /.test(stat)) return false;
    return cmdline.split('\0').includes(config);
  } catch {
    return false;
  }
}

/** Ports free now on 127.0.0.1, all held at once while chosen so none is picked twice. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((done, fail) => {
      const server = createServer();
      server.once('error', fail);
      server.listen(0, '127.0.0.1', () => done(server));
    })),
  );
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
  return ports;
}

/**
 * The keys and configurations of an `n`-node cluster in `dir`
 * (`<node>/key.json`, `<node>/config.json`), made once: a directory that
 * has them is reused as it is, so a cluster brought down comes up again
 * from its data directories.
 */
export async function prepareCluster(dir: string, n: number, founders?: number): Promise<ClusterFile> {
  const root = resolve(dir);
  const ids = Array.from({ length: n }, (_, i) => `n${i + 1}`);
  if (founders !== undefined && (!Number.isInteger(founders) || founders < 1 || founders > n)) throw new LocalClusterError(`founders must be 1 to ${n}, not ${founders}`);
  const configFiles = ids.map((id) => join(root, id, 'config.json'));
  if (configFiles.every((file) => existsSync(file))) {
    const configs = configFiles.map((file) => JSON.parse(readFileSync(file, 'utf8')) as NodeFileConfig);
    if (configs[0].members.length !== n) throw new LocalClusterError(`${root} holds a cluster of ${configs[0].members.length} nodes, not ${n}`);
    // Its membership since is in its logs: only whether it changes through the log must match.
    if ((configs[0].founders !== undefined) !== (founders !== undefined)) {
      throw new LocalClusterError(`${root} holds a cluster ${configs[0].founders === undefined ? 'without' : 'with'} founders`);
    }
    return {
      clusterId: configs[0].clusterId,
      nodes: configs.map((config, i) => ({ id: config.id, pid: null, clientUrl: `http://${config.client.host}:${config.client.port}`, config: configFiles[i], log: join(root, config.id, 'node.log') })),
    };
  }
  if (configFiles.some((file) => existsSync(file))) throw new LocalClusterError(`${root} holds part of another cluster`);
  const clusterId = `local-${randomBytes(6).toString('hex')}`;
  const ports = await freePorts(2 * n);
  const keys = ids.map(() => generateKeyPair());
  const members = ids.map((id, i) => ({ id, host: '127.0.0.1', port: ports[i], publicKey: keys[i].publicKey }));
  ids.forEach((id, i) => {
    mkdirSync(join(root, id), { recursive: true });
    writeFileSync(join(root, id, 'key.json'), `${JSON.stringify(keys[i], null, 2)}\n`, { mode: 0o600 });
    const config: NodeFileConfig = {
      id,
      clusterId,
      keyFile: 'key.json',
      members,
      // The first `founders` nodes are the membership; the others follow the log until a change adds them.
      ...(founders === undefined ? {} : { founders: ids.slice(0, founders) }),
      client: { host: '127.0.0.1', port: ports[n + i] },
      dataDir: 'data',
    };
    writeFileSync(configFiles[i], `${JSON.stringify(config, null, 2)}\n`);
  });
  return {
    clusterId,
    nodes: ids.map((id, i) => ({ id, pid: null, clientUrl: `http://127.0.0.1:${ports[n + i]}`, config: configFiles[i], log: join(root, id, 'node.log') })),
  };
}

/** Starts a node process of `cli` for `config`, on its own, its output appended to `log`. */
export function startNodeProcess(cli: string, config: string, log: string): number {
  const out = openSync(log, 'a');
  try {
    const child = spawn(process.execPath, [cli, 'node', '--config', config], { detached: true, stdio: ['ignore', out, out] });
    child.unref();
    if (child.pid === undefined) throw new LocalClusterError(`could not start a node for ${config}`);
    return child.pid;
  } finally {
    closeSync(out);
  }
}

/** Waits until every node answers `GET /v1/status`, at most `timeoutMs`. */
export async function waitUntilReady(urls: readonly string[], timeoutMs: number, alive: () => boolean = () => true): Promise<void> {
  const until = Date.now() + timeoutMs;
  const pending = new Set(urls);
  while (pending.size > 0) {
    if (Date.now() > until) throw new LocalClusterError(`not ready within ${timeoutMs} ms: ${[...pending].join(', ')}`);
    if (!alive()) throw new LocalClusterError('a node process exited while starting (see its node.log)');
    for (const url of [...pending]) {
      try {
        const response = await fetch(`${url}/v1/status`, { signal: AbortSignal.timeout(1000) });
        if (response.ok) pending.delete(url);
      } catch {
        // Not listening yet.
      }
    }
    if (pending.size > 0) await new Promise((done) => setTimeout(done, 100));
  }
}

/** Brings an `n`-node cluster up in `dir`; resolves once every node serves clients. */
export async function clusterUp(dir: string, n: number, cli: string, timeoutMs = 30_000, founders?: number): Promise<ClusterFile> {
  const root = resolve(dir);
  if (existsSync(join(root, 'cluster.json'))) {
    const running = readClusterFile(root).nodes.filter((node) => node.pid !== null && runsNode(node.pid, node.config));
    if (running.length > 0) throw new LocalClusterError(`${root} is running already (pids ${running.map((node) => node.pid).join(', ')}): cluster down first`);
  }
  const cluster = await prepareCluster(root, n, founders);
  for (const node of cluster.nodes) node.pid = startNodeProcess(cli, node.config, node.log);
  writeClusterFile(root, cluster);
  await waitUntilReady(
    cluster.nodes.map((node) => node.clientUrl),
    timeoutMs,
    () => cluster.nodes.every((node) => runsNode(node.pid!, node.config)),
  );
  return cluster;
}

/** Ends the node processes `cluster.json` lists (SIGTERM, then SIGKILL after `graceMs`); a pid no longer running its node is left alone. */
export async function clusterDown(dir: string, graceMs = 10_000): Promise<{ stopped: string[]; killed: string[] }> {
  const root = resolve(dir);
  const cluster = readClusterFile(root);
  const ours = cluster.nodes.filter((node) => node.pid !== null && runsNode(node.pid, node.config));
  for (const node of ours) process.kill(node.pid!, 'SIGTERM');
  const until = Date.now() + graceMs;
  while (ours.some((node) => runsNode(node.pid!, node.config)) && Date.now() < until) await new Promise((done) => setTimeout(done, 50));
  const killed = ours.filter((node) => runsNode(node.pid!, node.config));
  for (const node of killed) process.kill(node.pid!, 'SIGKILL');
  for (const node of cluster.nodes) node.pid = null;
  writeClusterFile(root, cluster);
  return { stopped: ours.map((node) => node.id), killed: killed.map((node) => node.id) };
}
