import { heldMessageBound } from '../engine/createConsensusEngine';
import type { ElectionRole } from '../machines/election.machine';
import { DEFAULT_ELECTION_TIMING, ElectionTimingSchema, type ElectionMessage } from '../machines/election.schemas';
import { createSeededRandom, type RandomSource } from '../providers/random';
import { SimulatedNetwork, type NetworkStats } from '../providers/simulatedNetwork';
import type { ElectionStorage, InMemoryElectionStorage } from '../providers/storage';
import type { RoundTimeouts } from '../machines/round.types';
import { kindOf, type LedgerMessage } from '../examples/ledger/messages';
import { attemptProposers, defaultProversPerRank, faultTolerance, leaderSchedule } from '../examples/ledger/rules';
import { LEDGER_ATTEMPT_CAP, LEDGER_ATTEMPT_GROWTH } from '../examples/ledger/LedgerNode';
import { Keyring } from '../examples/ledger/signing';
import type { LedgerFrame } from '../examples/ledger/types';
import { ByzantineNode, type BehaviourOption } from './byzantine';
import { describeElectionMessage, describeMessage } from './describe';
import { EventClock } from './EventClock';
import { EventTrace, type TraceEvent } from './EventTrace';
import { HonestNode, type HonestNodeWorld } from './HonestNode';
import { agreedLeader, countsAgainstBound, LeaderLiveness, type ClusterSnapshot, type LeaderWindow } from './LeaderLiveness';
import { LEADER, nodeNames, resolveOptions, type SimulationOptions, type SkippedCrash } from './options';
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
  /** The node's election at the end of the run; null for Byzantine nodes, which run none. */
  election: NodeElectionReport | null;
}

export interface NodeElectionReport {
  /** At the end of the run; `down` if crashed then. */
  role: ElectionRole | 'down';
  term: number;
  /** The leader it followed at the end (itself if it led). */
  leader: string | null;
  /** Times it started following a leader other than the one it followed before. */
  leaderChanges: number;
  /** Votes (not pre-votes) it granted to others. */
  votesGranted: number;
}

/** One leadership: `leader` won `term` at `at` ms. */
export interface Leadership {
  term: number;
  leader: string;
  at: number;
}

/** What the election did over the run (SPEC §3): terms, leaders, failover and heal times. */
export interface ElectionReport {
  /** The liveness bound: 2 × the maximum election timeout. */
  boundMs: number;
  /** Highest term any honest node reached. */
  maxTerm: number;
  /** Every leadership won, in order; at most one per term (election safety). */
  leaderships: Leadership[];
  /** Leaderships won by a node other than the previous leader (the first one is not a change). */
  leaderChanges: number;
  /** The leader every connected honest node followed at the end, if they agreed. */
  leader: string | null;
  /** From boot until every honest node followed one leader; null if the run ended first. */
  firstLeaderMs: number | null;
  /** After each crash of a leader: who took over and after how long. */
  failovers: LeaderWindow[];
  /** After each partition healed: who led and after how long. */
  heals: LeaderWindow[];
  /** After each honest node restarted: how long until it (and everyone) followed one leader. */
  restarts: LeaderWindow[];
  /** `ms` of every heal window that converged, in order. */
  healToLeaderMs: number[];
  /** Heal and failover windows that count against the bound, and how many of them met it. */
  withinBound: { counted: number; met: number };
  /** The election's own traffic, apart from the ledger's `messages`. */
  messages: NetworkStats;
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
  /** Round change (SPEC §2.8): how many attempts the ranks honest nodes committed needed. */
  attempts: AttemptReport;
  elections: ElectionReport;
  /** Scheduled crashes that did not happen: `leader@AT` with no leader at AT, or a node already down. */
  skippedCrashes: SkippedCrash[];
  perNode: NodeReport[];
  replay: string;
}

export interface AttemptReport {
  /** Attempts needed (1 = the first attempt committed) → ranks that needed that many. */
  perRank: Record<string, number>;
  /** Ranks committed by an honest node in a later attempt than the first. */
  roundChanges: number;
  /** Ranks committed by an honest node (ranks adopted only by sync are not counted). */
  committed: number;
  maxAttempts: number;
}

/** The attempts distribution from the latest commit attempt per rank. */
export function attemptReport(commitAttempts: ReadonlyMap<number, number>): AttemptReport {
  const perRank: Record<string, number> = {};
  let maxAttempts = 0;
  for (const attempt of commitAttempts.values()) {
    const needed = attempt + 1;
    perRank[needed] = (perRank[needed] ?? 0) + 1;
    maxAttempts = Math.max(maxAttempts, needed);
  }
  const roundChanges = [...commitAttempts.values()].filter((attempt) => attempt > 0).length;
  return { perRank, roundChanges, committed: commitAttempts.size, maxAttempts };
}

export interface SimulationHooks {
  /** Called when the slowest live honest node finalizes a new height. */
  onProgress?: (finalized: number, target: number) => void;
  /** Receives the trace after the run (e.g. to keep it when `keepTrace`). */
  onTrace?: (trace: EventTrace) => void;
  /**
   * Test-only: a deliberately broken election rule, to show the checker
   * catches it. `outgoing` rewrites what an honest node sends (the checker
   * sees the rewritten message: a broken voter); `incoming` rewrites what it
   * reads (the checker saw the original: a broken counter).
   */
  sabotageElection?: {
    outgoing?: (from: string, to: string, message: ElectionMessage) => ElectionMessage;
    incoming?: (from: string, to: string, raw: unknown) => unknown;
    /** Replaces what a node's election persists through (e.g. a disk that forgets the vote). */
    storage?: (node: string, storage: InMemoryElectionStorage) => ElectionStorage;
  };
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
  // Forked after every older stream, so adding the election left a seed's ledger draws as they were.
  const electionRandom = random.fork();
  const electionNetworkRandom = electionRandom.fork();
  const electionRandoms = new Map<string, RandomSource>(names.map((name) => [name, electionRandom.fork()]));

  const clock = new EventClock();
  const trace = new EventTrace(options.traceTail, options.keepTrace, options.trace);
  const proversPerRank = options.proversPerRank ?? defaultProversPerRank(options.nodes);
  const schedule = leaderSchedule(names, proversPerRank);
  const maxHeld = options.maxHeldMessages ?? heldMessageBound(options.rankWindow, options.nodes);
  const checker = new SafetyChecker({ proposersOf: attemptProposers(names, schedule), maxHeldMessages: maxHeld });
  const electionTiming = ElectionTimingSchema.parse({ ...DEFAULT_ELECTION_TIMING, ...options.electionTiming });
  const electionOnly = options.rounds === 0;

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
        trace.record(event.at, 'drop', event.to, () => `${event.from}→${event.to} ${describeMessage(event.message)} (${event.reason})`);
      } else if (event.type === 'duplicate') {
        trace.record(event.at, 'duplicate', event.to, () => `${event.from}→${event.to} ${describeMessage(event.message)}`);
      }
    },
  });
  // The election's messages cross the same links: same clock, partitions,
  // loss, duplication and latency, and a crashed node is detached from both.
  // Its own random stream keeps the ledger's draws what they were without it.
  const electionNetwork = new SimulatedNetwork<unknown>({
    clock,
    random: electionNetworkRandom,
    latency: options.latency,
    dropRate: options.dropRate,
    duplicateRate: options.duplicateRate,
    reorder: options.reorder,
    partitions: options.partitions,
    observer: (event) => {
      // Heartbeats are the election's background noise; votes are what a report needs.
      if ((event.type === 'drop' || event.type === 'duplicate') && !isHeartbeat(event.message)) {
        const suffix = event.type === 'drop' ? ` (${event.reason})` : '';
        trace.record(event.at, event.type, event.to, () => `${event.from}→${event.to} ${describeElectionMessage(event.message)}${suffix}`);
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
    const where = finding.term === undefined ? `at ${finding.rank}` : `in term ${finding.term}`;
    trace.record(clock.now(), 'violation', finding.nodes[0] ?? null, `${finding.kind} ${where}: ${finding.detail}`);
    violations.push({ ...finding, seed: options.seed, at: clock.now(), replay, trace: trace.tail() });
  };

  /**
   * Honest nodes delivered a ledger message in the instant being fired, in
   * the order they first were. The held-message bound is checked once per
   * instant per such node, after the instant's deliveries and before any
   * promise continuation (`EventClock.runInstantsUntil`), not after every
   * delivery: `getHeldMessageCount` recounts every book of the engine, and
   * at n = 64 an instant delivers hundreds of messages to each node.
   *
   * Nothing is lost where the count only grows: the engine holds a message
   * synchronously, in the delivery itself, so the count at the end of the
   * instant is at least the count after each of its deliveries, unless the
   * engine pruned (a rank left the window, an attempt moved on) later in the
   * same instant. Only such a peak, above the bound and pruned within the
   * very instant it was reached, would go unseen; `peakHeldMessages` is
   * likewise the highest count at the end of an instant. A node that
   * crashes is counted first, in case it received something at that instant.
   */
  const receivedThisInstant = new Set<string>();
  const checkHeld = (name: string) => {
    const target = honest.get(name);
    if (target === undefined || target.down) return;
    const held = target.node.getHeldMessageCount();
    target.peakHeldMessages = Math.max(target.peakHeldMessages, held);
    const finding = checker.heldMessages(name, held, target.head().height + 1);
    if (finding) report(finding);
  };
  const checkHeldMessages = () => {
    for (const name of receivedThisInstant) checkHeld(name);
    receivedThisInstant.clear();
  };

  const send = (from: string, to: string, message: LedgerMessage) => {
    // A Byzantine node's garbage may be anything, null included.
    if (kindOf(message) === 'proposal') {
      const { proposal, attempt } = message as { proposal: unknown; attempt?: unknown };
      checker.noteProposal(from, proposal, attempt ?? 0);
    }
    network.send(from, to, message);
  };

  const honest = new Map<string, HonestNode>();
  const byzantine = new Map<string, ByzantineNode>();
  const nextRankOf = (node: string) => (honest.get(node)?.head().height ?? 0) + 1;

  // Election bookkeeping: leaderships for the report, and whether anything a
  // liveness window depends on changed since it was last evaluated.
  const leaderships: Leadership[] = [];
  let maxTerm = 0;
  let electionChanged = false;
  const liveHonest = () => [...honest.values()].filter((node) => !node.down);
  const snapshot = (): ClusterSnapshot => ({
    nodes: liveHonest().map((node) => node.liveElection()),
    cut: (a, b) => network.isCut(a, b),
  });
  const liveness = new LeaderLiveness({ members: options.nodes, boundMs: 2 * electionTiming.electionTimeoutMaxMs, snapshot });
  /** Whoever leads now: the leader of the highest term among live honest nodes. */
  const currentLeader = (): string | null => {
    let best: { name: string; term: number } | null = null;
    for (const node of liveHonest()) {
      const view = node.election();
      if (view.role === 'leader' && (best === null || view.term > best.term)) best = { name: node.name, term: view.term };
    }
    return best?.name ?? null;
  };

  const sendElection = (from: string, to: string, original: ElectionMessage) => {
    const message = hooks.sabotageElection?.outgoing ? hooks.sabotageElection.outgoing(from, to, original) : original;
    // Vote fencing is checked on the wire: a request for votes is the sender's
    // vote for itself, a granted response a vote for the one it goes to.
    if (message.type === 'request_vote' && !message.preVote) {
      const finding = checker.voteCast(from, from, message.term, nextRankOf(from));
      if (finding) report(finding);
    } else if (message.type === 'request_vote_response' && message.granted && !message.preVote) {
      trace.record(clock.now(), 'election', from, () => `${from} grants its term ${message.term} vote to ${to}`);
      const finding = checker.voteCast(from, to, message.term, nextRankOf(from));
      if (finding) report(finding);
    }
    electionNetwork.send(from, to, message);
  };

  const keyring = new Keyring(names, `simulation seed ${options.seed}`);
  /** Per rank, the attempt in which the first honest node committed it. */
  const commitAttempts = new Map<number, number>();
  const world: HonestNodeWorld = {
    clock,
    network,
    electionNetwork,
    members: names,
    send,
    sendElection,
    tamperIncoming: hooks.sabotageElection?.incoming,
    wrapStorage: hooks.sabotageElection?.storage,
    app: electionOnly ? 'idle' : 'ledger',
    ledgerOptions: {
      keyring,
      proversPerRank,
      unsafeRule: options.unsafeRule,
      proofMs: options.proofMs,
      patienceMs,
      syncWaitMs,
      rankWindow: options.rankWindow,
    },
    timeouts: timeoutsFor(patienceMs, syncWaitMs, options.proofMs.max),
    electionTiming: options.electionTiming,
    // One re-send period of the peers plus a patience: enough to hear the skips.
    rejoinQuietMs: 2 * patienceMs + options.latency.max,
    storageMs: options.storageMs,
    onCommitAttempt(_node, rank, attempt) {
      // The first commit decides the rank; a straggler may commit it later, in a later attempt.
      if (!commitAttempts.has(rank)) commitAttempts.set(rank, attempt);
    },
    onAttemptChange(node, { rank, from, to, reason }) {
      trace.record(clock.now(), 'attempt', node, () => `${node} rank ${rank} attempt ${from} -> ${to} (${reason})`);
    },
    onPublish(node, message) {
      const finding = checker.ownMessage(node, message);
      if (finding) report(finding);
    },
    onFinalized(node, frame, via) {
      trace.record(clock.now(), via, node, () => `${node} finalized ${frame.height} ${frame.hash} by ${frame.prover}`);
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
      trace.record(clock.now(), 'deliver', node, () => `${from}→${node} ${describeMessage(message)} ${outcome}`);
      // What it holds is counted once the instant's deliveries are in (`checkHeldMessages`).
      receivedThisInstant.add(node);
    },
    onElectionDelivered(node, from, raw, outcome) {
      if (outcome === 'accepted' && isHeartbeat(raw)) return;
      trace.record(clock.now(), 'deliver', node, () => `${from}→${node} ${describeElectionMessage(raw)} ${outcome}`);
    },
    onTransition(node, from, to, event) {
      trace.record(clock.now(), 'transition', node, () => `${from}→${to} [${event}]`);
    },
    onRoleChange(node, from, to, term) {
      trace.record(clock.now(), 'election', node, () => `${node} ${from}→${to} in term ${term}`);
      electionChanged = true;
      if (to !== 'leader') return;
      const finding = checker.leaderElected(node, term, nextRankOf(node));
      if (finding) return report(finding);
      const previous = leaderships.at(-1);
      if (previous === undefined || previous.term !== term) leaderships.push({ term, leader: node, at: clock.now() });
    },
    onLeaderChange(node, leader, term) {
      trace.record(clock.now(), 'election', node, () => `${node} follows ${leader ?? 'no one'} in term ${term}`);
      electionChanged = true;
    },
    onTermChange(_node, _from, to) {
      maxTerm = Math.max(maxTerm, to);
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

  const attachByzantine = (name: string) => {
    const adversary = byzantine.get(name)!;
    network.attach(name, (from, message) => adversary.onMessage(from, message));
    // It runs no election: what honest nodes send it is dropped on arrival.
    electionNetwork.attach(name, () => {});
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
          sendElection: (to, raw) => electionNetwork.send(name, to, raw),
          finalizedAt: (height) => checker.canonicalAt(height),
          sign: keyring.signerFor(name).sign,
          note: (detail) => trace.record(clock.now(), 'byzantine', name, `${name} ${detail}`),
        },
        options.behaviour,
      );
      byzantine.set(name, adversary);
      attachByzantine(name);
    } else {
      honest.set(name, new HonestNode(name, world, nodeRandoms.get(name)!, electionRandoms.get(name)!));
    }
  }

  const permanentlyDown = new Set(options.crashes.filter((crash) => crash.restartAt === null).map((crash) => crash.node));
  const counted = new Set([...honest.values()].filter((node) => !permanentlyDown.has(node.name)));
  function slowestHonest(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const node of counted) min = Math.min(min, node.head().height);
    return counted.size === 0 ? 0 : min;
  }

  let lastFaultEnd = 0;
  let faultEvents = 0;
  let faultEventsFired = 0;
  /** Schedules one fault event; the run does not end before every one has happened. */
  const atFault = (at: number, fn: () => void) => {
    faultEvents += 1;
    clock.setTimeout(() => {
      faultEventsFired += 1;
      electionChanged = true;
      fn();
    }, at);
  };
  for (const { from, to, groups } of options.partitions) {
    const label = groups.map((group) => group.join(',')).join(' | ');
    atFault(from, () => {
      trace.record(clock.now(), 'partition', null, `partition ${label} until ${to}`);
      liveness.interrupt(clock.now(), `partition ${label} at ${from} ms`);
    });
    if (Number.isFinite(to)) {
      atFault(to, () => {
        trace.record(clock.now(), 'heal', null, `healed ${label}`);
        liveness.open('heal', clock.now(), currentLeader());
      });
    }
    lastFaultEnd = Math.max(lastFaultEnd, Number.isFinite(to) ? to : from);
  }
  const skippedCrashes: SkippedCrash[] = [];
  for (const { node: named, at, restartAt } of options.crashes) {
    // `leader` is resolved when the crash happens; the restart brings back whoever went down.
    let victim: string | null = null;
    atFault(at, () => {
      const node = named === LEADER ? currentLeader() : named;
      const target = node === null ? undefined : honest.get(node);
      if (node === null || target?.down) {
        trace.record(clock.now(), 'crash', node, named === LEADER ? 'no leader to crash' : `${node} is already down`);
        skippedCrashes.push({ node: named, at, restartAt, reason: node === null ? 'no_leader' : 'already_down' });
        return;
      }
      victim = node;
      const wasLeader = target !== undefined && target.election().role === 'leader';
      trace.record(clock.now(), 'crash', node, `${node} crashes${wasLeader ? ` (leader of term ${target!.election().term})` : ''}`);
      liveness.interrupt(clock.now(), `${node} crashed at ${at} ms`);
      if (target) {
        if (receivedThisInstant.delete(node)) checkHeld(node);
        target.crash();
      } else {
        network.detach(node);
        electionNetwork.detach(node);
      }
      if (wasLeader) liveness.open('failover', clock.now(), node);
      if (restartAt === null && target) counted.delete(target);
    });
    if (restartAt !== null) {
      atFault(restartAt, () => {
        if (victim === null) return;
        const target = honest.get(victim);
        trace.record(clock.now(), 'restart', victim, `${victim} restarts at height ${target ? target.head().height : '-'}`);
        if (target) {
          target.boot();
          liveness.open('restart', clock.now(), currentLeader());
        } else attachByzantine(victim);
      });
    }
    lastFaultEnd = Math.max(lastFaultEnd, restartAt ?? at);
  }

  // Long enough for a full turn of attempt proposers (every member, then two more) and a sync: a
  // value locked by one node only is re-proposed when that node's turn comes.
  const attemptBase = patienceMs * (proversPerRank + 1);
  const attemptsWorth = Array.from({ length: options.nodes + 2 }, (_, i) =>
    Math.min(LEDGER_ATTEMPT_CAP, LEDGER_ATTEMPT_GROWTH ** i) * attemptBase,
  );
  const stallLimitMs =
    options.stallLimitMs ?? Math.max(5_000, 10 * patienceMs * (proversPerRank + 2), 2 * attemptsWorth.reduce((a, b) => a + b, 0));
  const maxSimulatedMs = options.maxSimulatedMs ?? lastFaultEnd + options.rounds * 4 * patienceMs * (proversPerRank + 2) + stallLimitMs;
  let stallReason: string | null = null;

  for (const node of honest.values()) node.boot();
  liveness.open('start', 0, null);
  for (const adversary of byzantine.values()) adversary.onHeight(1, checker.canonicalAt(0) as LedgerFrame);

  // An election-only run's target: every connected honest node follows one leader.
  let electionConverged = false;
  const reached = () => (electionOnly ? electionConverged : counted.size > 0 && slowestHonest() >= options.rounds);
  // A ledger run does not wait for its first leader (rounds do not need one);
  // an election-only run has nothing else to wait for.
  const waitFor = electionOnly ? (['start', 'heal', 'failover', 'restart'] as const) : (['heal', 'failover', 'restart'] as const);
  const electionSettled = () => faultEventsFired === faultEvents && !liveness.blocking(clock.now(), waitFor);
  const finished = () => {
    if (electionChanged) {
      electionChanged = false;
      liveness.poll(clock.now());
      if (electionOnly) electionConverged = agreedLeader(snapshot(), options.nodes) !== null;
    }
    if (violations.length > 0) return true;
    if (reached() && electionSettled()) return true;
    const now = clock.now();
    if (!electionOnly && now - Math.max(lastProgressAt, lastFaultEnd) >= stallLimitMs) {
      stallReason = `no honest node finalized a height for ${stallLimitMs} ms (frontier ${checker.frontier()}, slowest ${slowestHonest()})`;
      return true;
    }
    return false;
  };
  // Every timer due at one instant fires before promise continuations run (one macrotask an instant).
  const events = await clock.runInstantsUntil(finished, maxSimulatedMs, MAX_EVENTS_PER_RUN, checkHeldMessages);
  const settledLeader = agreedLeader(snapshot(), options.nodes);
  if (stallReason === null && violations.length === 0 && !(reached() && electionSettled())) {
    stallReason =
      events >= MAX_EVENTS_PER_RUN
        ? `gave up after ${MAX_EVENTS_PER_RUN} events (livelock?) at frontier ${checker.frontier()}`
        : electionOnly
          ? `the election did not settle: no leader every connected honest node follows by ${clock.now()} ms`
          : `time limit of ${maxSimulatedMs} ms reached at frontier ${checker.frontier()}, slowest ${slowestHonest()}`;
  }
  if (stallReason !== null && violations.length === 0) trace.record(clock.now(), 'stall', null, stallReason);
  liveness.close(clock.now());

  const finalViews = new Map([...honest.values()].map((node) => [node.name, node.election()]));
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
        election: null,
      };
    }
    const view = finalViews.get(name)!;
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
      election: { role: view.role, term: view.term, leader: view.leader, leaderChanges: node.leaderChanges, votesGranted: node.votesGranted },
    };
  });

  const reachedTarget = violations.length === 0 && stallReason === null && reached();
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
    attempts: attemptReport(commitAttempts),
    elections: electionReport(liveness, leaderships, maxTerm, settledLeader?.leader ?? null, electionNetwork.stats),
    skippedCrashes,
    perNode,
    replay,
  };
}

function isHeartbeat(raw: unknown): boolean {
  if (typeof raw !== 'object' || raw === null) return false;
  const type = (raw as { type?: unknown }).type;
  return type === 'heartbeat' || type === 'heartbeat_response';
}

function electionReport(
  liveness: LeaderLiveness,
  leaderships: Leadership[],
  maxTerm: number,
  leader: string | null,
  messages: NetworkStats,
): ElectionReport {
  const windows = liveness.windows();
  const failovers = windows.filter((window) => window.kind === 'failover');
  const heals = windows.filter((window) => window.kind === 'heal');
  const start = windows.find((window) => window.kind === 'start');
  const counted = [...failovers, ...heals].filter(countsAgainstBound);
  let leaderChanges = 0;
  for (let i = 1; i < leaderships.length; i += 1) if (leaderships[i].leader !== leaderships[i - 1].leader) leaderChanges += 1;
  return {
    boundMs: liveness.boundMs,
    maxTerm,
    leaderships,
    leaderChanges,
    leader,
    firstLeaderMs: start?.outcome === 'converged' ? start.ms : null,
    failovers: failovers.map((window) => ({ ...window })),
    heals: heals.map((window) => ({ ...window })),
    restarts: windows.filter((window) => window.kind === 'restart').map((window) => ({ ...window })),
    healToLeaderMs: heals.flatMap((window) => (window.ms === null ? [] : [window.ms])),
    withinBound: { counted: counted.length, met: counted.filter((window) => window.withinBound).length },
    messages,
  };
}

/** Which nodes are Byzantine: drawn from the seed, so faults land on different priorities. */
function pickByzantine(names: readonly string[], count: number, random: RandomSource): string[] {
  const pool = [...names];
  const chosen: string[] = [];
  for (let i = 0; i < count; i += 1) chosen.push(pool.splice(random.integer(0, pool.length - 1), 1)[0]);
  return chosen.sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
}
