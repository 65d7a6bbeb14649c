// Real processes on 127.0.0.1 at sizes other than four: a quorum rule right
// only for n = 3f + 1 shows at n = 1, 2, 3, 5 and 7. Each cluster takes
// proposals through every member, and every log holds each one once, at the
// index it was acknowledged with, under certificates `verify` accepts. Only
// the processes cluster.json names are ended, by pid.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchCommitLogs } from '../../cli/remoteLogs';
import { verifyCommitLogs } from '../../cli/verify';
import { clusterDown, clusterUp, readClusterFile, runsNode } from '../../server/localCluster';

jest.setTimeout(240_000);

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
const root = mkdtempSync(join(tmpdir(), 'cluster-sizes-'));
const dirs: string[] = [];

afterAll(async () => {
  for (const dir of dirs) {
    const left = readClusterFile(dir).nodes.filter((node) => node.pid !== null && runsNode(node.pid, node.config));
    for (const node of left) process.kill(node.pid!, 'SIGKILL');
  }
  rmSync(root, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each([1, 2, 3, 5, 7])('a cluster of %i node processes', (n) => {
  it('commits what every member is given, once each, in every log, with certificates that verify', async () => {
    const dir = join(root, `n${n}`);
    dirs.push(dir);
    const cluster = await clusterUp(dir, n, CLI, 60_000);
    const urls = cluster.nodes.map((node) => node.clientUrl);
    try {
      const payloads = urls.flatMap((_, i) => [`size-${n}-via-${i}-a`, `size-${n}-via-${i}-b`]);
      const answers = await Promise.all(
        payloads.map(async (payload, i) => {
          const response = await fetch(`${urls[Math.floor(i / 2)]}/v1/propose`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ payload, timeoutMs: 30_000 }),
            signal: AbortSignal.timeout(40_000),
          });
          return [payload, response.status, ((await response.json()) as { index?: number }).index] as const;
        }),
      );
      expect(answers.map(([payload, status]) => [payload, status])).toEqual(payloads.map((payload) => [payload, 200]));
      const highest = Math.max(...answers.map(([, , index]) => index!));

      // Every member reaches the highest acknowledged index, then the logs are compared.
      let logs = await fetchCommitLogs(urls);
      const short = () => Object.values(logs.nodes).some((entries) => (entries.at(-1)?.index ?? 0) < highest);
      for (let i = 0; i < 200 && short(); i += 1) {
        await sleep(100);
        logs = await fetchCommitLogs(urls);
      }
      expect(verifyCommitLogs(logs)).toMatchObject({ ok: true, nodes: n });
      for (const entries of Object.values(logs.nodes)) {
        const seen = new Map<string, number[]>();
        for (const entry of entries) {
          for (const text of entry.payload.entries) {
            const match = /^c:[^:]+:"(size-[^"]+)"$/.exec(text);
            if (match !== null) seen.set(match[1], [...(seen.get(match[1]) ?? []), entry.index]);
          }
        }
        for (const [payload, , index] of answers) expect([payload, seen.get(payload)]).toEqual([payload, [index]]);
      }
    } finally {
      await clusterDown(dir);
    }
  });
});
