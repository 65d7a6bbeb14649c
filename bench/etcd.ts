import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, statSync } from 'node:fs';
import { freePorts } from '../server/localCluster';
import { delimiter, join } from 'node:path';

/**
 * A local etcd cluster to measure against: the `etcd` binary this machine
 * has (Debian's etcd-server package, 3.4), its members on 127.0.0.1, data in
 * a directory the caller owns. Writes go through etcd's JSON gateway so that
 * the bench's HTTP load generator drives it as it drives our nodes.
 */
export interface EtcdCluster {
  version: string;
  members: Array<{ name: string; pid: number; clientUrl: string; log: string }>;
  /** Ends the member processes this cluster started (SIGTERM, then SIGKILL after `graceMs`), and only them. */
  stop(graceMs?: number): Promise<void>;
  /** The members whose process has exited. */
  exited(): string[];
}

/** The gateway's put in etcd 3.4 (`/v3beta/kv/put` answers too; `/v3` is the stable one). */
export const ETCD_PUT_PATH = '/v3/kv/put';

export const ETCD_INSTALL_HINT = 'apt-get install etcd-server (Debian, Ubuntu), or set ETCD_BIN to an etcd binary';

export type EtcdLookup = { found: true; bin: string } | { found: false; reason: string };

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** `ETCD_BIN` when set (and then only it), else `etcd` on PATH. */
export function findEtcd(env: NodeJS.ProcessEnv = process.env): EtcdLookup {
  const given = env.ETCD_BIN;
  if (given !== undefined && given !== '') {
    return executable(given) ? { found: true, bin: given } : { found: false, reason: `ETCD_BIN=${given} is not an executable file` };
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && executable(join(dir, 'etcd'))) return { found: true, bin: join(dir, 'etcd') };
  }
  return { found: false, reason: 'no etcd on PATH' };
}

function etcdVersion(bin: string): string {
  const run = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 5000 });
  return /etcd Version: (\S+)/.exec(run.stdout ?? '')?.[1] ?? 'unknown';
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

async function stopChildren(children: readonly ChildProcess[], graceMs: number): Promise<void> {
  const running = children.filter((child) => !exited(child));
  const gone = running.map((child) => new Promise<void>((done) => (exited(child) ? done() : child.once('exit', () => done()))));
  for (const child of running) child.kill('SIGTERM');
  const timer = new Promise<'late'>((done) => setTimeout(() => done('late'), graceMs).unref());
  if ((await Promise.race([Promise.all(gone), timer])) === 'late') {
    for (const child of running) if (!exited(child)) child.kill('SIGKILL');
    await Promise.race([Promise.all(gone), new Promise<void>((done) => setTimeout(done, graceMs).unref())]);
  }
}

/** Whether every member's `/health` says true: a leader is elected and it serves. */
async function healthy(urls: readonly string[]): Promise<boolean> {
  const answers = await Promise.all(
    urls.map(async (url) => {
      try {
        const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
        return response.ok && ((await response.json()) as { health?: unknown }).health === 'true';
      } catch {
        return false;
      }
    }),
  );
  return answers.every(Boolean);
}

/**
 * Starts `size` etcd members in `dir` (one data directory and log per
 * member); `stop` ends them whether or not they became healthy, so the
 * caller holds it before it waits (`waitUntilHealthy`).
 */
export async function startEtcdCluster(bin: string, dir: string, size: number): Promise<EtcdCluster> {
  const ports = await freePorts(2 * size);
  const names = Array.from({ length: size }, (_, i) => `e${i + 1}`);
  const peerUrl = (i: number) => `http://127.0.0.1:${ports[size + i]}`;
  const clientUrl = (i: number) => `http://127.0.0.1:${ports[i]}`;
  const initialCluster = names.map((name, i) => `${name}=${peerUrl(i)}`).join(',');
  const token = `bench-${process.pid}-${Date.now()}`;
  const children: ChildProcess[] = [];
  const members: EtcdCluster['members'] = [];
  names.forEach((name, i) => {
    const log = join(dir, `${name}.log`);
    const out = openSync(log, 'a');
    try {
      const child = spawn(
        bin,
        [
          `--name=${name}`,
          `--data-dir=${join(dir, name)}`,
          `--listen-client-urls=${clientUrl(i)}`,
          `--advertise-client-urls=${clientUrl(i)}`,
          `--listen-peer-urls=${peerUrl(i)}`,
          `--initial-advertise-peer-urls=${peerUrl(i)}`,
          `--initial-cluster=${initialCluster}`,
          '--initial-cluster-state=new',
          `--initial-cluster-token=${token}`,
        ],
        // Its own process group: a Ctrl-C at the terminal reaches the bench, which stops the members itself.
        { detached: true, stdio: ['ignore', out, out] },
      );
      // A binary that cannot be run: its exit says so, through waitUntilHealthy.
      child.on('error', () => undefined);
      children.push(child);
      members.push({ name, pid: child.pid ?? -1, clientUrl: clientUrl(i), log });
    } finally {
      closeSync(out);
    }
  });
  return {
    version: etcdVersion(bin),
    members,
    stop: (graceMs = 10_000) => stopChildren(children, graceMs),
    exited: () => members.filter((_, i) => exited(children[i]) || children[i].pid === undefined).map((member) => member.name),
  };
}

/** Resolves once every member reports healthy; rejects when one exits or after `timeoutMs`. */
export async function waitUntilHealthy(cluster: EtcdCluster, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await healthy(cluster.members.map((member) => member.clientUrl)))) {
    const dead = cluster.exited();
    if (dead.length > 0) throw new Error(`etcd member ${dead.join(', ')} exited while starting`);
    if (Date.now() > until) throw new Error(`etcd not healthy within ${timeoutMs} ms`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

/** A put through the JSON gateway: key and value are base64 in its body. */
export function etcdPutBody(key: string, value: string): string {
  return JSON.stringify({ key: Buffer.from(key).toString('base64'), value: Buffer.from(value).toString('base64') });
}
