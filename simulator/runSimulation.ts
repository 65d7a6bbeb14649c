import { heldMessageBound } from '../engine/createConsensusEngine';
import { DEFAULT_ELECTION_TIMING, ElectionTimingSchema, type ElectionMessage } from '../machines/election.schemas';
import { SimulatedDisk } from './simulatedDisk';
import { kindOf, type LedgerMessage } from '../examples/ledger/messages';
import { defaultProversPerRank, leaderSchedule } from '../examples/ledger/rules';
import { LEDGER_ATTEMPT_CAP, LEDGER_ATTEMPT_GROWTH, LEDGER_CHAIN_ID } from '../examples/ledger/LedgerNode';
import type { LedgerFrame } from '../examples/ledger/types';
import { ByzantineNode } from './byzantine';
import { describeElectionMessage, describeMessage } from './describe';
import { EventClock } from './EventClock';
import { EventTrace } from './EventTrace';
import { scheduleFaults } from './faults';
import { HonestNode, type HonestNodeWorld } from './HonestNode';
import { agreedLeader, LeaderLiveness, type ClusterSnapshot } from './LeaderLiveness';
import { nodeNames, resolveOptions, type SimulationOptions } from './options';
import { replayCommand, replayFields } from './replay';
import { attemptReport, electionReport, nodeReports, type Leadership, type SimulationReport, type Violation } from './report';
import { SafetyChecker, type Finding } from './SafetyChecker';
import { forkRandomStreams, timeoutsFor } from './setup';
import { simulationKeys } from './keys';
import { createMetricsRegistry } from '../engine/metrics';
import { LogMatching } from './LogMatching';
import { CommitLogRecorder } from './commitLogs';
import { LedgerMembers } from '../examples/ledger/membership';
import { driveMemberChanges, ReferenceMembership } from './membershipPlan';

import { createNetworks, isHeartbeat, isolateNode } from './networks';
import { HeldMessageWatch } from './heldMessages';
import type { SimulationHooks } from './hooks';
import { lockBarrierWorkload } from './lockBarrierWorkload';

export type { ServicesCluster, SimulatedCluster, SimulationHooks } from './hooks';

/** Events one run may fire before it is declared a livelock (a bound on wall time). */
export const MAX_EVENTS_PER_RUN = 50_000_000;

// The report's types and assembly live in ./report; re-exported so importers of this module keep working.
export {
  attemptReport,
  type AttemptReport,
  type ElectionReport,
  type Leadership,
  type NodeElectionReport,
  type NodeReport,
  type SimulationReport,
  type Violation,
} from './report';

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
  const workloadOf = hooks.workload ?? (options.services ? lockBarrierWorkload(options.seed, options.rounds) : undefined);
  const wallStart = Date.now(); // wall time is reported, never simulated
  const names = nodeNames(options.nodes);
  const changing = options.founders !== undefined || options.memberChanges !== undefined;
  const founders = names.slice(0, options.founders ?? options.nodes);
  const streams = forkRandomStreams(options.seed, names, options.byzantine, founders);
  const { byzantineNames } = streams;

  const clock = new EventClock();
  const disk = options.storage === 'disk' ? new SimulatedDisk() : null;
  const trace = new EventTrace(options.traceTail, options.keepTrace, options.trace);
  const proversPerRank = options.proversPerRank ?? defaultProversPerRank(founders.length);
  const schedule = leaderSchedule(founders, proversPerRank);
  const maxHeld = options.maxHeldMessages ?? heldMessageBound(options.rankWindow, options.nodes);
  // With a changing membership, proposers and certificates are checked against the agreed chain's own memberships.
  const reference: ReferenceMembership | null = changing
    ? new ReferenceMembership(founders, options.rankWindow, (height): LedgerFrame | undefined => checker.canonicalAt(height))
    : null;
  // The ledger's rules over the reference membership, or over the fixed one.
  const checkedMembers = new LedgerMembers(founders, options.proversPerRank, changing);
  if (reference !== null) checkedMembers.bind(reference);
  const checker: SafetyChecker = new SafetyChecker({ proposersOf: (height, attempt) => checkedMembers.proposersOf(height, attempt), maxHeldMessages: maxHeld });
  const electionTiming = ElectionTimingSchema.parse({ ...DEFAULT_ELECTION_TIMING, ...options.electionTiming });
  const electionOnly = options.rounds === 0;

  const { network, electionNetwork } = createNetworks(options, clock, streams, trace);

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

  const held = new HeldMessageWatch(checker, (name) => honest.get(name), report);

  const send = (from: string, to: string, message: LedgerMessage) => {
    // A Byzantine node's garbage may be anything, null included.
    if (kindOf(message) === 'proposal') {
      const { proposal, attempt } = message as { proposal: unknown; attempt?: unknown };
      checker.noteProposal(from, proposal, attempt ?? 0);
    }
    if (hooks.omitRound?.(from, to, message) === true) return;
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
    // Only members elect: a node yet to join, or one removed, has no say in a majority.
    nodes: liveHonest()
      .filter((node) => reference === null || membersNow().includes(node.name))
      .map((node) => node.liveElection()),
    cut: (a, b) => network.isCut(a, b),
  });
  const membersNow = () => (reference === null ? names : reference.membersAt(checker.frontier() + 1));
  const liveness = new LeaderLiveness({ members: () => membersNow().length, boundMs: 2 * electionTiming.electionTimeoutMaxMs, snapshot });
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

  const keys = simulationKeys(names, options.seed);
  const members = names.map((id) => ({ id, publicKey: keys.publicKeys[id], weight: 1 }));
  // A broken round-change rule bypasses what signatures would stop: those runs go without keys.
  const signed = options.unsafeRule === undefined;
  const logMatching = new LogMatching({
    members: signed ? members : null,
    ...(reference === null ? {} : { membersAt: (rank: number) => reference.certificateMembersAt(rank, keys.publicKeys) }),
    chainId: LEDGER_CHAIN_ID,
  });
  const logs = options.keepLogs ? new CommitLogRecorder(names.filter((name) => !byzantineNames.includes(name))) : null;
  /** Per rank, the attempt in which the first honest node committed it. */
  const commitAttempts = new Map<number, number>();
  const metricsRegistry = options.metrics ? createMetricsRegistry() : null;
  const proposals = { committed: 0, aborted: 0, expired: 0 };
  const world: HonestNodeWorld = {
    clock,
    network,
    electionNetwork,
    members: founders,
    send,
    sendElection,
    tamperIncoming: hooks.sabotageElection?.incoming,
    wrapStorage: hooks.sabotageElection?.storage,
    app: electionOnly ? 'idle' : 'ledger',
    ...(metricsRegistry === null ? {} : { metricsRegistry }),
    ...(signed ? { keys } : {}),
    ledgerOptions: {
      proversPerRank,
      unsafeRule: options.unsafeRule,
      proofMs: options.proofMs,
      patienceMs,
      syncWaitMs,
      rankWindow: options.rankWindow,
      ...(changing ? { membershipChanges: true, peers: names } : {}),
      ...(options.messaging === undefined ? {} : { messaging: options.messaging }),
    },
    timeouts: timeoutsFor(patienceMs, syncWaitMs, options.proofMs.max),
    electionTiming: options.electionTiming,
    // One re-send period of the peers plus a patience: enough to hear the skips.
    rejoinQuietMs: 2 * patienceMs + options.latency.max,
    storageMs: options.storageMs,
    ...(hooks.inspect === undefined ? {} : { inspect: hooks.inspect }),
    onCommitAttempt(_node, rank, attempt) {
      // The first commit decides the rank; a straggler may commit it later, in a later attempt.
      if (!commitAttempts.has(rank)) commitAttempts.set(rank, attempt);
    },
    clients: options.clients ?? 0,
    services: workloadOf !== undefined,
    onProposalSettled(node, payload, outcome, carried) {
      proposals[outcome.outcome] += 1;
      if (outcome.outcome === 'committed' && !carried) {
        report({
          kind: 'validity',
          rank: outcome.index,
          nodes: [node],
          detail: `${node}'s proposal ${payload} settled as committed at ${outcome.index}, whose log entry does not carry it`,
        });
      }
    },
    onLogAppend(node, appended) {
      const entry = hooks.sabotageLog ? hooks.sabotageLog(node, appended) : appended;
      // Kept before it is judged: a log that fails the check is what an outsider would want to see.
      logs?.record(node, entry);
      const finding = logMatching.append(node, entry);
      if (finding) report(finding);
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
      held.received(node);
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
          random: streams.byzantine.fork(),
          send: (to, message) => send(name, to, message),
          sendElection: (to, raw) => electionNetwork.send(name, to, raw),
          finalizedAt: (height) => checker.canonicalAt(height),
          now: () => clock.now(),
          sign: keys.signerFor(name),
          note: (detail) => trace.record(clock.now(), 'byzantine', name, `${name} ${detail}`),
        },
        options.behaviour,
      );
      byzantine.set(name, adversary);
      attachByzantine(name);
    } else {
      const store = disk === null ? undefined : await disk.open(name);
      honest.set(name, new HonestNode(name, world, streams.nodes.get(name)!, streams.elections.get(name)!, store));
    }
  }

  const permanentlyDown = new Set(options.crashes.filter((crash) => crash.restartAt === null).map((crash) => crash.node));
  const counted = new Set([...honest.values()].filter((node) => !permanentlyDown.has(node.name)));
  function slowestHonest(): number {
    let min = Number.POSITIVE_INFINITY;
    let any = false;
    // A removed member hears no more of the cluster: only the members' progress counts.
    const members = reference === null ? null : membersNow();
    for (const node of counted) {
      if (members !== null && !members.includes(node.name)) continue;
      min = Math.min(min, node.head().height);
      any = true;
    }
    return any ? min : 0;
  }

  const { lastFaultEnd, skippedCrashes, allFired } = scheduleFaults(options.partitions, options.crashes, {
    clock,
    trace,
    liveness,
    honest,
    counted,
    currentLeader,
    onFault: () => {
      electionChanged = true;
    },
    beforeCrash: (node) => {
      held.beforeCrash(node);
    },
    detach: (node) => {
      network.detach(node);
      electionNetwork.detach(node);
    },
    attachByzantine,
  });

  // Long enough for a full turn of attempt proposers (every member, then two more) and a sync: a
  // value locked by one node only is re-proposed when that node's turn comes.
  const attemptBase = patienceMs * (proversPerRank + 1);
  const attemptsWorth = Array.from({ length: options.nodes + 2 }, (_, i) =>
    Math.min(LEDGER_ATTEMPT_CAP, LEDGER_ATTEMPT_GROWTH ** i) * attemptBase,
  );
  const stallLimitMs =
    options.stallLimitMs ?? Math.max(5_000, 10 * patienceMs * (proversPerRank + 2), 2 * attemptsWorth.reduce((a, b) => a + b, 0));
  // Linear messaging's re-sends, which carry a round past a faulty aggregator, come half as often.
  const perRound = 4 * patienceMs * (proversPerRank + 2) * (options.messaging === 'linear' ? 2 : 1);
  const maxSimulatedMs = options.maxSimulatedMs ?? lastFaultEnd + options.rounds * perRound + stallLimitMs;
  let stallReason: string | null = null;

  /** Runs the services' clients, if any, beside the cluster: the run waits for them and rethrows what they throw. */
  function startWorkload(): { done: boolean; failure: unknown } {
    const state: { done: boolean; failure: unknown } = { done: workloadOf === undefined, failure: null };
    if (workloadOf === undefined) return state;
    const serving = [...honest.keys()];
    workloadOf({
        clock,
        honest: serving,
        portOf: (node) => honest.get(node)!.servicePort,
        framesOf: (node) => honest.get(node)!.store.chain(),
      })
      .then(
        () => (state.done = true),
        (error: unknown) => {
          state.done = true;
          state.failure = error ?? new Error('the workload failed');
        },
      );
    return state;
  }

  const isolate = (node: string, cut: boolean) => isolateNode([network, electionNetwork], names, node, cut ? 1 : options.dropRate);
  hooks.onCluster?.({ clock, names, byzantineNames, honest, isCut: (a, b) => network.isCut(a, b), isAttached: (node) => network.isAttached(node), isolate });
  for (const node of honest.values()) node.boot();
  liveness.open('start', 0, null);
  const workload = startWorkload();
  const committedChanges: Array<{ op: 'add' | 'remove'; node: string; index: number }> = [];
  const memberChanges = driveMemberChanges(options.memberChanges ?? [], {
    clock,
    proposers: () => [...honest.values()].filter((node) => !node.down && membersNow().includes(node.name)).map((node) => ({ name: node.name, propose: (payload: string) => node.node.propose(payload) })),
    publicKeyOf: (node) => keys.publicKeys[node],
    frontier: () => checker.frontier(),
    committedAt: (entry) => reference?.heightOf(entry) ?? null,
    rankWindow: options.rankWindow,
    onCommitted: (change, index) => (committedChanges.push({ op: change.op, node: change.node, index }), trace.record(clock.now(), 'membership', null, `${change.op} ${change.node} committed at ${index}`)),
    note: (detail) => trace.record(clock.now(), 'membership', null, detail),
  });
  for (const adversary of byzantine.values()) adversary.onHeight(1, checker.canonicalAt(0) as LedgerFrame);

  // An election-only run's target: every connected honest node follows one leader.
  let electionConverged = false;
  const reached = () => (electionOnly ? electionConverged : counted.size > 0 && slowestHonest() >= options.rounds);
  // A ledger run does not wait for its first leader (rounds do not need one);
  // an election-only run has nothing else to wait for.
  const waitFor = electionOnly ? (['start', 'heal', 'failover', 'restart'] as const) : (['heal', 'failover', 'restart'] as const);
  const electionSettled = () => allFired() && !liveness.blocking(clock.now(), waitFor);
  const finished = () => {
    if (electionChanged) {
      electionChanged = false;
      liveness.poll(clock.now());
      if (electionOnly) electionConverged = agreedLeader(snapshot(), membersNow().length) !== null;
    }
    if (violations.length > 0) return true;
    if (reached() && electionSettled() && workload.done && memberChanges.pending() === 0) return true;
    const now = clock.now();
    if (!electionOnly && now - Math.max(lastProgressAt, lastFaultEnd) >= stallLimitMs) {
      stallReason = `no honest node finalized a height for ${stallLimitMs} ms (frontier ${checker.frontier()}, slowest ${slowestHonest()})`;
      return true;
    }
    return false;
  };
  // Every timer due at one instant fires before promise continuations run (one macrotask an instant).
  // A real disk's writes finish before simulated time moves on (see SimulatedDisk).
  const { pace } = hooks;
  const settle =
    disk === null && pace === undefined
      ? undefined
      : async () => {
          await disk?.idle();
          const next = clock.nextDeadline();
          if (pace !== undefined && next !== null) await pace(next);
        };
  const events = await clock.runInstantsUntil(finished, maxSimulatedMs, MAX_EVENTS_PER_RUN, () => held.endOfInstant(), settle);
  if (workload.failure !== null) throw workload.failure;
  const settledLeader = agreedLeader(snapshot(), membersNow().length);
  if (stallReason === null && violations.length === 0 && !(reached() && electionSettled() && workload.done)) {
    stallReason =
      events >= MAX_EVENTS_PER_RUN
        ? `gave up after ${MAX_EVENTS_PER_RUN} events (livelock?) at frontier ${checker.frontier()}`
        : reached() && !workload.done
          ? `the services' clients were not done by ${maxSimulatedMs} ms`
          : electionOnly
          ? `the election did not settle: no leader every connected honest node follows by ${clock.now()} ms`
          : `time limit of ${maxSimulatedMs} ms reached at frontier ${checker.frontier()}, slowest ${slowestHonest()}`;
  }
  if (stallReason !== null && violations.length === 0) trace.record(clock.now(), 'stall', null, stallReason);
  liveness.close(clock.now());

  const finalViews = new Map([...honest.values()].map((node) => [node.name, node.election()]));
  for (const node of honest.values()) node.halt();
  await disk?.dispose();
  hooks.onTrace?.(trace);

  const perNode = nodeReports(names, honest, byzantine, options.crashes, finalViews);
  const metrics = metricsRegistry === null ? null : await metricsRegistry.metrics();

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
    logMatching: logMatching.summary(new Map([...honest.values()].map((node) => [node.name, node.head().height]))),
    elections: electionReport(liveness, leaderships, maxTerm, settledLeader?.leader ?? null, electionNetwork.stats),
    skippedCrashes,
    perNode,
    replay,
    ...replayFields(options, hooks),
    ...(logs === null ? {} : { logs: logs.toJSON(LEDGER_CHAIN_ID, members) }),
    ...(metrics === null ? {} : { metrics }),
    ...(reference === null ? {} : { membership: { epochs: reference.history(), committed: committedChanges } }),
    ...((options.clients ?? 0) > 0 ? { proposals } : {}),
  };
}
