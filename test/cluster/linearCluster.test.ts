// Real processes with `"messaging": "linear"` in every node's configuration
// file: the transport carries each vote and confirmation to its aggregator
// alone, and the cluster commits with certificates `verify` accepts.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareCluster, readClusterFile, runsNode } from '../../server/localCluster';

jest.setTimeout(120_000);

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'linear-cluster-'));

function cli(args: string[], timeoutMs = 60_000): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: timeoutMs });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

async function holds(url: string, index: number): Promise<boolean> {
  const response = await fetch(`${url}/v1/log?from=${index}&limit=1`, { signal: AbortSignal.timeout(5000) });
  const page = (await response.json()) as { entries: Array<{ index: number; certificate: { signers: string[] } | null }> };
  return page.entries.some((entry) => entry.index === index && (entry.certificate?.signers.length ?? 0) >= 3);
}

afterAll(() => {
  try {
    for (const node of readClusterFile(dir).nodes) if (node.pid !== null && runsNode(node.pid, node.config)) process.kill(node.pid, 'SIGKILL');
  } catch {
    // No cluster.json: nothing was started.
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('a local cluster in linear messaging', () => {
  it('commits a client payload on every node, with certificates verify accepts', async () => {
    // `cluster up` keeps the configuration files a directory already holds.
    const prepared = await prepareCluster(dir, 4);
    for (const node of prepared.nodes) {
      const config = JSON.parse(readFileSync(node.config, 'utf8')) as Record<string, unknown>;
      writeFileSync(node.config, `${JSON.stringify({ ...config, messaging: 'linear' }, null, 2)}\n`);
    }
    const up = cli(['cluster', 'up', '--nodes', '4', '--dir', dir, '--detach']);
    expect(up.stderr).toBe('');
    expect(up.status).toBe(0);
    const urls = readClusterFile(dir).nodes.map((node) => node.clientUrl);

    const proposed = cli(['propose', '--url', urls[2], 'linear']);
    expect(proposed.status).toBe(0);
    const index = Number(/index (\d+)/.exec(proposed.stdout)?.[1]);
    expect(index).toBeGreaterThan(0);
    const until = Date.now() + 20_000;
    while (Date.now() < until && !(await Promise.all(urls.map((url) => holds(url, index).catch(() => false)))).every(Boolean)) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await Promise.all(urls.map((url) => holds(url, index)))).toEqual([true, true, true, true]);
    const verified = cli(['verify', '--url', ...urls]);
    expect(verified.stdout).toMatch(/^VERIFIED: 4 nodes/);
    expect(cli(['cluster', 'down', '--dir', dir]).status).toBe(0);
  });
});
