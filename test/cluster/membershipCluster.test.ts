// A membership change from 4 to 5 members and back, under load, with five
// node processes of the built CLI on 127.0.0.1 (every connection through a
// TCP proxy the test controls). n1–n4 found the cluster; n5 runs from the
// start, following the log, and is added through POST /v1/members; then,
// with n2 cut off, every quorum of the five needs n5; then n4 is removed.
// Clients propose throughout. Afterwards every log agrees, every certificate
// is a quorum of the membership its rank had, the joiner signs only after
// joining and the removed node never after leaving, and every acknowledged
// proposal is in the log at the index it was acknowledged with. Only the
// processes this test started are ended, by pid.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientEntry } from '../../node/clientApi';

type Signed = ClientEntry & { certificate: { signers: string[] } | null };
import { getJson, ProcessCluster } from '../support/processCluster';

// About 40 s on 2 cores; the bound leaves more than three times that.
jest.setTimeout(150_000);

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
const root = mkdtempSync(join(tmpdir(), 'membership-cluster-'));
let cluster: ProcessCluster | null = null;

afterAll(async () => {
  await cluster?.close();
  rmSync(root, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface MembersView {
  rank: number;
  current: { from: number; members: string[]; quorum: number };
  scheduled: Array<{ from: number; members: string[] }>;
}

async function post(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: response.status, body: JSON.parse(await response.text()) as Record<string, unknown> };
}

/** Every entry of a node's log, through /v1/log, page by page. */
async function logOf(url: string): Promise<Signed[]> {
  const entries: Signed[] = [];
  for (let from = 1; ; ) {
    const page = (await getJson<{ entries: Signed[] }>(`${url}/v1/log?from=${from}&limit=1000`)).entries;
    if (page.length === 0) return entries;
    entries.push(...page);
    from = page[page.length - 1].index + 1;
  }
}

/** Clients proposing to the nodes in `targets`, one request in flight each, until stopped; what was acknowledged, by token. */
function load(urls: string[], targets: () => number[]) {
  const acknowledged = new Map<string, number>();
  let refused = 0;
  let stopped = false;
  let counter = 0;
  const client = async (c: number) => {
    while (!stopped) {
      const at = targets();
      const url = urls[at[(counter + c) % at.length]];
      const token = `t${c}-${counter++}`;
      const answer = await post(`${url}/v1/propose`, { payload: { token }, timeoutMs: 10_000 }).catch(() => null);
      if (answer?.status === 200) acknowledged.set(token, answer.body.index as number);
      else {
        refused += 1;
        await sleep(50);
      }
    }
  };
  const running = Promise.all([0, 1, 2, 3].map(client));
  return {
    acknowledged,
    refused: () => refused,
    stop: async () => {
      stopped = true;
      await running;
    },
  };
}

describe('membership change with node processes', () => {
  it('4 → 5 → 4 under load: agreement, quorums by the membership of each rank, nothing acknowledged lost', async () => {
    cluster = await ProcessCluster.start(CLI, root, 5, 30_000, { founders: 4 });
    const c = cluster;
    const [n1, n2, n3, n4, n5] = c.urls;
    const members = async (url: string) => getJson<MembersView>(`${url}/v1/members`);
    const height = async (url: string) => (await getJson<{ height: number }>(`${url}/v1/status`)).height;
    const waitFor = async (what: string, done: () => Promise<boolean>, ms = 30_000) => {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        if (await done().catch(() => false)) return;
        await sleep(100);
      }
      throw new Error(`not within ${ms} ms: ${what}`);
    };

    expect((await members(n1)).current).toMatchObject({ members: ['n1', 'n2', 'n3', 'n4'], quorum: 3 });
    // Bad input is refused with a clear error and changes nothing.
    expect((await post(`${n1}/v1/members`, { op: 'add', id: 'n9' })).body.error).toBe('unknown_node');
    expect((await post(`${n1}/v1/members`, { op: 'remove', id: 'n5' })).body.error).toBe('not_a_member');
    expect((await post(`${n1}/v1/members`, { op: 'promote', id: 'n5' })).status).toBe(400);

    let targets = [0, 1, 2, 3];
    const clients = load(c.urls, () => targets);
    await waitFor('a few heights under load', async () => (await height(n1)) >= 5);

    const added = await post(`${n2}/v1/members`, { op: 'add', id: 'n5', timeoutMs: 20_000 });
    expect(added.status).toBe(200);
    const joined = added.body.effectiveFrom as number;
    expect(joined).toBe((added.body.index as number) + 17);
    await waitFor('every node past the join', async () => (await Promise.all(c.urls.map(height))).every((h) => h >= joined + 5));
    for (const url of c.urls) expect((await members(url)).current).toMatchObject({ members: ['n1', 'n2', 'n3', 'n4', 'n5'], quorum: 4 });
    targets = [0, 1, 2, 3, 4];

    // With n2 cut off, four of five remain: no quorum without n5.
    c.partition(1);
    const cutAt = await height(n1);
    await waitFor('progress without n2', async () => (await height(n1)) >= cutAt + 5);
    c.heal(1);

    // The joiner crashes and restarts from its data directory: it is a member still, from its own stored log.
    await c.kill(4);
    const killedAt = await height(n1);
    await waitFor('progress while n5 is down', async () => (await height(n1)) >= killedAt + 3);
    await c.restart(4);
    expect((await members(n5)).current).toMatchObject({ members: ['n1', 'n2', 'n3', 'n4', 'n5'], quorum: 4 });
    const restartedAt = await height(n1);

    const removed = await post(`${n5}/v1/members`, { op: 'remove', id: 'n4', timeoutMs: 20_000 });
    expect(removed.status).toBe(200);
    const left = removed.body.effectiveFrom as number;
    targets = [0, 1, 2, 4];
    const stay = [n1, n2, n3, n5];
    await waitFor('the others past the removal', async () => (await Promise.all(stay.map(height))).every((h) => h >= left + 5));
    for (const url of stay) expect((await members(url)).current).toMatchObject({ members: ['n1', 'n2', 'n3', 'n5'], quorum: 3 });
    await clients.stop();

    // Every log agrees where they overlap; n4's ends where it stopped hearing of the cluster.
    const logs = await Promise.all(c.urls.map(logOf));
    const reference = logs[0];
    for (const log of logs.slice(1)) {
      for (const entry of log) {
        const mine = reference.find((candidate) => candidate.index === entry.index);
        if (mine !== undefined) expect({ index: entry.index, digest: entry.valueDigest }).toEqual({ index: mine.index, digest: mine.valueDigest });
      }
    }
    // Certificates: a quorum of the membership of their rank, signed by its members only.
    const membersAt = (rank: number) =>
      rank >= left ? ['n1', 'n2', 'n3', 'n5'] : rank >= joined ? ['n1', 'n2', 'n3', 'n4', 'n5'] : ['n1', 'n2', 'n3', 'n4'];
    const quorumAt = (rank: number) => (membersAt(rank).length === 5 ? 4 : 3);
    for (const entry of reference) {
      const signers = entry.certificate?.signers ?? [];
      expect({ rank: entry.rank, outsiders: signers.filter((s) => !membersAt(entry.rank).includes(s)) }).toEqual({ rank: entry.rank, outsiders: [] });
      expect(signers.length).toBeGreaterThanOrEqual(quorumAt(entry.rank));
    }
    expect(reference.some((entry) => entry.rank >= joined && entry.certificate?.signers.includes('n5'))).toBe(true);
    expect(reference.some((entry) => entry.rank > restartedAt && entry.certificate?.signers.includes('n5'))).toBe(true);
    expect(reference.length).toBeGreaterThan(left + 5);
    // Every acknowledged proposal is in the log, at the index it was acknowledged with.
    const byIndex = new Map(reference.map((entry) => [entry.index, entry]));
    const payloadsAt = (index: number) => ((byIndex.get(index)?.value as { payloads?: Array<{ payload: { token?: string } }> })?.payloads ?? []).map((p) => p.payload.token);
    expect(clients.acknowledged.size).toBeGreaterThan(20);
    const lost = [...clients.acknowledged].filter(([token, index]) => !payloadsAt(index).includes(token));
    expect(lost).toEqual([]);
  });
});
