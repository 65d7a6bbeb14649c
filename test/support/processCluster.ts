import { readFileSync, writeFileSync } from 'node:fs';
import type { NodeFileConfig } from '../../server/config';
import { prepareCluster, runsNode, startNodeProcess, waitUntilReady } from '../../server/localCluster';
import { TcpProxy } from './tcpProxy';

/**
 * Node processes of the built CLI on 127.0.0.1, every connection between two
 * members through a `TcpProxy` the test controls, as
 * test/cluster/clusterFaults.test.ts runs them. A test kills and restarts
 * members by the pids it started, and ends only those (`kill`, `close`).
 */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class ProcessCluster {
  /** The proxy each connection between two members runs through, by `dialer>dialed`: the lower id dials. */
  private readonly proxies = new Map<string, TcpProxy>();
  /** Every process this cluster started, running or not: the only ones it ever ends. */
  private readonly started: Array<{ pid: number; config: string }> = [];
  private readonly pids: Array<number | null>;

  private constructor(
    private readonly cli: string,
    readonly nodes: ReadonlyArray<{ id: string; config: string; log: string; clientUrl: string }>,
  ) {
    this.pids = nodes.map(() => null);
  }

  /** Prepares `n` members in `dir` behind proxies and starts them all; resolves once each serves clients. */
  static async start(cli: string, dir: string, n: number, readyMs = 30_000, options: { founders?: number } = {}): Promise<ProcessCluster> {
    const prepared = await prepareCluster(dir, n);
    const cluster = new ProcessCluster(cli, prepared.nodes);
    try {
      await cluster.throughProxies(options.founders);
      cluster.nodes.forEach((_, i) => cluster.startNode(i));
      await waitUntilReady(cluster.urls, readyMs);
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  get urls(): string[] {
    return this.nodes.map((node) => node.clientUrl);
  }

  /** Starts member `i` from its data directory; it must not be running. */
  startNode(i: number): void {
    const node = this.nodes[i];
    const pid = startNodeProcess(this.cli, node.config, node.log);
    this.pids[i] = pid;
    this.started.push({ pid, config: node.config });
  }

  /** Ends member `i` at once, as a crash does (SIGKILL), and waits until its process is gone. */
  async kill(i: number): Promise<void> {
    const pid = this.pids[i];
    if (pid === null) return;
    if (runsNode(pid, this.nodes[i].config)) process.kill(pid, 'SIGKILL');
    for (let tries = 0; tries < 100 && runsNode(pid, this.nodes[i].config); tries += 1) await sleep(20);
    this.pids[i] = null;
  }

  async restart(i: number, readyMs = 30_000): Promise<void> {
    this.startNode(i);
    await waitUntilReady([this.urls[i]], readyMs);
  }

  /** Starts every member that is not running, from its data directory; resolves once each serves clients. */
  async restartAll(readyMs = 30_000): Promise<void> {
    this.nodes.forEach((_, i) => {
      if (this.pids[i] === null) this.startNode(i);
    });
    await waitUntilReady(this.urls, readyMs);
  }

  /** The index of the member node 0 (or the first that answers) names as leader; at most `waitMs`. */
  async leaderIndex(waitMs = 10_000): Promise<number> {
    const until = Date.now() + waitMs;
    while (Date.now() < until) {
      for (const url of this.urls) {
        const status = await getJson<{ leader?: string | null }>(`${url}/v1/status`).catch(() => null);
        const at = this.nodes.findIndex((node) => node.id === status?.leader);
        if (at >= 0) return at;
      }
      await sleep(100);
    }
    throw new Error(`no leader within ${waitMs} ms`);
  }

  /** Each member's log height, 0 for one that does not answer. */
  async heights(): Promise<number[]> {
    return Promise.all(this.urls.map((url) => getJson<{ height: number }>(`${url}/v1/status`).then((status) => status.height, () => 0)));
  }

  /** Cuts member `i` off from every other: its proxies throw away what they carry. */
  partition(i: number): void {
    for (const proxy of this.proxiesOf(i)) proxy.partition();
  }

  heal(i: number): void {
    for (const proxy of this.proxiesOf(i)) proxy.heal();
  }

  /** Bytes the proxies of member `i` threw away while it was cut off. */
  discarded(i: number): number {
    return this.proxiesOf(i).reduce((sum, proxy) => sum + proxy.discarded, 0);
  }

  /** Ends every process this cluster started that still runs its member, then the proxies. */
  async close(): Promise<void> {
    for (const { pid, config } of this.started) if (runsNode(pid, config)) process.kill(pid, 'SIGKILL');
    this.pids.fill(null);
    await Promise.all([...this.proxies.values()].map((proxy) => proxy.close()));
    this.proxies.clear();
  }

  private proxiesOf(i: number): TcpProxy[] {
    const id = this.nodes[i].id;
    return [...this.proxies].filter(([pair]) => pair.split('>').includes(id)).map(([, proxy]) => proxy);
  }

  /** Points every member's dials at a proxy of its own in front of the member it dials (and names the founders, if given). */
  private async throughProxies(founders?: number): Promise<void> {
    for (const { config: file } of this.nodes) {
      const config = JSON.parse(readFileSync(file, 'utf8')) as NodeFileConfig;
      // The first `founders` nodes are the members at the log's start; the others join through it.
      if (founders !== undefined) config.founders = this.nodes.slice(0, founders).map((node) => node.id);
      for (const member of config.members) {
        if (member.id <= config.id) continue;
        const proxy = await TcpProxy.start(member.port);
        this.proxies.set(`${config.id}>${member.id}`, proxy);
        member.port = proxy.port;
      }
      writeFileSync(file, JSON.stringify(config, null, 2));
    }
  }
}

export async function getJson<T>(url: string, timeoutMs = 5_000): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  // Parsed here rather than by fetch, so that the objects are of this realm: jest gives a test a realm of its own, and deep equality compares prototypes.
  return JSON.parse(await response.text()) as T;
}
