// The report of one simulation run: its types and how it is assembled from
// what the run kept (attempts, election windows, per-node counters).
import type { ElectionRole } from '../machines/election.machine';
import type { NetworkStats } from './simulatedNetwork';
import type { BehaviourOption, ByzantineNode } from './byzantine';
import type { TraceEvent } from './EventTrace';
import type { HonestNode } from './HonestNode';
import { countsAgainstBound, type LeaderLiveness, type LeaderWindow } from './LeaderLiveness';
import type { SimulationOptions, SkippedCrash } from './options';
import type { CommitLogsJson } from './commitLogs';
import type { LogMatchingSummary } from './LogMatching';
import type { Finding } from './SafetyChecker';
import { LEDGER_CHAIN_ID } from '../examples/ledger/LedgerNode';
import type { RunChecks } from './checks';
import type { Cluster } from './cluster';
import type { FaultSchedule } from './faults';
import type { SimulationHooks } from './hooks';
import { replayFields } from './replay';
import type { ClockOutcome } from './runClock';

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
  /** Log matching: what was checked of the honest nodes' commit logs, and the gaps sync left in them. */
  logMatching: LogMatchingSummary;
  /** With clients (`--clients`): how the honest nodes' proposals settled. */
  proposals?: ProposalsReport;
  elections: ElectionReport;
  /** Scheduled crashes that did not happen: `leader@AT` with no leader at AT, or a node already down. */
  skippedCrashes: SkippedCrash[];
  perNode: NodeReport[];
  replay: string;
  /** Every resolved option, as plain JSON: what `simulate --replay` reads back to rerun exactly this run. */
  options: SimulationOptions;
  /** The API hooks that changed the run (`sabotageLog`, `workload`, …): a file cannot carry them, so `--replay` refuses it. */
  hooks?: string[];
  /** With `keepLogs`: every honest node's commit log, certificates and the members' public keys included. */
  logs?: CommitLogsJson;
  /**
   * With a membership that changes (`founders`, `memberChanges`): the
   * memberships the agreed chain gives, each from the height it decides,
   * and the log index each change committed at.
   */
  membership?: { epochs: Array<{ from: number; members: string[] }>; committed: Array<{ op: 'add' | 'remove'; node: string; index: number }> };
  /** With `metrics`: every honest node's Prometheus metrics, as text exposition (one registry, a `node` label each). */
  metrics?: string;
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

export function electionReport(
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

/** Per node, in member order: an honest node's counters and final election view, or a Byzantine node's behaviour. */
export function nodeReports(
  names: readonly string[],
  honest: ReadonlyMap<string, HonestNode>,
  byzantine: ReadonlyMap<string, ByzantineNode>,
  crashes: readonly { node: string }[],
  finalViews: ReadonlyMap<string, ReturnType<HonestNode['election']>>,
): NodeReport[] {
  return names.map((name) => {
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
        crashes: crashes.some((crash) => crash.node === name) ? 1 : 0,
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
}

/** How the honest nodes' client proposals settled (`engine.propose`). */
export interface ProposalsReport {
  committed: number;
  aborted: number;
  expired: number;
}

/** The report of a finished run, from what the cluster, its checks and its clock kept. */
export async function reportRun(
  options: SimulationOptions,
  hooks: SimulationHooks,
  cluster: Cluster,
  checks: RunChecks,
  faults: FaultSchedule,
  outcome: ClockOutcome,
  run: { replay: string; wallStart: number },
): Promise<SimulationReport> {
  const { names, honest, byzantine, clock, trace, network, electionNetwork } = cluster;
  const { violations, reference } = checks;
  const perNode = nodeReports(names, honest, byzantine, options.crashes, outcome.finalViews);
  const metrics = cluster.metricsRegistry === null ? null : await cluster.metricsRegistry.metrics();
  const reachedTarget = violations.length === 0 && outcome.stallReason === null && outcome.reached;
  return {
    seed: options.seed,
    nodes: options.nodes,
    byzantine: options.byzantine,
    behaviour: options.behaviour,
    byzantineNodes: cluster.byzantineNames,
    rounds: options.rounds,
    roundsFinalized: Object.fromEntries(perNode.map((node) => [node.name, node.roundsFinalized])),
    reachedTarget,
    agreement: violations.every((violation) => violation.kind !== 'agreement'),
    violations,
    stalled: violations.length === 0 && !reachedTarget,
    stallReason: violations.length === 0 && !reachedTarget ? outcome.stallReason : null,
    simulatedMs: clock.now(),
    wallMs: Date.now() - run.wallStart,
    events: trace.length,
    traceDigest: trace.digest(),
    messages: network.stats,
    maxHeldMessages: checks.maxHeld,
    attempts: attemptReport(checks.commitAttempts),
    logMatching: checks.logMatching.summary(new Map([...honest.values()].map((node) => [node.name, node.head().height]))),
    elections: electionReport(checks.liveness, checks.leaderships, checks.maxTerm, outcome.settledLeader, electionNetwork.stats),
    skippedCrashes: faults.skippedCrashes,
    perNode,
    replay: run.replay,
    ...replayFields(options, hooks),
    ...(checks.logs === null ? {} : { logs: checks.logs.toJSON(LEDGER_CHAIN_ID, cluster.members) }),
    ...(metrics === null ? {} : { metrics }),
    ...(reference === null ? {} : { membership: { epochs: reference.history(), committed: outcome.committedChanges } }),
    ...((options.clients ?? 0) > 0 ? { proposals: checks.proposals } : {}),
  };
}
