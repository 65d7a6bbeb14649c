import { runCli, EXIT, type CliIO } from '../../cli/program';
import { BEHAVIOUR_OPTIONS } from '../../simulator/byzantine';

function capture(isTTY = false) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = {
    stdout: { write: (text: string) => out.push(text), isTTY },
    stderr: { write: (text: string) => err.push(text), isTTY },
  };
  return { io, stdout: () => out.join(''), stderr: () => err.join('') };
}

async function cli(...argv: string[]) {
  const streams = capture();
  const code = await runCli(argv, streams.io);
  return { code, stdout: streams.stdout(), stderr: streams.stderr() };
}

describe('statechart-consensus simulate', () => {
  it('--json prints one JSON object with the report fields and exits 0 on a safe run that reached the target', async () => {
    const { code, stdout, stderr } = await cli('simulate', '--rounds', '5', '--seed', '3', '--json');
    expect(stderr).toBe('');
    expect(code).toBe(EXIT.ok);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    const report = JSON.parse(stdout);
    expect(Object.keys(report)).toEqual(
      expect.arrayContaining(['seed', 'nodes', 'byzantine', 'roundsFinalized', 'agreement', 'violations', 'simulatedMs', 'wallMs']),
    );
    expect(report).toMatchObject({ seed: 3, nodes: 4, byzantine: 1, rounds: 5, agreement: true, violations: [], reachedTarget: true });
    expect(Object.keys(report.roundsFinalized)).toEqual(['n0', 'n1', 'n2', 'n3']);
  });

  it('prints the per-node table and a one-line verdict when not asked for JSON', async () => {
    const { code, stdout } = await cli('simulate', '--rounds', '4', '--seed', '1', '--behaviour', 'garbage');
    expect(code).toBe(EXIT.ok);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^node\s+role\s+term\s+leader\s+leader changes\s+finalized\s+digest\s+transitions\s+provider errors\s+crashes\s+refused messages$/,
    );
    expect(lines.filter((line) => /^n\d /.test(line))).toHaveLength(4);
    expect(lines.filter((line) => line.includes('byzantine (garbage)'))).toHaveLength(1);
    expect(lines.at(-1)).toMatch(/^SAFE: 3 honest nodes finalized 4\+ heights and agree/);
  });

  it('exits 3 with a STALLED verdict and the replay command when the run stalls', async () => {
    // Two of four nodes down for good: the two left are never 2f + 1 = 3.
    const { code, stdout } = await cli('simulate', '--byzantine', '0', '--rounds', '20', '--seed', '2', '--latency', '2-10', '--crash', 'n1@300;n2@300');
    expect(code).toBe(EXIT.stalled);
    expect(stdout.trimEnd().split('\n').at(-1)).toMatch(
      /^STALLED \(liveness, agreement held\): no honest node finalized a height for \d+ ms .*; seed 2; replay: statechart-consensus simulate --nodes 4 --byzantine 0 --rounds 20 --seed 2 --behaviour invalid --latency 2-10 --drop 0 --crash 'n1@300;n2@300'$/,
    );
  });

  it('--behaviour equivocate on four nodes reaches its rounds by round change, and says how many ranks needed it', async () => {
    // Seed 6 splits two heights past what the lock proofs mend within attempt 0.
    const { code, stdout } = await cli('simulate', '--behaviour', 'equivocate', '--rounds', '30', '--seed', '6');
    expect(code).toBe(EXIT.ok);
    const lines = stdout.trimEnd().split('\n');
    const safe = /^SAFE: 3 honest nodes finalized (\d+)\+ heights and agree.*, 1 Byzantine \(equivocate\);/.exec(lines.at(-1)!);
    expect(safe).not.toBeNull();
    expect(Number(safe![1])).toBeGreaterThanOrEqual(30);
    const roundChange = lines.at(-2)!;
    const match = /^round change: (\d+) of (\d+) committed ranks needed more than one attempt \(attempts per rank: ((?:\d+×\d+ ?)+)\)$/.exec(roundChange);
    expect(match).not.toBeNull();
    const [, changed, committed, histogram] = match!;
    expect(Number(changed)).toBeGreaterThan(0);
    expect(Number(committed)).toBeGreaterThanOrEqual(30);
    // The histogram accounts for every committed rank, and the ranks past the first attempt are the ones counted as changed.
    const buckets = histogram.split(' ').map((bucket) => bucket.split('×').map(Number));
    expect(buckets.reduce((sum, [, ranks]) => sum + ranks, 0)).toBe(Number(committed));
    expect(buckets.filter(([needed]) => needed > 1).reduce((sum, [, ranks]) => sum + ranks, 0)).toBe(Number(changed));
  });

  it('accepts the documented --partition and --crash syntax', async () => {
    const { code, stdout } = await cli(
      'simulate', '--rounds', '6', '--byzantine', '0', '--latency', '2-10', '--partition', '100-400:n0,n1|n2,n3', '--crash', 'n2@500-900', '--json',
    );
    expect(code).toBe(EXIT.ok);
    const report = JSON.parse(stdout);
    expect(report.replay).toBe(
      "statechart-consensus simulate --nodes 4 --byzantine 0 --rounds 6 --seed 42 --behaviour invalid --latency 2-10 --drop 0 --partition '100-400:n0,n1|n2,n3' --crash 'n2@500-900'",
    );
  });

  it('a run whose leader crashes (--crash leader@2000-6000) shows the new leader and the failover time, in the table and in --json', async () => {
    const argv = ['simulate', '--byzantine', '0', '--rounds', '20', '--crash', 'leader@2000-6000'];
    const table = await cli(...argv);
    const json = await cli(...argv, '--json');
    expect([table.code, json.code]).toEqual([EXIT.ok, EXIT.ok]);
    const report = JSON.parse(json.stdout);
    expect(Object.keys(report.elections)).toEqual(
      expect.arrayContaining(['leaderChanges', 'maxTerm', 'leaderships', 'failovers', 'heals', 'healToLeaderMs', 'restarts', 'boundMs']),
    );
    const [failover] = report.elections.failovers;
    expect(report.elections.failovers).toHaveLength(1);
    expect(failover).toMatchObject({ kind: 'failover', at: 2000, outcome: 'converged', quorum: true });
    const { leaderBefore, leaderAfter, ms } = failover;
    expect(leaderAfter).not.toBe(leaderBefore);
    expect(report.elections.leader).toBe(leaderAfter);
    expect(report.elections.leaderChanges).toBe(1);
    expect(report.elections.leaderships.map((l: { leader: string }) => l.leader)).toEqual([leaderBefore, leaderAfter]);
    expect(report.perNode.map((node: { election: { leader: string } }) => node.election.leader)).toEqual(Array(4).fill(leaderAfter));

    const lines = table.stdout.trimEnd().split('\n');
    const row = (name: string) => lines.find((line) => line.startsWith(`${name} `))!.split(/\s{2,}/);
    // node, role, term, leader, leader changes, …
    expect(row(leaderAfter).slice(0, 5)).toEqual([leaderAfter, 'leader', String(report.elections.maxTerm), leaderAfter, '1']);
    expect(row(leaderBefore).slice(0, 5)).toEqual([leaderBefore, 'follower', String(report.elections.maxTerm), leaderAfter, '1']);
    const over = ms <= report.elections.boundMs ? 'within' : 'over';
    // The summary's last lines: elections, the failover, round change, the verdict.
    expect(lines.at(-2)).toMatch(/^round change: \d+ of \d+ committed ranks needed more than one attempt/);
    expect(lines.at(-3)).toBe(`failover: ${leaderBefore} crashed at 2000 ms, ${leaderAfter} led after ${ms} ms (${over} the 600 ms bound)`);
    expect(lines.at(-4)).toMatch(
      new RegExp(`^elections: max term ${report.elections.maxTerm}; leaders ${leaderBefore} \\(term \\d+\\) → ${leaderAfter} \\(term ${failover.term}\\); 1 leader change; first leader after \\d+ ms$`),
    );
    expect(lines.at(-1)).toMatch(/^SAFE: 4 honest nodes finalized/);
  });

  it('--rounds 0 runs the election alone and reports the leader every node follows', async () => {
    const { code, stdout } = await cli('simulate', '--nodes', '5', '--byzantine', '0', '--rounds', '0', '--latency', '2-10', '--crash', 'leader@1000-1500', '--json');
    expect(code).toBe(EXIT.ok);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ rounds: 0, reachedTarget: true, stalled: false, violations: [] });
    expect(report.perNode.map((node: { roundsFinalized: number }) => node.roundsFinalized)).toEqual([0, 0, 0, 0, 0]);
    expect(report.elections.failovers).toHaveLength(1);
    expect(report.elections.restarts).toHaveLength(1);
    const human = await cli('simulate', '--nodes', '5', '--byzantine', '0', '--rounds', '0', '--latency', '2-10', '--crash', 'leader@1000-1500');
    expect(human.stdout.trimEnd().split('\n').at(-1)).toMatch(
      new RegExp(`^SAFE: 5 honest nodes follow ${report.elections.leader} in term ${report.elections.maxTerm} \\(election only, no heights\\)`),
    );
  });

  it.each([
    [['simulate', '--nodes', 'four'], 'error: --nodes must be a positive integer, got "four"\n'],
    [['simulate', '--byzantine', '2'], 'error: --byzantine: 4 nodes tolerate at most f = 1 Byzantine node, got 2\n'],
    [['simulate', '--drop', '2'], 'error: --drop must be a probability from 0 to 1, got 2\n'],
    [['simulate', '--latency', '50-5'], 'error: --latency must not end below where it starts, got 50-5\n'],
    [['simulate', '--crash', 'n9@100'], 'error: --crash: unknown node "n9" (nodes are n0…n3)\n'],
    [['simulate', '--partition', 'later'], 'error: --partition: expected FROM-TO:n0,n1|n2,n3, got "later"\n'],
    [['simulate', '--frobnicate'], "error: unknown option '--frobnicate'\n"],
    [['simulte'], "error: unknown command 'simulte'\n(Did you mean simulate?)\n"],
  ])('refuses %j with one clear line on stderr and exit code 2', async (argv, message) => {
    const { code, stdout, stderr } = await cli(...argv);
    expect(code).toBe(EXIT.usage);
    expect(stdout).toBe('');
    expect(stderr).toBe(message);
  });

  it('--help documents the options, the fault syntax and the behaviours, and exits 0', async () => {
    const { code, stdout } = await cli('simulate', '--help');
    expect(code).toBe(EXIT.ok);
    for (const text of ['--partition FROM-TO:GROUP|GROUP', '--crash NODE@AT[-RESTART]', "NODE 'leader' is whoever leads", '--rounds 0', 'Exit codes:']) {
      expect(stdout).toContain(text);
    }
    // Every behaviour --behaviour accepts is explained.
    for (const behaviour of BEHAVIOUR_OPTIONS) expect(stdout).toMatch(new RegExp(`^  ${behaviour} +\\S`, 'm'));
  });

  it('--sweep runs that many seeded runs and summarises them, attempts per rank included', async () => {
    const { code, stdout } = await cli('simulate', '--sweep', '3', '--seed', '1', '--rounds', '4', '--json');
    expect(code).toBe(EXIT.ok);
    const summary = JSON.parse(stdout);
    expect(summary).toMatchObject({ runs: 3, firstSeed: 1, rounds: 4, violations: 0, stalls: 0, reachedTarget: 3 });
    expect(summary.results.map((run: { seed: number }) => run.seed)).toEqual([1, 2, 3]);
    const committed = summary.results.reduce((sum: number, run: { attempts: { committed: number } }) => sum + run.attempts.committed, 0);
    expect(Object.values(summary.attemptsPerRank as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(committed);

    const human = await cli('simulate', '--sweep', '3', '--seed', '1', '--rounds', '4');
    expect(human.code).toBe(EXIT.ok);
    const histogram = Object.entries(summary.attemptsPerRank as Record<string, number>)
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([needed, ranks]) => `${needed}×${ranks}`)
      .join(' ');
    const [line, verdict] = human.stdout.trimEnd().split('\n');
    expect(line).toMatch(
      new RegExp(
        `^3 runs \\(seeds 1–3, 4 heights each\\): 0 safety violations, 3 reached the target, 0 stalled; ` +
          `fault-free ${summary.faultFreeReached}/${summary.faultFreeRuns} reached; attempts per rank ${histogram}; [\\d.]+ s wall$`,
      ),
    );
    expect(verdict).toBe('SWEEP PASSED');
  });
});
