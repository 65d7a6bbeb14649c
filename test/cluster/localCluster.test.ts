// Real processes on 127.0.0.1: `cluster up` starts four node processes of the
// built CLI (dist/cli.js, which `npm test` builds first), a client proposes
// through one of them, and every node's log holds the payload with a
// certificate `verify` accepts. Only the processes cluster.json names are
// ended, by pid.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readClusterFile, runsNode } from '../../server/localCluster';

jest.setTimeout(120_000);

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'local-cluster-'));

function cli(args: string[], timeoutMs = 60_000): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: timeoutMs });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

interface Entry {
  index: number;
  certificate: { signers: string[] } | null;
  value: { time: number; payloads: Array<{ payload: unknown }> };
}

async function logOf(url: string): Promise<Entry[]> {
  const entries: Entry[] = [];
  for (let from = 1, pages = 0; pages < 100; pages += 1) {
    const response = await fetch(`${url}/v1/log?from=${from}&limit=1000`, { signal: AbortSignal.timeout(5000) });
    const page = (await response.json()) as { entries: Entry[] };
    if (page.entries.length === 0) break;
    entries.push(...page.entries);
    from = page.entries[page.entries.length - 1].index + 1;
  }
  return entries;
}

/** Polls `check` every 100 ms for at most `timeoutMs`. */
async function eventually(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (let i = 0; i < 10_000 && Date.now() < until; i += 1) {
    // A pooled keep-alive connection to a node just stopped fails once: that is not the answer.
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`not within ${timeoutMs} ms`);
}

afterAll(() => {
  try {
    for (const node of readClusterFile(dir).nodes) if (node.pid !== null && runsNode(node.pid, node.config)) process.kill(node.pid, 'SIGKILL');
  } catch {
    // No cluster.json: nothing was started.
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('a local cluster of node processes', () => {
  it('cluster up --detach, propose through node 2, the payload is in every log with a certificate verify accepts; down and up again resumes', async () => {
    const up = cli(['cluster', 'up', '--nodes', '4', '--dir', dir, '--detach']);
    expect(up.stderr).toBe('');
    expect(up.status).toBe(0);
    const cluster = readClusterFile(dir);
    expect(cluster.nodes).toHaveLength(4);
    const urls = cluster.nodes.map((node) => node.clientUrl);

    const before = Date.now();
    const proposed = cli(['propose', '--url', urls[1], 'hello']);
    expect(proposed.status).toBe(0);
    const index = Number(/index (\d+)/.exec(proposed.stdout)?.[1]);
    expect(index).toBeGreaterThan(0);

    // Every node holds it at that index, with a certificate of at least a quorum (3 of 4).
    await eventually(async () => (await Promise.all(urls.map(logOf))).every((log) => log.some((entry) => entry.index === index)), 20_000);
    for (const url of urls) {
      const entry = (await logOf(url)).find((e) => e.index === index)!;
      expect(entry.value.payloads.map((p) => p.payload)).toContain('hello');
      // Stamped by its prover, on this machine's clock, once the proposal was there to batch.
      expect(entry.value.time).toBeGreaterThanOrEqual(before);
      expect(entry.value.time).toBeLessThanOrEqual(Date.now());
      expect(entry.certificate!.signers.length).toBeGreaterThanOrEqual(3);
    }
    const verified = cli(['verify', '--url', ...urls]);
    expect(verified.stdout).toMatch(/^VERIFIED: 4 nodes/);
    expect(verified.status).toBe(0);

    const status = (await (await fetch(`${urls[0]}/v1/status`)).json()) as { members: Array<{ reachable: boolean }>; leader: string | null };
    expect(status.members.every((member) => member.reachable)).toBe(true);
    const metrics = await (await fetch(`${urls[0]}/metrics`)).text();
    expect(metrics).toMatch(/consensus_transport_frames_sent_total\{node="n1"\} [1-9]/);
    expect(metrics).toMatch(/consensus_rounds_total\{node="n1"\} [1-9]/);
    // Counted inside the engine: hello's proposal settled on n2, which took it.
    const n2Metrics = await (await fetch(`${urls[1]}/metrics`)).text();
    expect(n2Metrics).toMatch(/consensus_proposals_total\{[^}]*outcome="committed"[^}]*\} 1\b/);

    const down = cli(['cluster', 'down', '--dir', dir]);
    expect(down.stdout).toMatch(/stopped 4 node\(s\)$/m);
    for (const node of cluster.nodes) expect(runsNode(node.pid!, node.config)).toBe(false);

    // Up again from the same directory: the same keys and ports, each node's log from its disk.
    expect(cli(['cluster', 'up', '--nodes', '4', '--dir', dir, '--detach']).status).toBe(0);
    await eventually(async () => (await Promise.all(urls.map(logOf))).every((log) => log.some((entry) => entry.index === index)), 20_000);
    const again = cli(['propose', '--url', urls[3], '{"n":2}']);
    expect(again.status).toBe(0);
    expect(Number(/index (\d+)/.exec(again.stdout)?.[1])).toBeGreaterThan(index);
    expect(cli(['cluster', 'down', '--dir', dir]).status).toBe(0);
  });
});
