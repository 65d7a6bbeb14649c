// Checking a run as it goes: safety (the checker, vote fencing, log
// matching, validity of what clients were told), messages held, leader
// liveness, and the progress the run is measured by. The first finding is
// the run's violation.
import { LEDGER_CHAIN_ID } from '../examples/ledger/LedgerNode';
import type { LedgerMessage } from '../examples/ledger/messages';
import { LedgerMembers } from '../examples/ledger/membership';
import type { LedgerFrame } from '../examples/ledger/types';
import { heldMessageBound } from '../engine/createConsensusEngine';
import { DEFAULT_ELECTION_TIMING, ElectionTimingSchema, type ElectionMessage } from '../machines/election.schemas';
import type { Cluster } from './cluster';
import { CommitLogRecorder } from './commitLogs';
import { describeElectionMessage, describeMessage } from './describe';
import { HeldMessageWatch } from './heldMessages';
import type { HonestNode, HonestNodeWorld } from './HonestNode';
import type { SimulationHooks } from './hooks';
import { LeaderLiveness, type ClusterSnapshot } from './LeaderLiveness';
import { LogMatching } from './LogMatching';
import { ReferenceMembership } from './membershipPlan';
import { isHeartbeat } from './networks';
import type { SimulationOptions } from './options';
import type { Leadership, Violation } from './report';
import { SafetyChecker, type Finding } from './SafetyChecker';

/** What honest nodes tell the checks: every `HonestNodeWorld` callback. */
export type NodeObservers = Pick<
  HonestNodeWorld,
  | 'onCommitAttempt'
  | 'onProposalSettled'
  | 'onLogAppend'
  | 'onAttemptChange'
  | 'onPublish'
  | 'onFinalized'
  | 'onDelivered'
  | 'onElectionDelivered'
  | 'onTransition'
  | 'onRoleChange'
  | 'onLeaderChange'
  | 'onTermChange'
  | 'onEngineFailure'
>;

export class RunChecks {
  /** With a changing membership, proposers and certificates are checked against the agreed chain's own memberships. */
  readonly reference: ReferenceMembership | null;
  readonly checker: SafetyChecker;
  readonly maxHeld: number;
  readonly violations: Violation[] = [];
  readonly held: HeldMessageWatch;
  readonly liveness: LeaderLiveness;
  readonly logMatching: LogMatching;
  readonly logs: CommitLogRecorder | null;
  readonly leaderships: Leadership[] = [];
  /** Per rank, the attempt in which the first honest node committed it. */
  readonly commitAttempts = new Map<number, number>();
  readonly proposals = { committed: 0, aborted: 0, expired: 0 };
  /** Honest nodes whose height counts towards the target; one crashed for good leaves it. */
  readonly counted = new Set<HonestNode>();
  maxTerm = 0;
  /** Anything a liveness window depends on changed since it was last evaluated. */
  electionChanged = false;
  lastProgressAt = 0;
  private slowest = 0;

  constructor(
    private readonly options: SimulationOptions,
    private readonly cluster: Cluster,
    private readonly hooks: SimulationHooks,
    private readonly replay: string,
  ) {
    const { founders, names, keys } = cluster;
    this.maxHeld = options.maxHeldMessages ?? heldMessageBound(options.rankWindow, options.nodes);
    const reference = cluster.changing
      ? new ReferenceMembership(founders, options.rankWindow, (height): LedgerFrame | undefined => this.checker.canonicalAt(height))
      : null;
    this.reference = reference;
    // The ledger's rules over the reference membership, or over the fixed one.
    const checkedMembers = new LedgerMembers(founders, options.proversPerRank, cluster.changing);
    if (reference !== null) checkedMembers.bind(reference);
    this.checker = new SafetyChecker({ proposersOf: (height, attempt) => checkedMembers.proposersOf(height, attempt), maxHeldMessages: this.maxHeld });
    this.held = new HeldMessageWatch(this.checker, (name) => cluster.honest.get(name), (finding) => this.report(finding));
    const electionTiming = ElectionTimingSchema.parse({ ...DEFAULT_ELECTION_TIMING, ...options.electionTiming });
    this.liveness = new LeaderLiveness({ members: () => this.membersNow().length, boundMs: 2 * electionTiming.electionTimeoutMaxMs, snapshot: () => this.snapshot() });
    this.logMatching = new LogMatching({
      members: cluster.signed ? cluster.members : null,
      ...(reference === null ? {} : { membersAt: (rank: number) => reference.certificateMembersAt(rank, keys.publicKeys) }),
      chainId: LEDGER_CHAIN_ID,
    });
    this.logs = options.keepLogs ? new CommitLogRecorder(names.filter((name) => !cluster.byzantineNames.includes(name))) : null;
  }

  /** Records a finding as the run's violation; only the first is kept. */
  report(finding: Finding): void {
    if (this.violations.length > 0) return;
    const { clock, trace } = this.cluster;
    const where = finding.term === undefined ? `at ${finding.rank}` : `in term ${finding.term}`;
    trace.record(clock.now(), 'violation', finding.nodes[0] ?? null, `${finding.kind} ${where}: ${finding.detail}`);
    this.violations.push({ ...finding, seed: this.options.seed, at: clock.now(), replay: this.replay, trace: trace.tail() });
  }

  membersNow(): readonly string[] {
    return this.reference === null ? this.cluster.names : this.reference.membersAt(this.checker.frontier() + 1);
  }

  liveHonest(): HonestNode[] {
    return [...this.cluster.honest.values()].filter((node) => !node.down);
  }

  snapshot(): ClusterSnapshot {
    return {
      // Only members elect: a node yet to join, or one removed, has no say in a majority.
      nodes: this.liveHonest()
        .filter((node) => this.reference === null || this.membersNow().includes(node.name))
        .map((node) => node.liveElection()),
      cut: (a, b) => this.cluster.network.isCut(a, b),
    };
  }

  /** Whoever leads now: the leader of the highest term among live honest nodes. */
  currentLeader(): string | null {
    let best: { name: string; term: number } | null = null;
    for (const node of this.liveHonest()) {
      const view = node.election();
      if (view.role === 'leader' && (best === null || view.term > best.term)) best = { name: node.name, term: view.term };
    }
    return best?.name ?? null;
  }

  /** Once the nodes exist: every honest node not crashed for good counts towards the target. */
  startCounting(): void {
    const permanentlyDown = new Set(this.options.crashes.filter((crash) => crash.restartAt === null).map((crash) => crash.node));
    for (const node of this.cluster.honest.values()) if (!permanentlyDown.has(node.name)) this.counted.add(node);
  }

  /** The lowest height among counted members: what the run's target is measured by. */
  slowestHonest(): number {
    let min = Number.POSITIVE_INFINITY;
    let any = false;
    // A removed member hears no more of the cluster: only the members' progress counts.
    const members = this.reference === null ? null : this.membersNow();
    for (const node of this.counted) {
      if (members !== null && !members.includes(node.name)) continue;
      min = Math.min(min, node.head().height);
      any = true;
    }
    return any ? min : 0;
  }

  sawProposal(from: string, message: LedgerMessage): void {
    const { proposal, attempt } = message as { proposal: unknown; attempt?: unknown };
    this.checker.noteProposal(from, proposal, attempt ?? 0);
  }

  /** Vote fencing is checked on the wire: a request for votes is the sender's vote for itself, a granted response a vote for the one it goes to. */
  sawElection(from: string, to: string, message: ElectionMessage): void {
    if (message.type === 'request_vote' && !message.preVote) {
      const finding = this.checker.voteCast(from, from, message.term, this.nextRankOf(from));
      if (finding) this.report(finding);
    } else if (message.type === 'request_vote_response' && message.granted && !message.preVote) {
      const { clock, trace } = this.cluster;
      trace.record(clock.now(), 'election', from, () => `${from} grants its term ${message.term} vote to ${to}`);
      const finding = this.checker.voteCast(from, to, message.term, this.nextRankOf(from));
      if (finding) this.report(finding);
    }
  }

  private nextRankOf(node: string): number {
    return (this.cluster.honest.get(node)?.head().height ?? 0) + 1;
  }

  observers(): NodeObservers {
    const { clock, trace, honest, byzantine } = this.cluster;
    const { hooks, options } = this;
    return {
      onCommitAttempt: (_node, rank, attempt) => {
        // The first commit decides the rank; a straggler may commit it later, in a later attempt.
        if (!this.commitAttempts.has(rank)) this.commitAttempts.set(rank, attempt);
      },
      onProposalSettled: (node, payload, outcome, carried) => {
        this.proposals[outcome.outcome] += 1;
        if (outcome.outcome === 'committed' && !carried) {
          this.report({
            kind: 'validity',
            rank: outcome.index,
            nodes: [node],
            detail: `${node}'s proposal ${payload} settled as committed at ${outcome.index}, whose log entry does not carry it`,
          });
        }
      },
      onLogAppend: (node, appended) => {
        const entry = hooks.sabotageLog ? hooks.sabotageLog(node, appended) : appended;
        // Kept before it is judged: a log that fails the check is what an outsider would want to see.
        this.logs?.record(node, entry);
        const finding = this.logMatching.append(node, entry);
        if (finding) this.report(finding);
      },
      onAttemptChange: (node, { rank, from, to, reason }) => {
        trace.record(clock.now(), 'attempt', node, () => `${node} rank ${rank} attempt ${from} -> ${to} (${reason})`);
      },
      onPublish: (node, message) => {
        const finding = this.checker.ownMessage(node, message);
        if (finding) this.report(finding);
      },
      onFinalized: (node, frame, via) => {
        trace.record(clock.now(), via, node, () => `${node} finalized ${frame.height} ${frame.hash} by ${frame.prover}`);
        const frontier = this.checker.frontier();
        const finding = this.checker.finalized(node, frame);
        if (finding) return this.report(finding);
        this.lastProgressAt = clock.now();
        if (this.checker.frontier() > frontier) {
          for (const adversary of byzantine.values()) adversary.onHeight(frame.height + 1, frame);
        }
        const current = this.slowestHonest();
        if (current > this.slowest) {
          this.slowest = current;
          hooks.onProgress?.(Math.min(this.slowest, options.rounds), options.rounds);
        }
      },
      onDelivered: (node, from, message, outcome) => {
        trace.record(clock.now(), 'deliver', node, () => `${from}→${node} ${describeMessage(message)} ${outcome}`);
        // What it holds is counted once the instant's deliveries are in (`checkHeldMessages`).
        this.held.received(node);
      },
      onElectionDelivered: (node, from, raw, outcome) => {
        if (outcome === 'accepted' && isHeartbeat(raw)) return;
        trace.record(clock.now(), 'deliver', node, () => `${from}→${node} ${describeElectionMessage(raw)} ${outcome}`);
      },
      onTransition: (node, from, to, event) => {
        trace.record(clock.now(), 'transition', node, () => `${from}→${to} [${event}]`);
      },
      onRoleChange: (node, from, to, term) => {
        trace.record(clock.now(), 'election', node, () => `${node} ${from}→${to} in term ${term}`);
        this.electionChanged = true;
        if (to !== 'leader') return;
        const finding = this.checker.leaderElected(node, term, this.nextRankOf(node));
        if (finding) return this.report(finding);
        const previous = this.leaderships.at(-1);
        if (previous === undefined || previous.term !== term) this.leaderships.push({ term, leader: node, at: clock.now() });
      },
      onLeaderChange: (node, leader, term) => {
        trace.record(clock.now(), 'election', node, () => `${node} follows ${leader ?? 'no one'} in term ${term}`);
        this.electionChanged = true;
      },
      onTermChange: (_node, _from, to) => {
        this.maxTerm = Math.max(this.maxTerm, to);
      },
      onEngineFailure: (node, error) => {
        const target = honest.get(node);
        this.report({
          kind: 'engine_crash',
          rank: target ? target.head().height + 1 : 0,
          nodes: [node],
          detail: `${node}'s engine failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
        });
      },
    };
  }
}
