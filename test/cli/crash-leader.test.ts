import { EXIT } from '../../cli/program';
import { electionSummary } from '../../cli/render';
import { cli } from './harness';

// `--crash leader@AT` names whoever leads at AT. Before the first election
// ends nobody does: the crash is skipped, and said so.
describe('simulate --crash leader@AT with no leader at AT', () => {
  // --rounds 0: the run waits for the first leader, so the report has its time.
  const argv = ['simulate', '--byzantine', '0', '--rounds', '0', '--latency', '2-10', '--crash', 'leader@50-400'];

  it('--json lists the crash under skippedCrashes, and no failover or restart happened', async () => {
    const { code, stdout } = await cli(...argv, '--json');
    expect(code).toBe(EXIT.ok);
    const report = JSON.parse(stdout);
    expect(report.skippedCrashes).toEqual([{ node: 'leader', at: 50, restartAt: 400, reason: 'no_leader' }]);
    expect(report.elections.failovers).toEqual([]);
    expect(report.elections.restarts).toEqual([]);
    expect(report.perNode.map((node: { crashes: number }) => node.crashes)).toEqual([0, 0, 0, 0]);
    // The first leader came after the crash time: that is why there was none to crash.
    expect(report.elections.firstLeaderMs).toBeGreaterThan(50);
    expect(report.reachedTarget).toBe(true);
  });

  it('the report says so in a line before the verdict', async () => {
    const json = JSON.parse((await cli(...argv, '--json')).stdout);
    const { code, stdout } = await cli(...argv);
    expect(code).toBe(EXIT.ok);
    expect(stdout.split('\n')).toContain(
      `crash skipped: leader@50-400: no node led at 50 ms (the first leader everyone followed came at ${json.elections.firstLeaderMs} ms); nothing crashed and nothing restarted`,
    );
  });

  it('a crash that found its leader is not listed; a named node already taken down as leader is, as already_down', async () => {
    const run = (crash: string) => cli('simulate', '--byzantine', '0', '--rounds', '0', '--latency', '2-10', '--crash', crash, '--json');
    const first = JSON.parse((await run('leader@1000')).stdout);
    expect(first.skippedCrashes).toEqual([]);
    const [failover] = first.elections.failovers;
    expect(failover).toMatchObject({ at: 1000 });
    const leader: string = failover.leaderBefore;

    const again = await run(`leader@1000;${leader}@1500`);
    expect(again.code).toBe(EXIT.ok);
    const report = JSON.parse(again.stdout);
    expect(report.skippedCrashes).toEqual([{ node: leader, at: 1500, restartAt: null, reason: 'already_down' }]);
    expect(electionSummary(report).split('\n')).toContain(`crash skipped: ${leader}@1500: ${leader} was already down at 1500 ms; nothing crashed`);
  });

  it('--help says what happens', async () => {
    const { stdout } = await cli('simulate', '--help');
    expect(stdout.replace(/\s+/g, ' ')).toContain(
      "NODE 'leader' is whoever leads the election at AT. With no leader then (the first one takes a few hundred ms), that crash and its restart are skipped, and the report says so ('crash skipped', skippedCrashes in --json).",
    );
  });
});
