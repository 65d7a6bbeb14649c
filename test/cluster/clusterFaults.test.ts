// Four node processes of the built CLI on 127.0.0.1 under client load: a
// follower and later the leader are killed with SIGKILL and started again
// from their data directories, then the leader is cut off from the others by
// the TCP proxies every connection between members runs through, and the
// cut heals. Afterwards every node's log is the same,
// every acknowledged proposal is in it exactly once at the index it was
// acknowledged with, and every certificate verifies against the members'
// keys. Only the processes this test started are ended, by pid.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchCommitLogs } from '../../cli/remoteLogs';
import { verifyCommitLogs } from '../../cli/verify';
import type { NodeFileConfig } from '../../server/config';
import { prepareCluster, runsNode, startNodeProcess, waitUntilReady } from '../../server/localCluster';
import { TcpProxy } from '../support/tcpProxy';

jest.setTimeout(300_000);

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
const PROPOSALS = 1000;
const CLIENTS = 16;
const dir = mkdtempSync(join(tmpdir(), 'cluster-faults-'));
const started: Array<{ pid: number; config: string }> = [];
/** The proxy each connection between two members runs through, by `dialer>dialed`: the lower id dials. */
const proxies = new Map<string, TcpProxy>();

afterAll(async () => {
  for (const { pid, config } of started) if (runsNode(pid, config)) process.kill(pid, 'SIGKILL');
  await Promise.all([...proxies.values()].map((proxy) => proxy.close()));
  rmSync(dir, { recursive: true, force: true });
});

/** Points every member's dials at a proxy of its own in front of the member it dials. */
async function throughProxies(configs: readonly string[]): Promise<void> {
  for (const file of configs) {
    const config = JSON.parse(readFileSync(file, 'utf8')) as NodeFileConfig;
    for (const member of config.members) {
      if (member.id <= config.id) continue;
      const proxy = await TcpProxy.start(member.port);
      proxies.set(`${config.id}>${member.id}`, proxy);
      member.port = proxy.port;
    }
    writeFileSync(file, JSON.stringify(config, null, 2));
  }
}

/** The proxies on the connections between `id` and every other member. */
const proxiesOf = (id: string) => [...proxies].filter(([pair]) => pair.split('>').includes(id)).map(([, proxy]) => proxy);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return (await response.json()) as T;
}

describe('a cluster of node processes under load, with crashes and a partition', () => {
  it('keeps one log: a follower and then the leader killed and restarted, and the leader cut off and healed, lose nothing acknowledged', async () => {
    const cluster = await prepareCluster(dir, 4);
    await throughProxies(cluster.nodes.map((node) => node.config));
    const start = (i: number) => {
      const node = cluster.nodes[i];
      node.pid = startNodeProcess(CLI, node.config, node.log);
      started.push({ pid: node.pid, config: node.config });
    };
    cluster.nodes.forEach((_, i) => start(i));
    const urls = cluster.nodes.map((node) => node.clientUrl);
    await waitUntilReady(urls, 30_000);
    const down = new Set<number>();

    const acknowledged = new Map<string, number>();
    let next = 0;
    let failures = 0;
    const client = async (c: number) => {
      for (let target = c % 4, tries = 0; next < PROPOSALS && tries < 20 * PROPOSALS; tries += 1) {
        if (down.has(target)) target = (target + 1) % 4;
        const payload = `p-${next}`;
        next += 1;
        try {
          const response = await fetch(`${urls[target]}/v1/propose`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ payload, timeoutMs: 20_000 }),
            signal: AbortSignal.timeout(30_000),
          });
          const answer = (await response.json()) as { index?: number };
          if (response.status === 200) acknowledged.set(payload, answer.index!);
          else failures += 1;
        } catch {
          // A killed node's clients see their connection end: not acknowledged.
          failures += 1;
          target = (target + 1) % 4;
        }
      }
    };
    const load = Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));

    const kill = async (i: number) => {
      down.add(i);
      process.kill(cluster.nodes[i].pid!, 'SIGKILL');
      await sleep(1500);
      start(i);
      await waitUntilReady([urls[i]], 30_000);
      down.delete(i);
    };
    const leaderIndex = async () => {
      for (let i = 0; i < 100; i += 1) {
        const { leader } = await getJson<{ leader: string | null }>(`${urls[0]}/v1/status`).catch(() => ({ leader: null }));
        if (leader !== null) return cluster.nodes.findIndex((node) => node.id === leader);
        await sleep(100);
      }
      throw new Error('no leader');
    };
    while (acknowledged.size < PROPOSALS / 4) await sleep(50);
    const leader = await leaderIndex();
    await kill((leader + 1) % 4);
    while (acknowledged.size < PROPOSALS / 2) await sleep(50);
    await kill(await leaderIndex());
    while (acknowledged.size < (PROPOSALS * 3) / 4) await sleep(50);

    // The leader is cut off for longer than a peer's silence is tolerated; the others go on without it.
    const cutOff = cluster.nodes[await leaderIndex()].id;
    const others = urls.filter((_, i) => cluster.nodes[i].id !== cutOff);
    const heightOf = async (url: string) => getJson<{ height: number }>(`${url}/v1/status`).then((s) => s.height, () => 0);
    const before = Math.max(...(await Promise.all(others.map(heightOf))));
    for (const proxy of proxiesOf(cutOff)) proxy.partition();
    await sleep(7000);
    const during = Math.max(...(await Promise.all(others.map(heightOf))));
    for (const proxy of proxiesOf(cutOff)) proxy.heal();
    expect(during).toBeGreaterThan(before);
    expect(proxiesOf(cutOff).reduce((sum, proxy) => sum + proxy.discarded, 0)).toBeGreaterThan(0);
    await load;
    expect(acknowledged.size).toBeGreaterThan(PROPOSALS * 0.9);

    // Every node reaches the highest acknowledged index, then the logs are compared.
    const highest = Math.max(...acknowledged.values());
    const heights = async () => Promise.all(urls.map((url) => getJson<{ height: number }>(`${url}/v1/status`).then((s) => s.height, () => 0)));
    for (let i = 0; i < 600 && (await heights()).some((height) => height < highest); i += 1) await sleep(100);
    // A restarted node fills the ranks it skipped from its peers' certified entries; give it time to.
    const lacking = (logs: Awaited<ReturnType<typeof fetchCommitLogs>>) =>
      Object.entries(logs.nodes).flatMap(([node, entries]) => {
        const indices = new Set(entries.map((entry) => entry.index));
        return Array.from({ length: highest }, (_, i) => i + 1)
          .filter((index) => !indices.has(index))
          .map((index) => `${node} lacks index ${index}`);
      });
    let logs = await fetchCommitLogs(urls);
    for (let i = 0; i < 300 && lacking(logs).length > 0; i += 1) {
      await sleep(100);
      logs = await fetchCommitLogs(urls);
    }
    const verdict = verifyCommitLogs(logs);
    expect(verdict).toMatchObject({ ok: true, nodes: 4 });

    const byIndex = new Map<number, string>();
    for (const entries of Object.values(logs.nodes)) {
      for (const entry of entries) {
        const known = byIndex.get(entry.index);
        if (known !== undefined) expect(entry.payload.hash).toBe(known);
        byIndex.set(entry.index, entry.payload.hash);
      }
    }
    // Each node's log, from 1 to the highest acknowledged index, is whole (a restarted node fills what it missed).
    expect(lacking(logs).slice(0, 5)).toEqual([]);
    const seen = new Map<string, number[]>();
    for (const entry of logs.nodes[cluster.nodes[0].id]) {
      for (const text of entry.payload.entries) {
        const match = /^c:[^:]+:"(p-\d+)"$/.exec(text);
        if (match !== null) seen.set(match[1], [...(seen.get(match[1]) ?? []), entry.index]);
      }
    }
    for (const [payload, index] of acknowledged) expect([payload, seen.get(payload)]).toEqual([payload, [index]]);
    for (const [payload, indices] of seen) expect([payload, indices.length]).toEqual([payload, 1]);
    process.stdout.write(`cluster faults: ${acknowledged.size} acknowledged, ${failures} failed, height ${highest}, ${before} → ${during} while ${cutOff} was cut off\n`);
  });
});
