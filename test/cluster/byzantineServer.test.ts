// Four node processes of the built CLI on 127.0.0.1, one of them (n4)
// started Byzantine: it equivocates with its own key, as a proposer two
// frames for one height to two halves of the cluster, as a voter two votes.
// Proposals go through the three honest nodes. Afterwards their logs are one
// log whose certificates verify, every acknowledged proposal is in it once,
// and the frames of n4 they committed are one of the two n4 said it sent for
// that height. Only the processes this test started are ended, by pid.
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchCommitLogs } from '../../cli/remoteLogs';
import { verifyCommitLogs } from '../../cli/verify';
import { prepareCluster, runsNode, startNodeProcess, waitUntilReady } from '../../server/localCluster';

jest.setTimeout(60_000);

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
const PROPOSALS = 6;
const dir = mkdtempSync(join(tmpdir(), 'byzantine-server-'));
const started: Array<{ pid: number; config: string }> = [];

afterAll(() => {
  for (const { pid, config } of started) if (runsNode(pid, config)) process.kill(pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return (await response.json()) as T;
}

function logLines(file: string): Array<{ level: number; msg: string }> {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg: string });
}

describe('a node process started Byzantine', () => {
  it('equivocates over the wire with its own key; the three honest nodes keep one verified log', async () => {
    const cluster = await prepareCluster(dir, 4);
    const byzantine = cluster.nodes[3];
    const config = JSON.parse(readFileSync(byzantine.config, 'utf8')) as Record<string, unknown>;
    writeFileSync(byzantine.config, JSON.stringify({ ...config, byzantine: 'equivocate' }));
    for (const node of cluster.nodes) {
      node.pid = startNodeProcess(CLI, node.config, node.log);
      started.push({ pid: node.pid, config: node.config });
    }
    const honest = cluster.nodes.slice(0, 3);
    const urls = honest.map((node) => node.clientUrl);
    await waitUntilReady(
      cluster.nodes.map((node) => node.clientUrl),
      30_000,
      () => started.every(({ pid, config: file }) => runsNode(pid, file)),
    );

    // It serves its status, says what it is, and takes no proposals.
    const status = await getJson<{ id: string; role: string; byzantine: string }>(`${byzantine.clientUrl}/v1/status`);
    expect(status).toMatchObject({ id: 'n4', role: 'byzantine', byzantine: 'equivocate' });
    const refused = await fetch(`${byzantine.clientUrl}/v1/propose`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ payload: 'to n4' }),
      signal: AbortSignal.timeout(5000),
    });
    expect(refused.status).toBe(503);

    const acknowledged = new Map<string, number>();
    await Promise.all(
      Array.from({ length: PROPOSALS }, async (_, i) => {
        const payload = `p-${i}`;
        const response = await fetch(`${urls[i % 3]}/v1/propose`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ payload, timeoutMs: 20_000 }),
          signal: AbortSignal.timeout(25_000),
        });
        const answer = (await response.json()) as { index?: number };
        if (response.status === 200) acknowledged.set(payload, answer.index!);
      }),
    );
    expect(acknowledged.size).toBe(PROPOSALS);

    // At least up to height 4: at height 3, n4 is the first prover, so the honest nodes chose between its two frames.
    const target = Math.max(4, ...acknowledged.values());
    let logs = await fetchCommitLogs(urls);
    const short = () => Object.values(logs.nodes).some((entries) => entries.length < target);
    for (let i = 0; i < 200 && short(); i += 1) {
      await sleep(100);
      logs = await fetchCommitLogs(urls);
    }
    expect(short()).toBe(false);
    expect(verifyCommitLogs(logs)).toMatchObject({ ok: true, nodes: 3 });

    // One log: the same frame at every index any two honest nodes hold.
    const byIndex = new Map<number, string>();
    for (const entries of Object.values(logs.nodes)) {
      for (const entry of entries) {
        const known = byIndex.get(entry.index);
        if (known !== undefined) expect([entry.index, entry.payload.hash]).toEqual([entry.index, known]);
        byIndex.set(entry.index, entry.payload.hash);
      }
    }
    const seen = new Map<string, number[]>();
    for (const entry of logs.nodes.n1) {
      for (const text of entry.payload.entries) {
        const match = /^c:[^:]+:"(p-\d+)"$/.exec(text);
        if (match !== null) seen.set(match[1], [...(seen.get(match[1]) ?? []), entry.index]);
      }
    }
    for (const [payload, index] of acknowledged) expect([payload, seen.get(payload)]).toEqual([payload, [index]]);

    // n4 says it is Byzantine, and what it sent: two different frames for one height, each to half the cluster.
    const lines = logLines(byzantine.log);
    expect(lines.some((line) => line.level === 40 && /this node is Byzantine \(equivocate\)/.test(line.msg))).toBe(true);
    const pairs = new Map<number, Set<string>>();
    for (const line of lines) {
      const match = /^n4 equivocates proposals ([0-9a-f]+) \/ ([0-9a-f]+) at (\d+)\.\d+$/.exec(line.msg);
      if (match === null) continue;
      expect(match[1]).not.toBe(match[2]);
      const height = Number(match[3]);
      pairs.set(height, new Set([...(pairs.get(height) ?? []), match[1], match[2]]));
    }
    expect(pairs.size).toBeGreaterThan(0);
    expect(lines.filter((line) => /^n4 equivocates votes /.test(line.msg)).length).toBeGreaterThan(0);
    // What the honest nodes committed of n4 is one side of such a pair: an honest n4 would have proved another frame.
    const ofN4 = logs.nodes.n1.filter((entry) => entry.payload.prover === 'n4');
    expect(ofN4.length).toBeGreaterThan(0);
    for (const entry of ofN4) expect([entry.index, pairs.get(entry.index)?.has(entry.payload.hash)]).toEqual([entry.index, true]);

    const metrics = await (await fetch(`${byzantine.clientUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    expect(metrics).toMatch(/consensus_byzantine_messages_sent_total\{node="n4",kind="proposal"\} [1-9]/);

    // Every process stops cleanly on SIGTERM, the Byzantine one included.
    for (const { pid } of started) process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && started.some(({ pid, config: file }) => runsNode(pid, file)); i += 1) await sleep(100);
    expect(started.filter(({ pid, config: file }) => runsNode(pid, file))).toEqual([]);
    expect(logLines(byzantine.log).some((line) => line.msg === 'node stopped')).toBe(true);
  });
});
