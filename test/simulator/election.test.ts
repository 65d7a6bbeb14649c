import { runSimulation, type SimulationHooks, type SimulationReport } from '../../simulator/runSimulation';
import type { EventTrace, TraceEvent } from '../../simulator/EventTrace';
import type { SimulationOptions } from '../../simulator/options';
import type { ElectionStorage } from '../../providers/storage';
import type { SimulatedStorage } from '../../simulator/simulatedDisk';

async function simulate(options: Partial<SimulationOptions>, hooks: SimulationHooks = {}) {
  let trace: EventTrace | undefined;
  const report = await runSimulation({ ...options, keepTrace: true }, { ...hooks, onTrace: (t) => (trace = t) });
  return { report, events: trace!.all() as TraceEvent[] };
}

const honest = (report: SimulationReport) => report.perNode.filter((node) => node.byzantine === null);
/** The election's role and leader changes of `node`, as "at detail". */
const electionOf = (events: TraceEvent[], node: string, from = 0, to = Number.POSITIVE_INFINITY) =>
  events.filter((e) => e.type === 'election' && e.node === node && e.at >= from && e.at <= to && !e.detail.includes(' grants ')).map((e) => `${e.at} ${e.detail}`);
const reproducible = (report: SimulationReport) => JSON.stringify({ ...report, wallMs: 0 });

describe('the simulator runs nodes: every honest node is a createNode with the round machine and the election', () => {
  it('honest nodes elect one leader among themselves over the simulated network while the ledger finalizes; Byzantine nodes run no election', async () => {
    const { report, events } = await simulate({ nodes: 7, byzantine: 2, behaviour: 'withhold', rounds: 10, seed: 4, latency: { min: 2, max: 10 } });
    expect(report.violations).toEqual([]);
    expect(report.reachedTarget).toBe(true);
    const leader = report.elections.leader!;
    expect(report.byzantineNodes).not.toContain(leader);
    expect(report.perNode.filter((node) => node.byzantine !== null).map((node) => node.election)).toEqual([null, null]);
    expect(honest(report).map((node) => [node.election!.leader, node.election!.role])).toEqual(
      honest(report).map((node) => [leader, node.name === leader ? 'leader' : 'follower']),
    );
    // Every term has at most one leader, and terms only grow.
    const terms = report.elections.leaderships.map((leadership) => leadership.term);
    expect(terms).toEqual([...new Set(terms)].sort((a, b) => a - b));
    expect(report.elections.firstLeaderMs).not.toBeNull();
    expect(report.elections.messages.sent).toBeGreaterThan(0);
    // The first election is over before the 600 ms bound, and every honest node saw it in the trace.
    expect(report.elections.firstLeaderMs!).toBeLessThanOrEqual(report.elections.boundMs);
    for (const node of honest(report)) expect(electionOf(events, node.name).some((line) => line.endsWith(`follows ${leader} in term ${report.elections.maxTerm}`))).toBe(true);
  });

  it('a `leader` crash resolves to whoever leads then; a new leader takes over, and the report gives the failover time', async () => {
    const { report, events } = await simulate({
      nodes: 5,
      byzantine: 0,
      rounds: 20,
      seed: 8,
      latency: { min: 2, max: 10 },
      crashes: [{ node: 'leader', at: 1_000, restartAt: 2_500 }],
    });
    expect(report.violations).toEqual([]);
    expect(report.reachedTarget).toBe(true);
    const [crash] = events.filter((e) => e.type === 'crash');
    const [oldLeader, oldTerm] = /^(n\d) crashes \(leader of term (\d+)\)$/.exec(crash.detail)!.slice(1);
    expect(crash.at).toBe(1_000);
    expect(report.elections.leaderships.find((l) => l.term === Number(oldTerm))?.leader).toBe(oldLeader);

    const [failover] = report.elections.failovers;
    expect(report.elections.failovers).toHaveLength(1);
    expect(failover).toMatchObject({ kind: 'failover', at: 1_000, leaderBefore: oldLeader, quorum: true, outcome: 'converged' });
    const successor = failover.leaderAfter!;
    expect(successor).not.toBe(oldLeader);
    expect(failover.term).toBeGreaterThan(Number(oldTerm));
    // The failover ends when the last live node starts following the successor.
    const followed = report.perNode
      .filter((node) => node.name !== oldLeader)
      .map((node) => events.find((e) => e.node === node.name && e.at >= 1_000 && e.detail === `${node.name} follows ${successor} in term ${failover.term}`)!.at);
    expect(failover.ms).toBe(Math.max(...followed) - 1_000);
    expect(failover.withinBound).toBe(failover.ms! <= 600);

    // The restarted node reloads the term it had (storage survives the crash) and then follows the successor;
    // the run waits for that (a restart window), so it ends with all five following one leader.
    expect(electionOf(events, oldLeader, 2_500)[0]).toBe(`2500 ${oldLeader} stopped→follower in term ${oldTerm}`);
    const [rejoin] = report.elections.restarts;
    expect(report.elections.restarts).toHaveLength(1);
    expect(rejoin).toMatchObject({ kind: 'restart', at: 2_500, leaderAfter: successor, outcome: 'converged', withinBound: true });
    expect(events.find((e) => e.node === oldLeader && e.at >= 2_500 && e.detail.includes(`follows ${successor}`))!.at).toBe(2_500 + rejoin.ms!);
    expect(report.perNode.map((node) => node.election!.leader)).toEqual(Array(5).fill(successor));
    expect(report.elections.leader).toBe(successor);
  });

  it('a `leader` crash when nobody leads yet does nothing, and neither does its restart', async () => {
    const { report, events } = await simulate({
      nodes: 3,
      byzantine: 0,
      rounds: 0,
      seed: 1,
      latency: { min: 2, max: 10 },
      crashes: [{ node: 'leader', at: 10, restartAt: 50 }],
    });
    expect(events.filter((e) => ['crash', 'restart'].includes(e.type)).map((e) => `${e.at} ${e.type} ${e.detail}`)).toEqual(['10 crash no leader to crash']);
    expect(report.elections.failovers).toEqual([]);
    expect(report.perNode.map((node) => node.crashes)).toEqual([0, 0, 0]);
    expect(report.reachedTarget).toBe(true);
  });
});

describe('pre-vote and check-quorum under partitions (thesis §9.6), measured after the heal', () => {
  const isolateN0 = { nodes: 5, byzantine: 0, rounds: 0, latency: { min: 2, max: 10 }, partitions: [{ from: 1_000, to: 2_500, groups: [['n0']] }] };

  it('an isolated follower rejoins without raising anyone’s term: the leader keeps its term 1', async () => {
    const { report, events } = await simulate({ ...isolateN0, seed: 1 });
    expect(report.elections.leaderships).toEqual([{ term: 1, leader: 'n1', at: 207 }]);
    // n0 times out and asks for pre-votes nobody can answer; it never becomes a candidate.
    const cutOff = electionOf(events, 'n0', 1_000, 2_499);
    expect(cutOff.every((line) => / (follower→pre_candidate|pre_candidate→follower|follows no one) in term 1$/.test(line))).toBe(true);
    expect(cutOff.length).toBeGreaterThan(0);
    expect(report.elections.heals).toEqual([
      { kind: 'heal', at: 2_500, leaderBefore: 'n1', leaderAfter: 'n1', term: 1, ms: 10, withinBound: true, quorum: true, outcome: 'converged', cause: null },
    ]);
    expect(report.elections.maxTerm).toBe(1);
  });

  it('an isolated leader steps down (check-quorum), the majority elects another, and the old leader follows it after the heal', async () => {
    const { report, events } = await simulate({ ...isolateN0, seed: 4 });
    expect(report.elections.leaderships).toEqual([
      { term: 1, leader: 'n0', at: 217 },
      { term: 2, leader: 'n1', at: 1_200 },
    ]);
    expect(electionOf(events, 'n0', 1_000, 1_300)).toEqual(['1267 n0 follows no one in term 1', '1267 n0 leader→follower in term 1']);
    expect(electionOf(events, 'n0', 1_300, 2_499).every((line) => line.endsWith('in term 1'))).toBe(true);
    expect(electionOf(events, 'n0', 2_500)).toEqual(['2510 n0 follows n1 in term 2']);
    expect(report.elections.heals.map(({ leaderBefore, leaderAfter, ms }) => ({ leaderBefore, leaderAfter, ms }))).toEqual([
      { leaderBefore: 'n1', leaderAfter: 'n1', ms: 10 },
    ]);
    expect(report.elections.leaderChanges).toBe(1);
  });
});

describe('Byzantine garbage on the election', () => {
  it('junk election messages are refused with ElectionMessageError codes and change nothing', async () => {
    const { report } = await simulate({ nodes: 4, byzantine: 1, behaviour: 'garbage', rounds: 6, seed: 11 });
    expect(report.violations).toEqual([]);
    expect(report.reachedTarget).toBe(true);
    for (const node of honest(report)) {
      expect(node.refused.election_invalid_message).toBeGreaterThan(0);
      expect(node.refused.election_sender_mismatch).toBeGreaterThan(0);
      expect(node.providerErrors).toBe(0);
    }
    expect(report.elections.leaderships).toHaveLength(1);
  });
});

describe('determinism with the election', () => {
  it('one seed reproduces an election-only run with crashes and partitions, report and trace', async () => {
    const options: Partial<SimulationOptions> = {
      nodes: 5,
      byzantine: 0,
      rounds: 0,
      seed: 77,
      dropRate: 0.05,
      duplicateRate: 0.02,
      latency: { min: 2, max: 20 },
      partitions: [{ from: 900, to: 1_600, groups: [['n0', 'n1'], ['n2', 'n3', 'n4']] }],
      crashes: [{ node: 'leader', at: 2_200, restartAt: 2_900 }],
    };
    const first = await simulate(options);
    const second = await simulate(options);
    expect(reproducible(second.report)).toBe(reproducible(first.report));
    expect(JSON.stringify(second.events)).toBe(JSON.stringify(first.events));
    expect(first.report.elections.heals).toHaveLength(1);
    expect(first.report.elections.failovers).toHaveLength(1);
  });
});

describe('negative controls: a broken election rule, injected only here, is caught', () => {
  /** Every node's election timeout is 150 ms: all three stand at once, so every term-1 vote request meets a candidate. */
  const simultaneous: Partial<SimulationOptions> = {
    nodes: 3,
    byzantine: 0,
    rounds: 0,
    seed: 1,
    latency: { min: 2, max: 10 },
    electionTiming: { electionTimeoutMinMs: 150, electionTimeoutMaxMs: 150 },
  };

  it('vote fencing: n0 grants every vote request, so it votes for itself and for n2 in term 1', async () => {
    const { report } = await simulate(simultaneous, {
      sabotageElection: {
        outgoing: (from, _to, message) =>
          from === 'n0' && message.type === 'request_vote_response' && !message.preVote ? { ...message, granted: true } : message,
      },
    });
    expect(report.violations.map(({ trace: _, ...violation }) => violation)).toEqual([
      {
        kind: 'vote_fencing',
        rank: 1,
        term: 1,
        nodes: ['n0', 'n0', 'n2'],
        detail: 'n0 voted for n0 and for n2 in term 1',
        seed: 1,
        at: 169,
        replay:
          'statechart-consensus simulate --nodes 3 --byzantine 0 --rounds 0 --seed 1 --behaviour invalid --latency 2-10 --drop 0  # plus electionTiming {"electionTimeoutMinMs":150,"electionTimeoutMaxMs":150} (API only)',
      },
    ]);
    expect(report.violations[0].trace.at(-1)!.type).toBe('violation');
  });

  /** A disk that loses the vote: after a restart the node loads its term but no vote. */
  const forgetful = (_node: string, storage: SimulatedStorage): ElectionStorage => ({
    loadHardState: async () => {
      const state = await storage.loadHardState();
      return state === null ? null : { term: state.term, votedFor: null };
    },
    saveHardState: (state) => storage.saveHardState(state),
  });
  // n0 stands in term 1 (voting for itself), crashes at 163 and is back at 164, while n2's request is in flight.
  const crashMidElection: Partial<SimulationOptions> = { ...simultaneous, crashes: [{ node: 'n0', at: 163, restartAt: 164 }] };

  it('vote fencing across restarts: a node whose storage forgets its vote votes twice in term 1', async () => {
    const { report } = await simulate(crashMidElection, { sabotageElection: { storage: forgetful } });
    expect(report.violations.map((violation) => [violation.kind, violation.term, violation.detail])).toEqual([
      ['vote_fencing', 1, 'n0 voted for n0 and for n2 in term 1'],
    ]);
  });

  it('the same crash and restart with the real storage: the reloaded vote fences it, and the run is safe', async () => {
    const { report, events } = await simulate(crashMidElection);
    expect(report.violations).toEqual([]);
    expect(electionOf(events, 'n0', 164, 164)).toEqual(['164 n0 stopped→follower in term 1']);
    expect(report.reachedTarget).toBe(true);
  });

  it('election safety: n0 counts every vote response as granted, and leads term 2 beside n2', async () => {
    const { report } = await simulate(
      { nodes: 5, byzantine: 0, rounds: 0, seed: 7, latency: { min: 5, max: 30 }, crashes: [{ node: 'leader', at: 1_000, restartAt: 1_200 }] },
      {
        sabotageElection: {
          incoming: (_from, to, raw) => {
            const message = raw as { type?: unknown; preVote?: unknown };
            return to === 'n0' && message.type === 'request_vote_response' && message.preVote === false ? { ...message, granted: true } : raw;
          },
        },
      },
    );
    expect(report.violations.map(({ trace: _, replay: __, ...violation }) => violation)).toEqual([
      { kind: 'election_safety', rank: 1, term: 2, nodes: ['n0', 'n2'], detail: 'n0 and n2 both became leader of term 2', seed: 7, at: 1_217 },
    ]);
  });
});
