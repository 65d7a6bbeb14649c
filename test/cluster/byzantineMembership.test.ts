// Five node processes of the built CLI on 127.0.0.1, n1–n4 the founders and
// n4 started Byzantine (it equivocates with its own key, following the
// membership through the log as an honest node would). n5 is added through
// POST /v1/members while n4 misbehaves; from the rank the change takes effect
// every quorum is four of five, so n5's votes count. The honest logs are
// one log whose certificates are quorums of their rank's members, and every
// acknowledged proposal is in it once. Only the processes this test started
// are ended, by pid.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchCommitLogs } from '../../cli/remoteLogs';
import { prepareCluster, runsNode, startNodeProcess, waitUntilReady } from '../../server/localCluster';

jest.setTimeout(90_000);

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'byzantine-membership-'));
const started: Array<{ pid: number; config: string }> = [];

afterAll(() => {
  for (const { pid, config } of started) if (runsNode(pid, config)) process.kill(pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function post(url: string, body: unknown, timeoutMs = 30_000): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('a membership change with a Byzantine founder process', () => {
  it('adds n5 while n4 equivocates: one log, quorums of each rank\'s members, nothing acknowledged lost', async () => {
    const cluster = await prepareCluster(dir, 5, 4);
    const byzantine = cluster.nodes[3];
    const config = JSON.parse(readFileSync(byzantine.config, 'utf8')) as Record<string, unknown>;
    writeFileSync(byzantine.config, JSON.stringify({ ...config, byzantine: 'equivocate' }));
    for (const node of cluster.nodes) {
      node.pid = startNodeProcess(CLI, node.config, node.log);
      started.push({ pid: node.pid, config: node.config });
    }
    await waitUntilReady(
      cluster.nodes.map((node) => node.clientUrl),
      30_000,
      () => started.every(({ pid, config: file }) => runsNode(pid, file)),
    );
    const honest = [0, 1, 2, 4].map((i) => cluster.nodes[i].clientUrl);
    const [n1, n2, n3, n5] = honest;

    const acknowledged = new Map<string, number>();
    const propose = async (url: string, payload: string) => {
      const answer = await post(`${url}/v1/propose`, { payload, timeoutMs: 20_000 }, 25_000);
      if (answer.status === 200) acknowledged.set(payload, answer.body.index as number);
    };
    await Promise.all([propose(n1, 'before-1'), propose(n2, 'before-2')]);
    const added = await post(`${n3}/v1/members`, { op: 'add', id: 'n5', timeoutMs: 20_000 });
    expect(added.status).toBe(200);
    const effectiveFrom = added.body.effectiveFrom as number;
    // Through every honest node, n5 among them, until the log is past the change.
    for (let round = 0; round < 40 && Math.max(0, ...acknowledged.values()) < effectiveFrom + 2; round += 1) {
      await Promise.all(honest.map((url, i) => propose(url, `after-${round}-${i}`)));
    }
    expect(Math.max(...acknowledged.values())).toBeGreaterThanOrEqual(effectiveFrom + 2);

    const target = Math.max(...acknowledged.values());
    let logs = await fetchCommitLogs(honest);
    const short = () => Object.values(logs.nodes).some((entries) => entries.length < target);
    for (let i = 0; i < 200 && short(); i += 1) {
      await sleep(100);
      logs = await fetchCommitLogs(honest);
    }
    expect(short()).toBe(false);

    // One log, each certificate a quorum of its rank's members and signed by them only.
    const membersAt = (index: number) => (index >= effectiveFrom ? ['n1', 'n2', 'n3', 'n4', 'n5'] : ['n1', 'n2', 'n3', 'n4']);
    const byIndex = new Map<number, string>();
    for (const entries of Object.values(logs.nodes)) {
      for (const entry of entries) {
        const known = byIndex.get(entry.index);
        if (known !== undefined) expect([entry.index, entry.payload.hash]).toEqual([entry.index, known]);
        byIndex.set(entry.index, entry.payload.hash);
        const signers = entry.certificate?.signers ?? [];
        expect({ index: entry.index, outsiders: signers.filter((signer) => !membersAt(entry.index).includes(signer)) }).toEqual({ index: entry.index, outsiders: [] });
        expect({ index: entry.index, enough: signers.length >= (entry.index >= effectiveFrom ? 4 : 3) }).toEqual({ index: entry.index, enough: true });
      }
    }
    const seen = new Map<string, number[]>();
    for (const entry of logs.nodes.n1) {
      for (const text of entry.payload.entries) {
        const match = /^c:[^:]+:"((?:before|after)-[\d-]+)"$/.exec(text);
        if (match !== null) seen.set(match[1], [...(seen.get(match[1]) ?? []), entry.index]);
      }
    }
    for (const [payload, index] of acknowledged) expect([payload, seen.get(payload)]).toEqual([payload, [index]]);
    // n5 signs after it joined.
    expect(logs.nodes.n1.filter((entry) => entry.index >= effectiveFrom).some((entry) => entry.certificate?.signers.includes('n5'))).toBe(true);
  });
});
