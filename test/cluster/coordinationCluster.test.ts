// The coordination services served by four node processes of the built CLI
// on 127.0.0.1, each connection between members through a TCP proxy the test
// controls. Seeded clients (test/support/services/workload.ts) spread over
// the nodes put and read keys and take fenced locks over the client API
// while a follower is killed with SIGKILL and restarted from its data
// directory and the leader is cut off and healed; in a second cluster, all
// four are killed at once under load and restarted, and clients go on.
// Afterwards every node's log over /v1/log is the same, the clients'
// history is checked against it (linearizable KV, fencing kept), every
// acknowledged command is in it at the index it was acknowledged with, and
// every node holds the same state. Only the processes this test started are
// ended, by pid.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { fetchCommitLogs } from '../../cli/remoteLogs';
import { verifyCommitLogs } from '../../cli/verify';
import { serviceCommandsIn } from '../../examples/ledger/serviceEntries';
import type { LedgerFrame } from '../../examples/ledger/types';
import { commands, queries, type CoordinationState } from '../../services';
import type { CoordinationPort, QueryOutcome, SubmitOutcome } from '../../services/port';
import { getJson, ProcessCluster } from '../support/processCluster';
import { checkServices, type ServicesVerdict } from '../support/services/checkedRun';
import { replay, type CommittedEntry } from '../support/services/committedLog';
import { failoverPort } from '../support/services/httpPort';
import { ServiceRecorder } from '../support/services/recorder';
import { runWorkload, type WorkloadOptions, type WorkloadTime } from '../support/services/workload';

// Each case takes 35–45 s on 2 cores; the bound leaves four times that.
jest.setTimeout(180_000);

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
const root = mkdtempSync(join(tmpdir(), 'coordination-cluster-'));
const clusters: ProcessCluster[] = [];

afterAll(async () => {
  for (const cluster of clusters) await cluster.close();
  rmSync(root, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** Monotonic: the history's call and return times must not go back when the wall clock does. */
const now = () => performance.now();
const time: WorkloadTime = { now, sleep };

const KEYS = ['k0', 'k1', 'k2'];
const LOCKS = ['L0', 'L1'];
/**
 * Leases and stalls in whole seconds: a commit takes a few hundred
 * milliseconds here (a frame every 200–300 ms), and a hold must outlast a
 * few of them to be used. A stall still outlasts the lease, so that some
 * late fenced writes are refused.
 */
const WORKLOAD: Omit<WorkloadOptions, 'seed' | 'clients' | 'opsPerClient' | 'portFor' | 'time' | 'recorder'> = {
  keys: KEYS,
  locks: LOCKS,
  leaseMs: 2_000,
  stallMs: 3_000,
  stallChance: 0.1,
  deadlineMs: 3_000,
  thinkMs: [0, 50],
  pollMs: 100,
  maxPolls: 15,
  // Half the reads through the log, half by index: both must keep the history linearizable.
  readConsistency: 'mixed',
};

/** What the clients' ports saw, by ending, and every command acknowledged with its index. */
class Tally {
  requests = 0;
  answered = 0;
  aborted = 0;
  expired = 0;
  readonly acknowledged: Array<{ command: unknown; index: number }> = [];

  port(inner: CoordinationPort): CoordinationPort {
    const count = (outcome: SubmitOutcome | QueryOutcome) => {
      if (outcome.outcome === 'aborted') this.aborted += 1;
      else if (outcome.outcome === 'expired') this.expired += 1;
      else this.answered += 1;
    };
    return {
      submit: async (command, options) => {
        this.requests += 1;
        const outcome = await inner.submit(command, options);
        count(outcome);
        if (outcome.outcome === 'committed') this.acknowledged.push({ command, index: outcome.index });
        return outcome;
      },
      query: async (query, options) => {
        this.requests += 1;
        const outcome = await inner.query(query, options);
        count(outcome);
        return outcome;
      },
    };
  }

  get highestIndex(): number {
    return Math.max(0, ...this.acknowledged.map((ack) => ack.index));
  }
}

function workload(cluster: ProcessCluster, tally: Tally, recorder: ServiceRecorder, seed: number, clients: number, opsPerClient: number): Promise<void> {
  // One port per client, so that a client that failed over stays where it went.
  const ports = Array.from({ length: clients }, (_, client) => tally.port(failoverPort(cluster.urls, client, { now })));
  return runWorkload({ ...WORKLOAD, seed, clients, opsPerClient, portFor: (client) => ports[client], time, recorder });
}

type Logs = Awaited<ReturnType<typeof fetchCommitLogs>>;

/** `node lacks index i` for each index up to `highest` a node's log does not hold. */
function lacking(logs: Logs, highest: number): string[] {
  return Object.entries(logs.nodes).flatMap(([node, entries]) => {
    const held = new Set(entries.map((entry) => entry.index));
    return Array.from({ length: highest }, (_, i) => i + 1)
      .filter((index) => !held.has(index))
      .map((index) => `${node} lacks index ${index}`);
  });
}

/**
 * Every node's log once each holds every index up to the highest any node
 * had when asked (a restarted node fills what it missed from its peers),
 * checked to verify and agree; then the services' results and state as a
 * node that applied those entries has them.
 */
async function settledLog(cluster: ProcessCluster, atLeast: number): Promise<{ highest: number; committed: CommittedEntry[]; state: CoordinationState }> {
  const highest = Math.max(atLeast, ...(await cluster.heights()));
  let logs = await fetchCommitLogs(cluster.urls);
  for (let tries = 0; tries < 150 && lacking(logs, highest).length > 0; tries += 1) {
    await sleep(100);
    logs = await fetchCommitLogs(cluster.urls);
  }
  expect(lacking(logs, highest).slice(0, 5)).toEqual([]);
  expect(verifyCommitLogs(logs)).toMatchObject({ ok: true, nodes: cluster.nodes.length });
  const [first, ...others] = Object.values(logs.nodes).map((entries) => entries.filter((entry) => entry.index <= highest).sort((a, b) => a.index - b.index));
  for (const entries of others) expect(entries.map((entry) => entry.payload.hash)).toEqual(first.map((entry) => entry.payload.hash));
  return {
    highest,
    ...replay(
      first.map((entry) => ({
        index: entry.index,
        time: entry.payload.time,
        // serviceCommandsIn reads only a frame's entries, which /v1/log gives as the frame holds them.
        commands: serviceCommandsIn(entry.payload as unknown as LedgerFrame)
          .filter((carried) => carried.kind === 'command')
          .map((carried) => carried.body),
      })),
    ),
  };
}

/** Acknowledged commands the log does not hold at the index they were acknowledged with. */
function lostAcknowledged(tally: Tally, committed: readonly CommittedEntry[]): string[] {
  const byIndex = new Map<number, unknown[]>();
  for (const entry of committed) byIndex.set(entry.index, [...(byIndex.get(entry.index) ?? []), entry.command]);
  return tally.acknowledged
    .filter(({ command, index }) => !(byIndex.get(index) ?? []).some((held) => isDeepStrictEqual(held, JSON.parse(JSON.stringify(command)))))
    .map(({ command, index }) => `${JSON.stringify(command)} at ${index}`);
}

/** A route's answer without the index it was read at. */
function stateOf(answer: Record<string, unknown>): Record<string, unknown> {
  const { index: _index, ...state } = answer;
  return state;
}

/**
 * Polls every node's stale reads of `keys` and of the lock table until all
 * nodes answer alike and the keys hold what `expected` holds, at most
 * `waitMs`; returns what still differed then (nothing when they agreed).
 */
async function stateDifferences(cluster: ProcessCluster, keys: readonly string[], expected: CoordinationState, waitMs = 15_000): Promise<string[]> {
  // As JSON, as the routes answer: the services' own objects need not have plain prototypes.
  const want = keys.map((key) => JSON.parse(JSON.stringify((expected.query(queries.get(key)) as { value: unknown }).value)) as unknown);
  const paths = [...keys.map((key) => `/v1/kv/${encodeURIComponent(key)}`), '/v1/locks'];
  const read = (url: string) =>
    Promise.all(paths.map((path) => getJson<Record<string, unknown>>(`${url}${path}?consistency=stale`).then(stateOf, (error: unknown) => String(error))));
  const until = Date.now() + waitMs;
  for (;;) {
    const answers = await Promise.all(cluster.urls.map(read));
    const differences = answers.flatMap((answer, node) =>
      paths.flatMap((path, at) =>
        isDeepStrictEqual(answer[at], at < keys.length ? want[at] : answers[0][at]) ? [] : [`${cluster.nodes[node].id} ${path}: ${JSON.stringify(answer[at]).slice(0, 400)}`],
      ),
    );
    if (differences.length === 0 || Date.now() > until) return differences;
    await sleep(200);
  }
}

function report(name: string, tally: Tally, verdict: ServicesVerdict, seconds: number, extra: string): string {
  const { grants, acceptedWrites, refusedWrites } = verdict.locks.stats;
  return (
    `${name}: ${tally.requests} requests (${tally.answered} answered, ${tally.expired} unknown effect, ${tally.aborted} aborted), ` +
    `${verdict.kv.ok === true ? 'KV linearizable' : 'KV not shown linearizable'}, ${grants} grants, ` +
    `${acceptedWrites} fenced writes accepted, ${refusedWrites} refused; ${extra}; ${seconds.toFixed(1)} s\n`
  );
}

describe('the coordination services over node processes', () => {
  it('stay linearizable and fenced through a follower killed and restarted and the leader cut off and healed', async () => {
    const began = Date.now();
    const cluster = await ProcessCluster.start(CLI, join(root, 'faults'), 4);
    clusters.push(cluster);
    await cluster.leaderIndex();
    const tally = new Tally();
    const recorder = new ServiceRecorder(now);
    let working = true;
    const load = workload(cluster, tally, recorder, 11, 16, 16).finally(() => (working = false));

    const faults = (async () => {
      await sleep(3_000);
      const follower = ((await cluster.leaderIndex()) + 1) % 4;
      await cluster.kill(follower);
      await sleep(1_500);
      await cluster.restart(follower);
      await sleep(3_000);
      const cut = await cluster.leaderIndex();
      const others = (heights: number[]) => Math.max(...heights.filter((_, i) => i !== cut));
      const before = others(await cluster.heights());
      cluster.partition(cut);
      await sleep(4_000);
      const during = others(await cluster.heights());
      cluster.heal(cut);
      return { follower, cut, before, during, discarded: cluster.discarded(cut), loadedThroughout: working };
    })();
    const [fault] = await Promise.all([faults, load]);
    // The others went on without the leader they lost, and the clients were still at work when the faults were over.
    expect(fault.during).toBeGreaterThan(fault.before);
    expect(fault.discarded).toBeGreaterThan(0);
    expect(fault.loadedThroughout).toBe(true);

    // A hold that outlasts the check, so that the lock table every node is compared on is not empty.
    const keeper = await tally.port(failoverPort(cluster.urls, 0, { now })).submit(commands.acquire('keeper', 'test', { leaseMs: 600_000 }), { deadline: now() + 10_000 });
    expect(keeper).toMatchObject({ outcome: 'committed', result: { ok: true, value: { status: 'granted' } } });

    const { highest, committed, state } = await settledLog(cluster, tally.highestIndex);
    const verdict = checkServices(recorder, committed);
    if (!verdict.ok) throw new Error(verdict.summary);
    expect(lostAcknowledged(tally, committed)).toEqual([]);
    expect(await stateDifferences(cluster, [...KEYS, ...LOCKS.map((lock) => `${lock}/data`)], state)).toEqual([]);

    // Not an empty run: most requests were answered, and the fence both let writes through and stopped some.
    expect(tally.requests).toBeGreaterThan(400);
    expect(tally.answered).toBeGreaterThan(tally.requests * 0.8);
    expect(verdict.locks.stats.acceptedWrites).toBeGreaterThan(10);
    const seconds = (Date.now() - began) / 1000;
    const extra = `height ${highest}, n${fault.follower + 1} killed and restarted, n${fault.cut + 1} cut off (others ${fault.before} → ${fault.during})`;
    process.stdout.write(report('coordination under faults', tally, verdict, seconds, extra));
    await cluster.close();
  });

  it('keep every acknowledged value and lock holder through a restart of the whole cluster, killed under load', async () => {
    const began = Date.now();
    const cluster = await ProcessCluster.start(CLI, join(root, 'restart'), 4);
    clusters.push(cluster);
    await cluster.leaderIndex();
    const tally = new Tally();
    const recorder = new ServiceRecorder(now);
    const client = tally.port(failoverPort(cluster.urls, 1, { now }));
    const within = () => ({ deadline: now() + 10_000 });
    const held = await client.submit(commands.acquire('keeper', 'test', { leaseMs: 600_000 }), within());
    expect(held).toMatchObject({ outcome: 'committed', result: { ok: true, value: { status: 'granted' } } });
    const token = (held as { result: { value: { token: number } } }).result.value.token;
    expect(await client.submit(commands.put('keeper/data', 'before', { writer: 'test', fence: { lock: 'keeper', token } }), within())).toMatchObject({
      outcome: 'committed',
      result: { ok: true },
    });

    // Every member killed at once while clients are at work: what was acknowledged just before must survive.
    const load = workload(cluster, tally, recorder, 21, 10, 20);
    await sleep(5_000);
    const answeredBefore = tally.answered;
    await Promise.all(cluster.nodes.map((_, i) => cluster.kill(i)));
    const before = tally.highestIndex;
    // With every node down the clients' requests are refused at once, so they run out of operations quickly.
    await load;
    await cluster.restartAll();
    await cluster.leaderIndex(20_000);

    // The holder holds on with the same token: its fence still lets its writes through, and the lock is not free.
    expect(await client.query(queries.lock('keeper'), within())).toMatchObject({
      outcome: 'answered',
      answer: { ok: true, value: { holder: { owner: 'test', token } } },
    });
    expect(await client.submit(commands.put('keeper/data', 'after', { writer: 'test', fence: { lock: 'keeper', token } }), within())).toMatchObject({
      outcome: 'committed',
      result: { ok: true },
    });
    expect(await client.submit(commands.acquire('keeper', 'other'), within())).toMatchObject({
      outcome: 'committed',
      result: { ok: true, value: { status: 'queued' } },
    });
    // Clients again, on the same keys: their reads are checked against the writes acknowledged before the restart.
    await workload(cluster, tally, recorder, 22, 10, 12);

    const { highest, committed, state } = await settledLog(cluster, tally.highestIndex);
    const verdict = checkServices(recorder, committed);
    if (!verdict.ok) throw new Error(verdict.summary);
    expect(lostAcknowledged(tally, committed)).toEqual([]);
    expect(state.query(queries.get('keeper/data'))).toMatchObject({ ok: true, value: { values: ['after'] } });
    expect(await stateDifferences(cluster, [...KEYS, ...LOCKS.map((lock) => `${lock}/data`), 'keeper/data'], state)).toEqual([]);
    expect(answeredBefore).toBeGreaterThan(50);
    expect(tally.answered).toBeGreaterThan(200);
    const seconds = (Date.now() - began) / 1000;
    process.stdout.write(report('coordination across a whole-cluster restart', tally, verdict, seconds, `${answeredBefore} answered up to index ${before} before the kill, height ${highest} after`));
    await cluster.close();
  });
});
