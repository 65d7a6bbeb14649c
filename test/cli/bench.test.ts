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

  it('--flood --json refuses every stranger as not_member and keeps what the members send under the bound', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIO = { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t) } };
    const code = await runCli(['bench', '--flood', '100000', '--json'], io);
    expect(err).toEqual([]);
    expect(code).toBe(EXIT.ok);
    const result = JSON.parse(out.join(''));
    expect(result.outcomes.strangers).toEqual({ not_member: 100_000 });
    expect(Object.values(result.outcomes.members as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(100_000);
    expect(result.outcomes.members.accepted).toBeGreaterThan(0);
    for (const row of result.rows) expect(row.held).toBeLessThanOrEqual(result.bound);
    expect(result.rows.filter((row: { phase: string }) => row.phase === 'strangers').every((row: { held: number }) => row.held === 0)).toBe(true);
  });

  it('--flood with --failover is a usage error', async () => {
    const err: string[] = [];
    const io: CliIO = { stdout: { write: () => {} }, stderr: { write: (t: string) => err.push(t) } };
    expect(await runCli(['bench', '--flood', '100000', '--failover'], io)).toBe(EXIT.usage);
    expect(err.join('')).toMatch(/pick one/);
  });
});
