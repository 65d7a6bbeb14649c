import { runCli, EXIT, type CliIO } from '../../cli/program';

describe('statechart-consensus bench', () => {
  it('--json prints the XState floor, per cluster size µs per round beside the floor, and idle memory', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIO = { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t) } };
    const code = await runCli(['bench', '--nodes', '4', '--rounds', '3', '--json'], io);
    expect(err).toEqual([]);
    expect(code).toBe(EXIT.ok);
    const { floor, rounds, memory } = JSON.parse(out.join(''));
    // What the figures are made of, never how fast they are: a busy test process says nothing about speed.
    for (const value of [floor.usPerSend, floor.usPerInvoke]) expect(value).toBeGreaterThan(0);
    expect(rounds).toHaveLength(1);
    const [row] = rounds;
    expect(row).toMatchObject({ nodes: 4, rounds: 3, simulatedMs: expect.any(Number), eventsCounted: 'xstate' });
    for (const field of ['roundsPerSecond', 'payloadsPerSecond', 'usPerRound', 'floorUsPerRound', 'ratio', 'eventsPerRound', 'invokesPerRound']) {
      expect(Number.isFinite(row[field])).toBe(true);
      expect(row[field]).toBeGreaterThan(0);
    }
    expect(row.roundsPerSecond).toBeCloseTo((row.rounds / row.wallMs) * 1000, 0);
    expect(row.usPerRound).toBeCloseTo((row.wallMs * 1000) / row.rounds, -1);
    // The demo ledger commits one frame a round of 1–3 entries.
    expect(row.payloadsPerRound).toBeGreaterThanOrEqual(1);
    expect(row.payloadsPerRound).toBeLessThanOrEqual(3);
    const payloadsPerSecond = ((row.payloadsPerRound * row.rounds) / row.wallMs) * 1000;
    expect(Math.abs(row.payloadsPerSecond - payloadsPerSecond)).toBeLessThanOrEqual(0.1 + 0.01 * payloadsPerSecond);
    expect(Math.abs(row.floorUsPerRound - row.eventsPerRound * floor.usPerSend)).toBeLessThanOrEqual(1 + 0.05 * floor.usPerSend);
    // floorUsPerRound is rounded to the µs: the ratio, from the unrounded floor, agrees to within that.
    expect(Math.abs(row.ratio - row.usPerRound / row.floorUsPerRound)).toBeLessThanOrEqual(0.01 + row.ratio / row.floorUsPerRound);
    expect(row.floorWithInvokesUsPerRound).toBeGreaterThanOrEqual(row.floorUsPerRound);
    // Heap readings inside a busy test process are noise: only their presence is checked.
    expect(Number.isFinite(memory.idleNodeBytes)).toBe(true);
    expect(Number.isFinite(memory.idleEngineBytes)).toBe(true);
    expect(memory.count).toBe(200);
  });

  it('the table has µs per round, the floor per round and their ratio, then the floor and the memory', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIO = { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t) } };
    expect(await runCli(['bench', '--nodes', '4', '--rounds', '2'], io)).toBe(EXIT.ok);
    const text = out.join('');
    const [header] = text.split('\n');
    for (const column of ['nodes', 'rounds/s', 'payloads/s', 'µs/round', 'events/round', 'floor µs/round', 'ratio']) expect(header).toContain(column);
    expect(text).toMatch(/^XState floor: [\d.]+ µs per send .*, [\d.]+ µs per invoked fromPromise actor/m);
    expect(text).toMatch(/^memory: -?\d+ bytes per idle node, -?\d+ bytes per idle engine \(200 of each; /m);
    // Progress goes to stderr: the floor, then each size.
    expect(err.join('')).toMatch(/^XState floor: .*\nn = 4: .* µs\/round\n$/);
  });

  it('--rounds is the rounds bench\'s: refused with --failover and --flood', async () => {
    for (const argv of [['bench', '--failover', '--rounds', '5'], ['bench', '--flood', '100000', '--rounds', '5']]) {
      const err: string[] = [];
      const io: CliIO = { stdout: { write: () => {} }, stderr: { write: (t: string) => err.push(t) } };
      expect(await runCli(argv, io)).toBe(EXIT.usage);
      expect(err.join('')).toMatch(/--rounds applies only to the rounds bench/);
    }
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

  it('--payloads --json: Ed25519 costs, then payloads through propose, batched and one per proposal, with and without keys', async () => {
    const out: string[] = [];
    const io: CliIO = { stdout: { write: (t: string) => out.push(t) }, stderr: { write: () => undefined } };
    expect(await runCli(['bench', '--payloads', '100', '--json'], io)).toBe(EXIT.ok);
    const { signing, rows } = JSON.parse(out.join(''));
    for (const value of [signing.usPerSign, signing.usPerVerify, signing.usPerCachedVerify]) expect(value).toBeGreaterThan(0);
    expect(signing.certificates.map((c: { n: number; signers: number }) => [c.n, c.signers])).toEqual([[4, 3], [16, 11], [64, 43]]);
    expect(rows.map((row: { signed: boolean; maxBatch: number; payloads: number }) => [row.signed, row.maxBatch, row.payloads])).toEqual([
      [false, 1, 10],
      [false, 256, 100],
      [true, 1, 10],
      [true, 256, 100],
    ]);
    for (const row of rows) {
      // One payload per proposal takes a rank each; a batch takes far fewer.
      if (row.maxBatch === 1) expect(row.ranks).toBe(row.payloads);
      else expect(row.ranks).toBeLessThan(row.payloads / 10);
      if (!row.signed) expect(row.signsPerNodePerRank).toBe(0);
      if (row.signed) expect(row.signsPerNodePerRank).toBeGreaterThanOrEqual(2);
      expect(row.latencyMs.p50).toBeGreaterThan(0);
      expect(row.latencyMs.p99).toBeGreaterThanOrEqual(row.latencyMs.p50);
    }
  });

  it('--payloads takes no other bench flag', async () => {
    const err: string[] = [];
    const io: CliIO = { stdout: { write: () => undefined }, stderr: { write: (t: string) => err.push(t) } };
    expect(await runCli(['bench', '--payloads', '100', '--nodes', '4'], io)).toBe(EXIT.usage);
    expect(err.join('')).toMatch(/--payloads is a bench of its own/);
  });
});
