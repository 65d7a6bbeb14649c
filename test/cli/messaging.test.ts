import { runCli, EXIT, type CliIO } from '../../cli/program';

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { stdout: { write: (text: string) => out.push(text) }, stderr: { write: (text: string) => err.push(text) } };
  const code = await runCli(argv, io);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

describe('--messaging', () => {
  it('simulate --messaging linear runs linear messaging, and its replay command says so', async () => {
    const { code, stdout } = await cli('simulate', '--nodes', '4', '--byzantine', '1', '--rounds', '4', '--seed', '3', '--messaging', 'linear', '--json');
    expect(code).toBe(EXIT.ok);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ reachedTarget: true, violations: [] });
    expect(report.replay).toContain('--messaging linear');
  });

  it('simulate refuses a mode it does not know', async () => {
    const { code, stderr } = await cli('simulate', '--messaging', 'gossip');
    expect(code).toBe(EXIT.usage);
    expect(stderr).toMatch(/--messaging/);
  });

  it('bench --messaging all-to-all,linear runs every size in each mode, side by side, with messages per round', async () => {
    const { code, stdout } = await cli('bench', '--nodes', '4', '--rounds', '3', '--messaging', 'all-to-all,linear', '--json');
    expect(code).toBe(EXIT.ok);
    const { rounds } = JSON.parse(stdout);
    expect(rounds.map((row: { nodes: number; messaging: string }) => [row.nodes, row.messaging])).toEqual([
      [4, 'all-to-all'],
      [4, 'linear'],
    ]);
    for (const row of rounds) expect(row.messagesPerRound).toBe(Math.round(row.messages / row.rounds));
  });

  it('bench refuses an unknown mode, and --messaging with a bench it does not apply to', async () => {
    expect((await cli('bench', '--messaging', 'linear,star')).stderr).toMatch(/--messaging must list modes among all-to-all, linear, got "star"/);
    const failover = await cli('bench', '--failover', '--messaging', 'linear');
    expect(failover.code).toBe(EXIT.usage);
    expect(failover.stderr).toMatch(/--messaging applies only to the rounds bench, not with --failover/);
  });
});
