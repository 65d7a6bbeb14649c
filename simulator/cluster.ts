// Building the cluster: the run's shape (names, founders, random streams,
// clock, trace, keys, networks), then its honest and Byzantine nodes, wired to
// the checks that watch them.
import type { Registry, RegistryContentType } from 'prom-client';
import type { ElectionMessage } from '../machines/election.schemas';
import { kindOf, type LedgerMessage } from '../examples/ledger/messages';
import { defaultProversPerRank, leaderSchedule } from '../examples/ledger/rules';
import { createMetricsRegistry } from '../engine/metrics';
import type { SimulatedNetwork } from './simulatedNetwork';
import { ByzantineNode } from './byzantine';
import type { RunChecks } from './checks';
import { EventClock } from './EventClock';
import { EventTrace } from './EventTrace';
import { HonestNode, type HonestNodeWorld } from './HonestNode';
import type { SimulationHooks } from './hooks';
import { simulationKeys, type ClusterKeys } from './keys';
import { createNetworks, isolateNode } from './networks';
import { nodeNames, type SimulationOptions } from './options';
import { forkRandomStreams, timeoutsFor, type RandomStreams } from './setup';
import { SimulatedDisk } from './simulatedDisk';

export interface Cluster {
  names: string[];
  /** The members at genesis. */
  founders: string[];
  byzantineNames: string[];
  /** Founders plus changes: proposers and certificates follow the agreed chain's memberships. */
  changing: boolean;
  /** No ledger rounds: the run is about the election alone. */
  electionOnly: boolean;
  streams: RandomStreams;
  clock: EventClock;
  disk: SimulatedDisk | null;
  trace: EventTrace;
  keys: ClusterKeys;
  members: Array<{ id: string; publicKey: string; weight: number }>;
  /** A broken round-change rule bypasses what signatures would stop: those runs go without keys. */
  signed: boolean;
  proversPerRank: number;
  /** When a live prover's proposal is due. */
  patienceMs: number;
  syncWaitMs: number;
  network: SimulatedNetwork<LedgerMessage>;
  electionNetwork: SimulatedNetwork<unknown>;
  metricsRegistry: Registry<RegistryContentType> | null;
  /** Filled by `populateCluster`. */
  honest: Map<string, HonestNode>;
  byzantine: Map<string, ByzantineNode>;
}

/** Everything but the nodes: what the checks need before there is a node to check. */
export function shapeCluster(options: SimulationOptions): Cluster {
  const names = nodeNames(options.nodes);
  const founders = names.slice(0, options.founders ?? options.nodes);
  const streams = forkRandomStreams(options.seed, names, options.byzantine, founders);
  const clock = new EventClock();
  const disk = options.storage === 'disk' ? new SimulatedDisk() : null;
  const trace = new EventTrace(options.traceTail, options.keepTrace, options.trace);
  const { network, electionNetwork } = createNetworks(options, clock, streams, trace);
  const keys = simulationKeys(names, options.seed);
  return {
    names,
    founders,
    byzantineNames: streams.byzantineNames,
    changing: options.founders !== undefined || options.memberChanges !== undefined,
    electionOnly: options.rounds === 0,
    streams,
    clock,
    disk,
    trace,
    keys,
    members: names.map((id) => ({ id, publicKey: keys.publicKeys[id], weight: 1 })),
    signed: options.unsafeRule === undefined,
    proversPerRank: options.proversPerRank ?? defaultProversPerRank(founders.length),
    // A round trip plus a proof is when a live prover's proposal is due; the
    // margin keeps a slow-but-honest prover from being skipped.
    patienceMs: Math.max(20, 2 * options.latency.max + options.proofMs.max + 20),
    // A sync request and its answers: one round trip.
    syncWaitMs: Math.max(10, 2 * options.latency.max + 10),
    network,
    electionNetwork,
    metricsRegistry: options.metrics ? createMetricsRegistry() : null,
    honest: new Map(),
    byzantine: new Map(),
  };
}

/** Attaches a Byzantine node to the ledger network; it runs no election, so what honest nodes send it there is dropped on arrival. */
export function attachByzantine(cluster: Cluster, name: string): void {
  const adversary = cluster.byzantine.get(name)!;
  cluster.network.attach(name, (from, message) => adversary.onMessage(from, message));
  cluster.electionNetwork.attach(name, () => {});
}

/** Cuts a node off from everyone (`cut`), or gives its links back the run's drop rate. */
export function isolate(cluster: Cluster, options: SimulationOptions, node: string, cut: boolean): void {
  isolateNode([cluster.network, cluster.electionNetwork], cluster.names, node, cut ? 1 : options.dropRate);
}

/** Creates every node, in name order (each draws from its own random stream), honest ones on their disk if the run has one. */
export async function populateCluster(cluster: Cluster, options: SimulationOptions, hooks: SimulationHooks, checks: RunChecks, services: boolean): Promise<void> {
  const { names, byzantineNames, clock, trace, keys, network, electionNetwork, streams, disk, honest, byzantine } = cluster;
  const send = (from: string, to: string, message: LedgerMessage) => {
    // A Byzantine node's garbage may be anything, null included.
    if (kindOf(message) === 'proposal') checks.sawProposal(from, message);
    if (hooks.omitRound?.(from, to, message) === true) return;
    network.send(from, to, message);
  };
  const sendElection = (from: string, to: string, original: ElectionMessage) => {
    const message = hooks.sabotageElection?.outgoing ? hooks.sabotageElection.outgoing(from, to, original) : original;
    checks.sawElection(from, to, message);
    electionNetwork.send(from, to, message);
  };
  const { patienceMs, syncWaitMs, proversPerRank } = cluster;
  const world: HonestNodeWorld = {
    clock,
    network,
    electionNetwork,
    members: cluster.founders,
    send,
    sendElection,
    tamperIncoming: hooks.sabotageElection?.incoming,
    wrapStorage: hooks.sabotageElection?.storage,
    app: cluster.electionOnly ? 'idle' : 'ledger',
    ...(cluster.metricsRegistry === null ? {} : { metricsRegistry: cluster.metricsRegistry }),
    ...(cluster.signed ? { keys } : {}),
    ledgerOptions: {
      proversPerRank,
      unsafeRule: options.unsafeRule,
      proofMs: options.proofMs,
      patienceMs,
      syncWaitMs,
      rankWindow: options.rankWindow,
      ...(cluster.changing ? { membershipChanges: true, peers: names } : {}),
      ...(options.messaging === undefined ? {} : { messaging: options.messaging }),
    },
    timeouts: timeoutsFor(patienceMs, syncWaitMs, options.proofMs.max),
    electionTiming: options.electionTiming,
    // One re-send period of the peers plus a patience: enough to hear the skips.
    rejoinQuietMs: 2 * patienceMs + options.latency.max,
    storageMs: options.storageMs,
    ...(hooks.inspect === undefined ? {} : { inspect: hooks.inspect }),
    clients: options.clients ?? 0,
    services,
    ...checks.observers(),
  };
  const schedule = leaderSchedule(cluster.founders, proversPerRank);
  for (const name of names) {
    checks.checker.registerNode(name);
    if (byzantineNames.includes(name)) {
      const adversary = new ByzantineNode(
        {
          self: name,
          members: names,
          schedule,
          rankWindow: options.rankWindow,
          random: streams.byzantine.fork(),
          send: (to, message) => send(name, to, message),
          sendElection: (to, raw) => electionNetwork.send(name, to, raw),
          finalizedAt: (height) => checks.checker.canonicalAt(height),
          now: () => clock.now(),
          sign: keys.signerFor(name),
          note: (detail) => trace.record(clock.now(), 'byzantine', name, `${name} ${detail}`),
        },
        options.behaviour,
      );
      byzantine.set(name, adversary);
      attachByzantine(cluster, name);
    } else {
      const store = disk === null ? undefined : await disk.open(name);
      honest.set(name, new HonestNode(name, world, streams.nodes.get(name)!, streams.elections.get(name)!, store));
    }
  }
}
