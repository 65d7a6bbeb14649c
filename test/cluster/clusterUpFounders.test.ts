// Real processes on 127.0.0.1: `cluster up --founders 1` starts a lone founder
// and a node waiting outside, `members add` admits it, and from the rank the
// change takes effect every commit needs both (a quorum of two is two): the
// joiner must have read its admission, learned its first rank's provers and
// voted. Only the processes cluster.json names are ended, by pid.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readClusterFile, runsNode } from '../../server/localCluster';

jest.setTimeout(120_000);

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'cluster-founders-'));

function cli(args: string[], timeoutMs = 60_000): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: timeoutMs });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

afterAll(() => {
  try {
    for (const node of readClusterFile(dir).nodes) if (node.pid !== null && runsNode(node.pid, node.config)) process.kill(node.pid, 'SIGKILL');
  } catch {
    // No cluster.json: nothing was started.
  }
  rmSync(dir, { recursive: true, force: true });
});

interface MembersView {
  current: { from: number; members: string[]; quorum: number };
}

describe('cluster up --founders', () => {
  it('grows a lone founder to two members with members add, and both then sign every commit', async () => {
    expect(cli(['cluster', 'up', '--nodes', '2', '--founders', '3', '--dir', dir, '--detach']).status).toBe(2);
    const up = cli(['cluster', 'up', '--nodes', '2', '--founders', '1', '--dir', dir, '--detach']);
    expect(up.status).toBe(0);
    const urls = readClusterFile(dir).nodes.map((node) => node.clientUrl);
    const listed = cli(['members', 'list', '--url', urls[1]]);
    expect(listed.status).toBe(0);
    expect((JSON.parse(listed.stdout) as MembersView).current).toMatchObject({ members: ['n1'], quorum: 1 });

    const added = cli(['members', 'add', 'n2', '--url', urls[0]]);
    expect(added.status).toBe(0);
    const { effectiveFrom } = JSON.parse(added.stdout) as { index: number; effectiveFrom: number };

    // A payload through the joiner, acknowledged at an index both members had to sign.
    let index = 0;
    for (let tries = 0; tries < 60 && index < effectiveFrom; tries += 1) {
      const proposed = cli(['propose', '--url', urls[1], JSON.stringify({ try: tries })]);
      expect(proposed.status).toBe(0);
      index = Number(/index (\d+)/.exec(proposed.stdout)?.[1]);
    }
    expect(index).toBeGreaterThanOrEqual(effectiveFrom);
    const log = (await (await fetch(`${urls[0]}/v1/log?from=${index}&limit=1`, { signal: AbortSignal.timeout(5000) })).json()) as {
      entries: Array<{ index: number; certificate: { signers: string[] } | null }>;
    };
    expect(log.entries[0].certificate?.signers.slice().sort()).toEqual(['n1', 'n2']);
    for (const url of urls) expect((JSON.parse(cli(['members', 'list', '--url', url]).stdout) as MembersView).current).toMatchObject({ members: ['n1', 'n2'], quorum: 2 });

    // The directory keeps its founders: up again with another answer is refused.
    expect(cli(['cluster', 'down', '--dir', dir]).status).toBe(0);
    const mismatch = cli(['cluster', 'up', '--nodes', '2', '--dir', dir, '--detach']);
    expect(mismatch.status).not.toBe(0);
    expect(mismatch.stderr).toMatch(/with founders/);
  });
});
