import { ledgerCodec } from '../examples/ledger/codec';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createActor, SimulatedClock } from 'xstate';
import { createElectionMachine, type ElectionActor } from '../machines/election.machine';
import { toElectionEvent } from '../machines/election.schemas';
import { createNode } from '../node/createNode';
import { createSeededRandom } from '../providers/random';
import type { LatencyRange } from '../simulator/simulatedNetwork';
import { InMemoryElectionStorage } from '../providers/storage';
import { LedgerFrame, LedgerPeer } from '../examples/ledger/types';
import { leaderDistribution } from '../simulator/electionSweep';
import { idleProviders } from '../simulator/idleApp';
import type { LeaderWindow } from '../simulator/LeaderLiveness';
import { LEADER } from '../simulator/options';
import { runSimulation } from '../simulator/runSimulation';
import type { SimNode } from '../simulator/HonestNode';

/**
 * What the election costs and how fast it recovers:
 * - failover: seeded election-only runs in which the leader crashes once the
 *   cluster is steady; the time (simulated ms) until every live node follows
 *   a new leader, as p50, p99 and max per cluster size;
 * - per node: wall-clock µs per heartbeat a follower handles (parsing, the
 *   transition, its answer), and heap bytes per idle election actor and per
 *   idle node (round machine + election).
 */

export const FAILOVER_SIZES = [3, 5, 7] as const;
export const FAILOVER_SEEDS = 1_000;
/** When the leader crashes: well after the first election (which ends by ~600 ms), on steady heartbeats. */
export const FAILOVER_CRASH_AT = 1_000;
/** A LAN: one-way latency well below the 150 ms minimum election timeout, as Raft assumes. */
export const FAILOVER_LATENCY: LatencyRange = { min: 2, max: 10 };

export interface FailoverRow {
  nodes: number;
  seeds: number;
  /** Runs whose leader crashed and a new one took over. */
  failovers: number;
  /** Runs with no leader at the crash instant (an election still running): nothing to measure. */
  noLeaderToCrash: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
  /** Fraction within 2 × the maximum election timeout. */
  withinBound: number;
  boundMs: number;
  wallMs: number;
}

export interface FailoverBenchOptions {
  sizes?: readonly number[];
  seeds?: number;
  firstSeed?: number;
  latency?: LatencyRange;
}

/** Failover after a leader crash over `seeds` seeded runs per cluster size. */
export async function runFailoverBench(options: FailoverBenchOptions = {}, onRow?: (row: FailoverRow) => void): Promise<FailoverRow[]> {
  const { sizes = FAILOVER_SIZES, seeds = FAILOVER_SEEDS, firstSeed = 1, latency = FAILOVER_LATENCY } = options;
  const rows: FailoverRow[] = [];
  for (const nodes of sizes) {
    const wallStart = Date.now();
    const windows: LeaderWindow[] = [];
    let noLeader = 0;
    let boundMs = 0;
    for (let seed = firstSeed; seed < firstSeed + seeds; seed += 1) {
      const report = await runSimulation({
        nodes,
        byzantine: 0,
        rounds: 0,
        seed,
        latency,
        crashes: [{ node: LEADER, at: FAILOVER_CRASH_AT, restartAt: null }],
      });
      if (report.violations.length > 0) throw new Error(`failover bench: ${report.violations[0].detail}; replay: ${report.replay}`);
      boundMs = report.elections.boundMs;
      const [failover] = report.elections.failovers;
      if (failover === undefined) noLeader += 1;
      else windows.push(failover);
    }
    const distribution = leaderDistribution(windows, boundMs);
    const times = windows.flatMap((window) => (window.ms === null ? [] : [window.ms]));
    const row: FailoverRow = {
      nodes,
      seeds,
      failovers: times.length,
      noLeaderToCrash: noLeader,
      p50: distribution.p50,
      p99: distribution.p99,
      max: distribution.max,
      mean: times.length === 0 ? null : Math.round(times.reduce((sum, ms) => sum + ms, 0) / times.length),
      withinBound: Math.round(distribution.fraction * 10_000) / 10_000,
      boundMs,
      wallMs: Date.now() - wallStart,
    };
    rows.push(row);
    onRow?.(row);
  }
  return rows;
}

export interface ElectionCost {
  heartbeats: number;
  /** Wall-clock µs per heartbeat through a follower's election actor: parse, transition, reply. */
  usPerHeartbeat: number;
  /** The same through a node (`receiveElectionMessage`: the node's check, its relay to the election and back). */
  usPerHeartbeatViaNode: number;
  actors: number;
  /** Heap bytes per idle election actor (a follower with its timers and storage). */
  bytesPerElectionActor: number;
  /** Heap bytes per idle node: round machine, election and their actor system. */
  bytesPerNode: number;
  /** `exact`: measured after forced collections; `approximate`: no collector access, heap deltas include garbage. */
  memory: 'exact' | 'approximate';
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A forced garbage collection, if the runtime lets us have one (`--expose-gc`, or turning the flag on now). */
function collector(): (() => void) | null {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return exposed;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}

async function follower(clock: SimulatedClock, id: string, seed: number): Promise<ElectionActor> {
  const machine = createElectionMachine({ storage: new InMemoryElectionStorage(), random: createSeededRandom(seed) });
  const actor = createActor(machine, { clock, input: { id, peers: ['leader', 'peer'].filter((peer) => peer !== id) } });
  actor.start();
  actor.send({ type: 'start' });
  await flush();
  return actor;
}

function idleNode(clock: SimulatedClock, id: string, seed: number): SimNode {
  return createNode({
    id: new LedgerPeer(id),
    initialState: LedgerFrame.genesis(),
    members: [id, 'leader', 'peer'].map((name) => new LedgerPeer(name)),
    providers: idleProviders(),
    codec: ledgerCodec,
    clock,
    election: { storage: new InMemoryElectionStorage(), random: createSeededRandom(seed) },
  });
}

function timeHeartbeats(deliver: (raw: unknown) => void, count: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i += 1) deliver({ type: 'heartbeat', term: 1, leaderId: 'leader' });
  return Number(process.hrtime.bigint() - start) / 1_000 / count;
}

/** Wall-clock cost of heartbeats, and heap per idle actor and node. */
export async function measureElectionCost(heartbeats = 50_000, actors = 100): Promise<ElectionCost> {
  const clock = new SimulatedClock();
  const actor = await follower(clock, 'f', 1);
  let answered = 0;
  actor.on('outbound', () => (answered += 1));
  // The first heartbeat raises the term, which is saved before the answer leaves.
  actor.send(toElectionEvent('leader', { type: 'heartbeat', term: 1, leaderId: 'leader' }));
  await flush();
  const deliverToActor = (raw: unknown) => actor.send(toElectionEvent('leader', raw));
  timeHeartbeats(deliverToActor, 5_000); // warm-up
  const usPerHeartbeat = timeHeartbeats(deliverToActor, heartbeats);
  if (answered !== 1 + 5_000 + heartbeats) throw new Error(`election bench: ${answered} answers for ${1 + 5_000 + heartbeats} heartbeats`);
  actor.stop();

  const node = idleNode(clock, 'f', 2);
  node.start();
  await flush();
  const deliverToNode = (raw: unknown) => node.receiveElectionMessage('leader', raw);
  deliverToNode({ type: 'heartbeat', term: 1, leaderId: 'leader' });
  await flush();
  timeHeartbeats(deliverToNode, 5_000);
  const usPerHeartbeatViaNode = timeHeartbeats(deliverToNode, heartbeats);
  node.actor.stop();

  const gc = collector();
  const heap = async () => {
    await flush();
    gc?.();
    gc?.();
    return process.memoryUsage().heapUsed;
  };
  const followers: ElectionActor[] = [];
  const nodes: SimNode[] = [];
  const before = await heap();
  for (let i = 0; i < actors; i += 1) followers.push(await follower(clock, `f${i}`, i));
  const afterActors = await heap();
  for (let i = 0; i < actors; i += 1) {
    nodes.push(idleNode(clock, `f${i}`, i));
    nodes[i].start();
  }
  const afterNodes = await heap();
  const perActor = Math.round((afterActors - before) / actors);
  const perNode = Math.round((afterNodes - afterActors) / actors);
  for (const kept of followers) kept.stop();
  for (const kept of nodes) kept.actor.stop();
  return {
    heartbeats,
    usPerHeartbeat: Math.round(usPerHeartbeat * 100) / 100,
    usPerHeartbeatViaNode: Math.round(usPerHeartbeatViaNode * 100) / 100,
    actors,
    bytesPerElectionActor: perActor,
    bytesPerNode: perNode,
    memory: gc === null ? 'approximate' : 'exact',
  };
}
