// Faults in a four-engine cluster on one simulated clock (SPEC §2.7, §6):
// a node that never proves, a node that equivocates, a stop in the middle of
// a proof, providers that throw or reject. Honest nodes must keep finalizing
// and agree on every rank.
import { EquivocationError, type RoundEventType, type RoundStateName } from '../../index';
import { TestCluster } from '../support/cluster';
import type { Frame } from '../support/fixtures';
import {
  rejectingOncePer,
  throwingEvery,
  untilAborted,
  withFaults,
  type TestProviders,
} from '../support/faultyProviders';
import { advanceUntil, flush } from '../support/time';

const NAMES = ['n0', 'n1', 'n2', 'n3'];
/** Three of the four nodes prove each height, rotating (as in cluster.test.ts). */
const threeOfFour = (height: number) => NAMES.map((_, i) => NAMES[(i + height) % 4]).slice(0, 3);

interface Transition {
  from: RoundStateName;
  to: RoundStateName;
  event: RoundEventType;
}

function recordTransitions(cluster: TestCluster): Map<string, Transition[]> {
  const log = new Map<string, Transition[]>();
  for (const name of cluster.names) {
    const transitions: Transition[] = [];
    log.set(name, transitions);
    cluster.engine(name).addListener((from, to, event) => transitions.push({ from, to, event }));
  }
  return log;
}

interface LoggedError {
  message: string;
  error: unknown;
}

/** One trace logger per node, so a fault is seen to be reported where it happened. */
function errorLogs(): { logs: Map<string, LoggedError[]>; configFor: (name: string) => object } {
  const logs = new Map<string, LoggedError[]>(NAMES.map((name) => [name, []]));
  return {
    logs,
    configFor: (name) => ({
      traceLogger: { trace: () => {}, error: (message: string, error: unknown) => logs.get(name)!.push({ message, error }) },
    }),
  };
}

/** The first `ranks` commits of `names` are one chain of consecutive heights. */
function expectAgreement(cluster: TestCluster, names: string[], ranks: number) {
  const hashes = (name: string) => cluster.commits.get(name)!.slice(0, ranks).map((f: Frame) => f.hash);
  const reference = hashes(names[0]);
  expect(reference).toHaveLength(ranks);
  for (const name of names.slice(1)) expect(hashes(name)).toEqual(reference);
  expect(cluster.commits.get(names[0])!.slice(0, ranks).map((f) => f.height)).toEqual(
    Array.from({ length: ranks }, (_, i) => i + 1),
  );
}

describe('cluster faults (four engines, simulated clock)', () => {
  it('a non-prover follows every round as a voter: never proves, never reloads, finalizes the same 20 ranks (SPEC §2.7)', async () => {
    const cluster = new TestCluster({ nodes: 4, provers: () => ['n0', 'n1', 'n2'], minimumProvers: 3 });
    const transitions = recordTransitions(cluster);
    cluster.startAll();
    await advanceUntil(cluster.clock, () => cluster.minCommits() >= 20, 60_000);

    expectAgreement(cluster, NAMES, 20);
    expect(cluster.proofCalls.get('n3')).toBe(0);
    for (const prover of ['n0', 'n1', 'n2']) expect(cluster.proofCalls.get(prover)).toBeGreaterThanOrEqual(20);
    const n3 = transitions.get('n3')!;
    expect(n3.filter((t) => t.to === 'loading')).toEqual([{ from: 'starting', to: 'loading', event: 'init_complete' }]);
    // Every round n3 skips proving at once and never passes through publishing.
    const leavesProving = n3.filter((t) => t.from === 'proving');
    expect(leavesProving.length).toBeGreaterThanOrEqual(20);
    expect(new Set(leavesProving.map((t) => `${t.to}[${t.event}]`))).toEqual(new Set(['voting[publish_timeout]']));
    expect(n3.filter((t) => t.to === 'publishing')).toEqual([]);
    expect(cluster.rejections.filter((r) => r.error.code !== 'stale_rank')).toEqual([]);
    await cluster.stopAll();
  });

  it('an equivocating voter is detected (EquivocationError naming n3) and cannot split the three honest nodes (SPEC §2.6, §6)', async () => {
    const errors = errorLogs();
    const cluster = new TestCluster({
      nodes: 4,
      provers: threeOfFour,
      minimumProvers: 3,
      faults: { n3: 'equivocate-votes' },
      engineConfigFor: errors.configFor,
    });
    cluster.startAll();
    await advanceUntil(cluster.clock, () => cluster.minCommits() >= 20, 60_000);

    expect(cluster.honest()).toEqual(['n0', 'n1', 'n2']);
    expectAgreement(cluster, ['n0', 'n1', 'n2'], 20);
    const equivocations = cluster.rejections.filter((r) => r.error.code === 'equivocation');
    expect(equivocations.length).toBeGreaterThanOrEqual(1);
    for (const { from, to, error } of equivocations) {
      expect(error).toBeInstanceOf(EquivocationError);
      expect({ from, to, kind: error.kind, sender: (error as EquivocationError).sender }).toEqual({
        from: 'n3',
        to: 'n0',
        kind: 'vote',
        sender: 'n3',
      });
    }
    // Each one was also reported on the receiving node's trace logger.
    expect(errors.logs.get('n0')!.map((e) => e.message)).toEqual(equivocations.map(() => 'equivocation by n3'));
    expect(errors.logs.get('n0')!.map((e) => e.error)).toEqual(equivocations.map((r) => r.error));
    // Nothing else was refused but messages for ranks already final.
    expect(cluster.rejections.filter((r) => !['equivocation', 'stale_rank'].includes(r.error.code))).toEqual([]);
    await cluster.stopAll();
  });

  it('stop() during a long proveNextState aborts its signal at once; restarted, the node rejoins and the cluster agrees (SPEC §2.7)', async () => {
    const signals: AbortSignal[] = [];
    const cluster = new TestCluster({
      nodes: 4,
      provers: threeOfFour,
      minimumProvers: 3,
      wrapProviders: (name, honest): TestProviders =>
        name !== 'n0'
          ? honest
          : withFaults(honest, {
              // n0's first proof of rank 3 would outlast everything: only its signal ends it.
              proveNextState: (prior, collected, signal) => {
                if (prior.height !== 2 || signals.length > 0) return honest.leader.proveNextState(prior, collected, signal);
                signals.push(signal);
                return untilAborted(signal);
              },
            }),
    });
    const transitions = recordTransitions(cluster);
    cluster.startAll();
    await advanceUntil(cluster.clock, () => signals.length === 1, 10_000);
    const n0 = cluster.engine('n0');
    expect(n0.getState()).toBe('proving');
    expect(n0.getActiveRank()).toBe(2);
    expect(signals[0].aborted).toBe(false);
    const now = cluster.clock.now();

    const stopped = n0.stop();
    expect(signals[0].aborted).toBe(true);
    expect(n0.getState()).toBe('stopping');
    await stopped;
    expect(n0.getState()).toBe('stopped');
    expect(cluster.clock.now()).toBe(now);
    expect(transitions.get('n0')!.slice(-2)).toEqual([
      { from: 'proving', to: 'stopping', event: 'stop' },
      { from: 'stopping', to: 'stopped', event: 'cleanup_complete' },
    ]);

    // Rank 3 needs n0's proposal (three provers, threshold three): the others wait, then finish with it.
    await advanceUntil(cluster.clock, () => cluster.clock.now() >= now + 500, 1_000);
    expect(cluster.minCommits()).toBe(2);
    n0.start();
    await advanceUntil(cluster.clock, () => cluster.minCommits() >= 10, 60_000);
    expectAgreement(cluster, NAMES, 10);
    expect(cluster.rejections.filter((r) => r.error.code !== 'stale_rank')).toEqual([]);
    await cluster.stopAll();
  });

  it('a prover whose collect rejects once still announces and proves that rank: the cluster does not stall (SPEC §2.3)', async () => {
    // n1 proves rank 3 and the liveness and proposal thresholds need all three
    // provers, so if n1 never collects again for rank 3 nobody can go on.
    const errors = errorLogs();
    const cluster = new TestCluster({
      nodes: 4,
      provers: threeOfFour,
      minimumProvers: 3,
      engineConfigFor: errors.configFor,
      wrapProviders: (name, honest): TestProviders => {
        if (name !== 'n1') return honest;
        const collectedFor = () => String(cluster.engine('n1').getActiveRank() + 1);
        const offline = (rank: string) => new Error(`mempool offline for rank ${rank}`);
        const flaky = rejectingOncePer(collectedFor, offline, honest.liveness.collect);
        return withFaults(honest, {
          collect: (signal) => (collectedFor() === '3' ? flaky(signal, []) : honest.liveness.collect(signal, [])),
        });
      },
    });
    cluster.startAll();
    await advanceUntil(cluster.clock, () => cluster.minCommits() >= 20 || cluster.clock.now() >= 30_000, 30_000);

    expect(errors.logs.get('n1')!.map((e) => [e.message, (e.error as Error).message])).toEqual([
      ['collecting: collect failed', 'mempool offline for rank 3'],
    ]);
    expect(cluster.minCommits()).toBeGreaterThanOrEqual(20);
    expectAgreement(cluster, NAMES, 20);
    await cluster.stopAll();
  });

  it('providers that throw or reject on one node are reported on that node, and the cluster keeps finalizing and agreeing (SPEC §2.3, §2.7)', async () => {
    const errors = errorLogs();
    const cluster = new TestCluster({
      nodes: 4,
      provers: threeOfFour,
      minimumProvers: 3,
      engineConfigFor: errors.configFor,
      wrapProviders: (name, honest): TestProviders => {
        if (name === 'n1') {
          const crash = (call: number) => new Error(`sendLiveness crashed (call ${call})`);
          return withFaults(honest, { sendLiveness: throwingEvery(3, crash, honest.liveness.sendLiveness) });
        }
        if (name === 'n2') {
          const down = (rank: string) => new Error(`finalizeVotes unavailable for rank ${rank}`);
          const rankOf = (proposals: ReadonlyMap<string, Frame>, _votes: unknown, _signal: AbortSignal) => String([...proposals.values()][0]?.height);
          return withFaults(honest, { finalizeVotes: rejectingOncePer(rankOf, down, honest.voting.finalizeVotes) });
        }
        return honest;
      },
    });
    cluster.startAll();
    await advanceUntil(cluster.clock, () => cluster.minCommits() >= 20, 120_000);

    expectAgreement(cluster, NAMES, 20);
    const n1 = errors.logs.get('n1')!;
    expect(n1.length).toBeGreaterThanOrEqual(1);
    for (const { message, error } of n1) {
      expect(message).toMatch(/^(collecting|liveness_check): sendLiveness failed$/);
      expect((error as Error).message).toMatch(/^sendLiveness crashed \(call \d+\)$/);
    }
    const n2 = errors.logs.get('n2')!;
    // Once per rank n2 finalized itself (it also commits some ranks on the others' confirmations while still voting).
    expect(n2.length).toBeGreaterThanOrEqual(1);
    expect(new Set(n2.map(({ error }) => (error as Error).message)).size).toBe(n2.length);
    for (const { message, error } of n2) {
      expect(message).toBe('finalizing: finalizeVotes failed');
      expect((error as Error).message).toMatch(/^finalizeVotes unavailable for rank \d+$/);
    }
    expect(errors.logs.get('n0')).toEqual([]);
    expect(errors.logs.get('n3')).toEqual([]);
    for (const name of NAMES) expect(cluster.engine(name).actor.getSnapshot().status).toBe('active');
    expect(cluster.engine('n1').getProviderErrorCount()).toBe(n1.length);
    expect(cluster.engine('n2').getProviderErrorCount()).toBe(n2.length);
    await cluster.stopAll();
  });
});
