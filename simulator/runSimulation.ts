import { createSeededRandom, type RandomSource } from '../providers/random';
import { SimulatedNetwork, type NetworkStats } from '../providers/simulatedNetwork';
import type { RoundTimeouts } from '../machines/round.types';
import { kindOf, type LedgerMessage } from '../examples/ledger/messages';
import { defaultProversPerRank, leaderSchedule } from '../examples/ledger/rules';
import type { LedgerFrame } from '../examples/ledger/types';
import { ByzantineNode, type BehaviourOption } from './byzantine';
import { describeMessage } from './describe';
import { EventClock } from './EventClock';
import { EventTrace, type TraceEvent } from './EventTrace';
import { HonestNode, type HonestNodeWorld } from './HonestNode';
import { nodeNames, resolveOptions, type SimulationOptions } from './options';
import { replayCommand } from './replay';
import { SafetyChecker, type Finding } from './SafetyChecker';

/** A safety property broke: everything needed to understand and replay it. */
export interface Violation extends Finding {
  seed: number;
  /** Simulated ms. */
  at: number;
  /** The command that replays the run up to here. */
  replay: string;
  /** The last events before (and including) the violation, oldest first. */
  trace: TraceEvent[];
}

export interface NodeReport {
  name: string;
  /** The Byzantine behaviour, or null for an honest node. */
  byzantine: BehaviourOption | null;
  /** Heights finalized (0 for Byzantine nodes, which keep no ledger). */
  roundsFinalized: number;
  /** Hash of the last finalized frame, the digest of the node's ledger. */
  digest: string | null;
  transitions: number;
  providerErrors: number;
  /** Peer messages refused, by reason (malformed, future_rank, forged, …). */
  refused: Record<string, number>;
  crashes: number;
  framesSynced: number;
  /** Most peer messages the node's engine held at once (bounded by `maxHeldMessages`). */
  peakHeldMessages: number;
}

export interface SimulationReport {
  seed: number;
  nodes: number;
  byzantine: number;
  behaviour: BehaviourOption;
  byzantineNodes: string[];
  /** Target: heights each live honest node must finalize. */
  rounds: number;
  /** Per node, heights finalized. */
  roundsFinalized: Record<string, number>;
  reachedTarget: boolean;
  /** No two honest nodes finalized different frames at one height. */
  agreement: boolean;
  violations: Violation[];
  /** The run ended without reaching the target and without a violation: a liveness stall. */
  stalled: boolean;
  stallReason: string | null;
  simulatedMs: number;
  wallMs: number;
  events: number;
  /** SHA-256 over every trace event: equal for equal seeds and options. */
  traceDigest: string;
  messages: NetworkStats;
  /** The bound on peer messages a node may hold that the checker enforced. */
  maxHeldMessages: number;
  perNode: NodeReport[];
  replay: string;
}

export interface SimulationHooks {
  /** Called when the slowest live honest node finalizes a new height. */
  onProgress?: (finalized: number, target: number) => void;
  /** Receives the trace after the run (e.g. to keep it when `keepTrace`). */
  onTrace?: (trace: EventTrace) => void;
}

/** Events one run may fire before it is declared a livelock (a bound on wall time). */
export const MAX_EVENTS_PER_RUN = 50_000_000;

/**
 * Engine timeouts scaled to the simulated network. Progress is event-driven;
 * these only retry after a fault, so they are a few round trips, not the
 * production defaults of seconds (which would make a stalled run crawl).
 */
function timeoutsFor(patienceMs: number, syncWaitMs: number, proofMaxMs: number): Partial<RoundTimeouts> {
  return {
    starting: 10,
    loading: Math.max(1_000, 20 * syncWaitMs),
    syncRetry: Math.max(50, 2 * syncWaitMs),
    collecting: 1_000,
    livenessCheck: Math.max(50, patienceMs),
    proving: 10 * proofMaxMs + 1_000,
    publishing: 500,
    voting: Math.max(200, 4 * patienceMs),
    finalizing: Math.max(50, patienceMs),
    verifying: 200,
    stopping: 100,
  };
}

/**
 * Runs one seeded simulation: n ledger nodes (some Byzantine) over a
 * simulated network on one discrete-event clock, with the scheduled faults,
 * checked online by the safety checker. The same options give the same trace
 * and report (bar `wallMs`).
 */
export async function runSimulation(
  input: Partial<SimulationOptions>,
  hooks: SimulationHooks = {},
): Promise<SimulationReport> {
  const options = resolveOptions(input);
  const wallStart = Date.now(); // wall time is reported, never simulated
  const names = nodeNames(options.nodes);
  const random = createSeededRandom(options.seed);
  const networkRandom = random.fork();
  const nodeRandoms = new Map<string, RandomSource>(names.map((name) => [name, random.fork()]));
  const byzantineRandom = random.fork();
  const byzantineNames = pickByzantine(names, options.byzantine, random.fork());

  const clock = new EventClock();
  const trace = new EventTrace(options.traceTail, options.keepTrace);
  const proversPerRank = options.proversPerRank ?? defaultProversPerRank(options.nodes);
  const schedule = leaderSchedule(names, proversPerRank);
  const maxHeld = options.maxHeldMessages ?? 4 * options.rankWindow * options.nodes;
  const checker = new SafetyChecker({ schedule, maxHeldMessages: maxHeld });

  const network = new SimulatedNetwork<LedgerMessage>({
    clock,
    random: networkRandom,
    latency: options.latency,
    dropRate: options.dropRate,
    duplicateRate: options.duplicateRate,
    reorder: options.reorder,
    partitions: options.partitions,
    observer: (event) => {
      if (event.type === 'drop') {
        trace.record(event.at, 'drop', event.to, `${event.from}→${event.to} ${describeMessage(event.message)} (${event.reason})`);
      } else if (event.type === 'duplicate') {
        trace.record(event.at, 'duplicate', event.to, `${event.from}→${event.to} ${describeMessage(event.message)}`);
      }
    },
  });

  // A round trip plus a proof is when a live prover's proposal is due; the
  // margin keeps a slow-but-honest prover from being skipped.
  const patienceMs = Math.max(20, 2 * options.latency.max + options.proofMs.max + 20);
  // A sync request and its answers: one round trip.
  const syncWaitMs = Math.max(10, 2 * options.latency.max + 10);
  const replay = replayCommand(options);
  const violations: Violation[] = [];
  let lastProgressAt = 0;
  let slowest = 0;

  const report = (finding: Finding) => {
    if (violations.length > 0) return;
    trace.record(clock.now(), 'violation', finding.nodes[0] ?? null, `${finding.kind} at ${finding.rank}: ${finding.detail}`);
    violations.push({ ...finding, seed: options.seed, at: clock.now(), replay, trace: trace.tail() });
  };

  const send = (from: string, to: string, message: LedgerMessage) => {
    if (kindOf(message) === 'proposal') checker.noteProposal(from, (message as { proposal: unknown }).proposal);
    network.send(from, to, message);
  };

  const honest = new Map<string, HonestNode>();
  const byzantine = new Map<string, ByzantineNode>();

  const world: HonestNodeWorld = {
    clock,
    network,
    members: names,
    send,
    ledgerOptions: {
      proversPerRank,
      quorumSize: options.quorumSize,
      proofMs: options.proofMs,
      patienceMs,
      syncWaitMs,
      rankWindow: options.rankWindow,
    },
    timeouts: timeoutsFor(patienceMs, syncWaitMs, options.proofMs.max),
    // One re-send period of the peers plus a patience: enough to hear the skips.
    rejoinQuietMs: 2 * patienceMs + options.latency.max,
    onFinalized(node, frame, via) {
      trace.record(clock.now(), via, node, `${node} finalized ${frame.height} ${frame.hash} by ${frame.prover}`);
      const frontier = checker.frontier();
      const finding = checker.finalized(node, frame);
      if (finding) return report(finding);
      lastProgressAt = clock.now();
      if (checker.frontier() > frontier) {
        for (const adversary of byzantine.values()) adversary.onHeight(frame.height + 1, frame);
      }
      const current = slowestHonest();
      if (current > slowest) {
        slowest = current;
        hooks.onProgress?.(Math.min(slowest, options.rounds), options.rounds);
      }
    },
    onDelivered(node, from, message, outcome) {
      trace.record(clock.now(), 'deliver', node, `${from}→${node} ${describeMessage(message)} ${outcome}`);
      const target = honest.get(node);
      if (target === undefined || target.down) return;
      const held = target.engine.getHeldMessageCount();
      target.peakHeldMessages = Math.max(target.peakHeldMessages, held);
      const finding = checker.heldMessages(node, held, target.head().height + 1);
      if (finding) report(finding);
    },
    onTransition(node, from, to, event) {
      trace.record(clock.now(), 'transition', node, `${from}→${to} [${event}]`);
    },
    onEngineFailure(node, error) {
      const target = honest.get(node);
      report({
        kind: 'engine_crash',
        rank: target ? target.head().height + 1 : 0,
        nodes: [node],
        detail: `${node}'s engine failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
      });
    },
  };

  for (const name of names) {
    checker.registerNode(name);
    if (byzantineNames.includes(name)) {
      const adversary = new ByzantineNode(
        {
          self: name,
          members: names,
          schedule,
          rankWindow: options.rankWindow,
          random: byzantineRandom.fork(),
          send: (to, message) => send(name, to, message),
          finalizedAt: (height) => checker.canonicalAt(height),
          note: (detail) => trace.record(clock.now(), 'byzantine', name, `${name} ${detail}`),
        },
        options.behaviour,
      );
      byzantine.set(name, adversary);
      network.attach(name, (from, message) => adversary.onMessage(from, message));
    } else {
      honest.set(name, new HonestNode(name, world, nodeRandoms.get(name)!));
    }
  }

  const permanentlyDown = new Set(options.crashes.filter((crash) => crash.restartAt === null).map((crash) => crash.node));
  const counted = [...honest.values()].filter((node) => !permanentlyDown.has(node.name));
  function slowestHonest(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const node of counted) min = Math.min(min, node.head().height);
    return counted.length === 0 ? 0 : min;
  }

  let lastFaultEnd = 0;
  for (const { from, to, groups } of options.partitions) {
    const label = groups.map((group) => group.join(',')).join(' | ');
    clock.setTimeout(() => trace.record(clock.now(), 'partition', null, `partition ${label} until ${to}`), from);
    if (Number.isFinite(to)) clock.setTimeout(() => trace.record(clock.now(), 'heal', null, `healed ${label}`), to);
    lastFaultEnd = Math.max(lastFaultEnd, Number.isFinite(to) ? to : from);
  }
  for (const { node, at, restartAt } of options.crashes) {
    clock.setTimeout(() => {
      trace.record(clock.now(), 'crash', node, `${node} crashes`);
      const target = honest.get(node);
      if (target) target.crash();
      else network.detach(node);
    }, at);
    if (restartAt !== null) {
      clock.setTimeout(() => {
        const target = honest.get(node);
        trace.record(clock.now(), 'restart', node, `${node} restarts at height ${target ? target.head().height : '-'}`);
        if (target) target.boot();
        else network.attach(node, (from, message) => byzantine.get(node)!.onMessage(from, message));
      }, restartAt);
    }
    lastFaultEnd = Math.max(lastFaultEnd, restartAt ?? at);
  }

  const stallLimitMs = options.stallLimitMs ?? Math.max(5_000, 10 * patienceMs * (proversPerRank + 2));
  const maxSimulatedMs = options.maxSimulatedMs ?? lastFaultEnd + options.rounds * 4 * patienceMs * (proversPerRank + 2) + stallLimitMs;
  let stallReason: string | null = null;

  for (const node of honest.values()) node.boot();
  for (const adversary of byzantine.values()) adversary.onHeight(1, checker.canonicalAt(0) as LedgerFrame);

  const reached = () => counted.length > 0 && slowestHonest() >= options.rounds;
  const finished = () => {
    if (violations.length > 0 || reached()) return true;
    const now = clock.now();
    if (now - Math.max(lastProgressAt, lastFaultEnd) >= stallLimitMs) {
      stallReason = `no honest node finalized a height for ${stallLimitMs} ms (frontier ${checker.frontier()}, slowest ${slowestHonest()})`;
      return true;
    }
    return false;
  };
  const events = await clock.runUntil(finished, maxSimulatedMs, MAX_EVENTS_PER_RUN);
  if (stallReason === null && violations.length === 0 && !reached()) {
    stallReason =
      events >= MAX_EVENTS_PER_RUN
        ? `gave up after ${MAX_EVENTS_PER_RUN} events (livelock?) at frontier ${checker.frontier()}`
        : `time limit of ${maxSimulatedMs} ms reached at frontier ${checker.frontier()}, slowest ${slowestHonest()}`;
  }
  if (stallReason !== null && violations.length === 0) trace.record(clock.now(), 'stall', null, stallReason);

  for (const node of honest.values()) node.halt();
  hooks.onTrace?.(trace);

  const perNode: NodeReport[] = names.map((name) => {
    const node = honest.get(name);
    if (node === undefined) {
      return {
        name,
        byzantine: byzantine.get(name)!.behaviour,
        roundsFinalized: 0,
        digest: null,
        transitions: 0,
        providerErrors: 0,
        refused: {},
        crashes: options.crashes.some((crash) => crash.node === name) ? 1 : 0,
        framesSynced: 0,
        peakHeldMessages: 0,
      };
    }
    return {
      name,
      byzantine: null,
      roundsFinalized: node.head().height,
      digest: node.head().hash,
      transitions: node.transitions,
      providerErrors: node.providerErrors,
      refused: Object.fromEntries(Object.entries(node.refused).sort(([a], [b]) => (a < b ? -1 : 1))),
      crashes: node.crashes,
      framesSynced: node.framesSynced,
      peakHeldMessages: node.peakHeldMessages,
    };
  });

  const reachedTarget = violations.length === 0 && reached();
  return {
    seed: options.seed,
    nodes: options.nodes,
    byzantine: options.byzantine,
    behaviour: options.behaviour,
    byzantineNodes: byzantineNames,
    rounds: options.rounds,
    roundsFinalized: Object.fromEntries(perNode.map((node) => [node.name, node.roundsFinalized])),
    reachedTarget,
    agreement: violations.every((violation) => violation.kind !== 'agreement'),
    violations,
    stalled: violations.length === 0 && !reachedTarget,
    stallReason: violations.length === 0 && !reachedTarget ? stallReason : null,
    simulatedMs: clock.now(),
    wallMs: Date.now() - wallStart,
    events: trace.length,
    traceDigest: trace.digest(),
    messages: network.stats,
    maxHeldMessages: maxHeld,
    perNode,
    replay,
  };
}

/** Which nodes are Byzantine: drawn from the seed, so faults land on different priorities. */
function pickByzantine(names: readonly string[], count: number, random: RandomSource): string[] {
  const pool = [...names];
  const chosen: string[] = [];
  for (let i = 0; i < count; i += 1) chosen.push(pool.splice(random.integer(0, pool.length - 1), 1)[0]);
  return chosen.sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
}
