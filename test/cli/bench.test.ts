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

  it('--failover --json prints failover p50/p99/max per cluster size and the election cost per node', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIO = { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t) } };
    const code = await runCli(['bench', '--failover', '--nodes', '3', '--seeds', '4', '--heartbeats', '1000', '--json'], io);
    expect(err).toEqual([]);
    expect(code).toBe(EXIT.ok);
    const { failover, cost } = JSON.parse(out.join(''));
    expect(failover).toHaveLength(1);
    const [row] = failover;
    expect(row).toMatchObject({ nodes: 3, seeds: 4, failovers: 4, noLeaderToCrash: 0, boundMs: 600 });
    expect(row.p50).toBeLessThanOrEqual(row.p99);
    expect(row.p99).toBeLessThanOrEqual(row.max);
    expect(row.mean).toBeGreaterThan(0);
    expect(cost).toMatchObject({ heartbeats: 1000, actors: 100 });
    expect(cost.usPerHeartbeat).toBeGreaterThan(0);
    expect(cost.usPerHeartbeatViaNode).toBeGreaterThan(0);
    // Heap readings inside a busy test process are noise (the bench itself
    // reports them from a quiet process): only their presence is checked here.
    expect(Number.isFinite(cost.bytesPerElectionActor)).toBe(true);
    expect(Number.isFinite(cost.bytesPerNode)).toBe(true);
  });
});
