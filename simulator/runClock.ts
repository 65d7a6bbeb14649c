// Running the clock: the nodes boot, the services' clients and the
// membership changes start, and simulated time runs until the target is
// reached, a violation is found, progress stalls, or a limit is hit.
import { LEDGER_ATTEMPT_CAP, LEDGER_ATTEMPT_GROWTH } from '../examples/ledger/LedgerNode';
import type { LedgerFrame } from '../examples/ledger/types';
import type { RunChecks } from './checks';
import { isolate, type Cluster } from './cluster';
import type { FaultSchedule } from './faults';
import type { HonestNode } from './HonestNode';
import type { SimulationHooks } from './hooks';
import { agreedLeader } from './LeaderLiveness';
import { driveMemberChanges } from './membershipPlan';
import type { SimulationOptions } from './options';

/** Events one run may fire before it is declared a livelock (a bound on wall time). */
export const MAX_EVENTS_PER_RUN = 50_000_000;

type Workload = NonNullable<SimulationHooks['workload']>;

export interface RunLimits {
  /** No honest commit for this long (after the last fault) is a liveness stall. */
  stallLimitMs: number;
  /** The run ends here regardless. */
  maxSimulatedMs: number;
}

/** The options' limits, or ones scaled to the cluster's patience, its rounds and its faults. */
export function runLimits(options: SimulationOptions, patienceMs: number, proversPerRank: number, lastFaultEnd: number): RunLimits {
  // Long enough for a full turn of attempt proposers (every member, then two more) and a sync: a
  // value locked by one node only is re-proposed when that node's turn comes.
  const attemptBase = patienceMs * (proversPerRank + 1);
  const attemptsWorth = Array.from({ length: options.nodes + 2 }, (_, i) => Math.min(LEDGER_ATTEMPT_CAP, LEDGER_ATTEMPT_GROWTH ** i) * attemptBase);
  const stallLimitMs = options.stallLimitMs ?? Math.max(5_000, 10 * patienceMs * (proversPerRank + 2), 2 * attemptsWorth.reduce((a, b) => a + b, 0));
  // Linear messaging's re-sends, which carry a round past a faulty aggregator, come half as often.
  const perRound = 4 * patienceMs * (proversPerRank + 2) * (options.messaging === 'linear' ? 2 : 1);
  const maxSimulatedMs = options.maxSimulatedMs ?? lastFaultEnd + options.rounds * perRound + stallLimitMs;
  return { stallLimitMs, maxSimulatedMs };
}

export interface ClockOutcome {
  /** Why the run ended short of its target, or null. */
  stallReason: string | null;
  /** The target was reached (read once every node has halted). */
  reached: boolean;
  /** The leader every connected honest member followed at the end, if any. */
  settledLeader: string | null;
  /** Each node's election view as the clock stopped, before it halted. */
  finalViews: Map<string, ReturnType<HonestNode['election']>>;
  committedChanges: Array<{ op: 'add' | 'remove'; node: string; index: number }>;
}

/** Runs the services' clients, if any, beside the cluster: the run waits for them and rethrows what they throw. */
function startWorkload(cluster: Cluster, workloadOf: Workload | undefined): { done: boolean; failure: unknown } {
  const { clock, honest } = cluster;
  const state: { done: boolean; failure: unknown } = { done: workloadOf === undefined, failure: null };
  if (workloadOf === undefined) return state;
  workloadOf({
    clock,
    honest: [...honest.keys()],
    portOf: (node) => honest.get(node)!.servicePort,
    framesOf: (node) => honest.get(node)!.store.chain(),
  }).then(
    () => (state.done = true),
    (error: unknown) => {
      state.done = true;
      state.failure = error ?? new Error('the workload failed');
    },
  );
  return state;
}

/** Runs the cluster until it is done with, then halts every node. */
export async function runClock(
  options: SimulationOptions,
  hooks: SimulationHooks,
  cluster: Cluster,
  checks: RunChecks,
  faults: FaultSchedule,
  workloadOf: Workload | undefined,
): Promise<ClockOutcome> {
  const { clock, trace, honest, byzantine, disk, names, byzantineNames, network, electionOnly } = cluster;
  const { checker, liveness } = checks;
  const { lastFaultEnd, allFired } = faults;
  const { stallLimitMs, maxSimulatedMs } = runLimits(options, cluster.patienceMs, cluster.proversPerRank, lastFaultEnd);
  let stallReason: string | null = null;

  hooks.onCluster?.({
    clock,
    names,
    byzantineNames,
    honest,
    isCut: (a, b) => network.isCut(a, b),
    isAttached: (node) => network.isAttached(node),
    isolate: (node, cut) => isolate(cluster, options, node, cut),
  });
  for (const node of honest.values()) node.boot();
  liveness.open('start', 0, null);
  const workload = startWorkload(cluster, workloadOf);
  const committedChanges: ClockOutcome['committedChanges'] = [];
  const memberChanges = driveMemberChanges(options.memberChanges ?? [], {
    clock,
    proposers: () =>
      checks
        .liveHonest()
        .filter((node) => checks.membersNow().includes(node.name))
        .map((node) => ({ name: node.name, propose: (payload: string) => node.node.propose(payload) })),
    publicKeyOf: (node) => cluster.keys.publicKeys[node],
    frontier: () => checker.frontier(),
    committedAt: (entry) => checks.reference?.heightOf(entry) ?? null,
    rankWindow: options.rankWindow,
    onCommitted: (change, index) => {
      committedChanges.push({ op: change.op, node: change.node, index });
      trace.record(clock.now(), 'membership', null, `${change.op} ${change.node} committed at ${index}`);
    },
    note: (detail) => trace.record(clock.now(), 'membership', null, detail),
  });
  for (const adversary of byzantine.values()) adversary.onHeight(1, checker.canonicalAt(0) as LedgerFrame);

  // An election-only run's target: every connected honest node follows one leader.
  let electionConverged = false;
  const reached = () => (electionOnly ? electionConverged : checks.counted.size > 0 && checks.slowestHonest() >= options.rounds);
  // A ledger run does not wait for its first leader (rounds do not need one);
  // an election-only run has nothing else to wait for.
  const waitFor = electionOnly ? (['start', 'heal', 'failover', 'restart'] as const) : (['heal', 'failover', 'restart'] as const);
  const electionSettled = () => allFired() && !liveness.blocking(clock.now(), waitFor);
  const finished = () => {
    if (checks.electionChanged) {
      checks.electionChanged = false;
      liveness.poll(clock.now());
      if (electionOnly) electionConverged = agreedLeader(checks.snapshot(), checks.membersNow().length) !== null;
    }
    if (checks.violations.length > 0) return true;
    if (reached() && electionSettled() && workload.done && memberChanges.pending() === 0) return true;
    const now = clock.now();
    if (!electionOnly && now - Math.max(checks.lastProgressAt, lastFaultEnd) >= stallLimitMs) {
      stallReason = `no honest node finalized a height for ${stallLimitMs} ms (frontier ${checker.frontier()}, slowest ${checks.slowestHonest()})`;
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
  const events = await clock.runInstantsUntil(finished, maxSimulatedMs, MAX_EVENTS_PER_RUN, () => checks.held.endOfInstant(), settle);
  if (workload.failure !== null) throw workload.failure;
  const settledLeader = agreedLeader(checks.snapshot(), checks.membersNow().length);
  if (stallReason === null && checks.violations.length === 0 && !(reached() && electionSettled() && workload.done)) {
    stallReason =
      events >= MAX_EVENTS_PER_RUN
        ? `gave up after ${MAX_EVENTS_PER_RUN} events (livelock?) at frontier ${checker.frontier()}`
        : reached() && !workload.done
          ? `the services' clients were not done by ${maxSimulatedMs} ms`
          : electionOnly
            ? `the election did not settle: no leader every connected honest node follows by ${clock.now()} ms`
            : `time limit of ${maxSimulatedMs} ms reached at frontier ${checker.frontier()}, slowest ${checks.slowestHonest()}`;
  }
  if (stallReason !== null && checks.violations.length === 0) trace.record(clock.now(), 'stall', null, stallReason);
  liveness.close(clock.now());

  const finalViews = new Map([...honest.values()].map((node) => [node.name, node.election()]));
  for (const node of honest.values()) node.halt();
  await disk?.dispose();
  hooks.onTrace?.(trace);
  return { stallReason, reached: reached(), settledLeader: settledLeader?.leader ?? null, finalViews, committedChanges };
}
