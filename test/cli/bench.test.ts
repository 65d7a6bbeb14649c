import { runCli, EXIT, type CliIO } from '../../cli/program';

describe('statechart-consensus bench', () => {
  it('--json prints finalized rounds per wall-clock second and wall time per round for each cluster size', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIO = { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t) } };
    const code = await runCli(['bench', '--nodes', '5', '--json'], io);
    expect(err).toEqual([]);
    expect(code).toBe(EXIT.ok);
    const rows = JSON.parse(out.join(''));
    expect(rows).toHaveLength(1);
    const [row] = rows;
    // 5 nodes is not a preset size: 3000 / 5² = 120 rounds.
    expect(row).toMatchObject({ nodes: 5, rounds: 120, simulatedMs: 10 });
    expect(row.roundsPerSecond).toBeCloseTo((row.rounds / row.wallMs) * 1000, 0);
    expect(row.wallMsPerRound).toBeCloseTo(row.wallMs / row.rounds, 1);
  });
});
