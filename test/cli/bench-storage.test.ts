import { EXIT } from '../../cli/program';
import { cli } from './harness';

describe('statechart-consensus bench --storage', () => {
  it('--json: per record size, appends one at a time and batched, with syncs, rates and latencies', async () => {
    const { code, stdout, stderr } = await cli('bench', '--storage', '20', '--json');
    expect(stderr).toBe('');
    expect(code).toBe(EXIT.ok);
    const result = JSON.parse(stdout);
    expect(typeof result.directory).toBe('string');
    expect(result.rows.map((row: { recordBytes: number; concurrency: number; appends: number }) => [row.recordBytes, row.concurrency, row.appends])).toEqual([
      [128, 1, 20],
      [128, 64, 20],
      [1024, 1, 20],
      [1024, 64, 20],
    ]);
    // What the figures are made of, never how fast they are: a busy test machine says nothing about a disk.
    for (const row of result.rows) {
      if (row.concurrency === 1) expect(row.syncs).toBe(row.appends);
      else expect(row.syncs).toBeLessThan(row.appends);
      expect(row.appendsPerSecond).toBeCloseTo((row.appends / row.wallMs) * 1000, 0);
      expect(row.latencyUs.p50).toBeGreaterThan(0);
      expect(row.latencyUs.p99).toBeGreaterThanOrEqual(row.latencyUs.p50);
      expect(row.latencyUs.max).toBeGreaterThanOrEqual(row.latencyUs.p99);
    }
    expect(result.fdatasyncUs.p50).toBeGreaterThan(0);
  });

  it('prints a table without --json', async () => {
    const { code, stdout } = await cli('bench', '--storage', '5');
    expect(code).toBe(EXIT.ok);
    const [first, header, ...rows] = stdout.trimEnd().split('\n');
    expect(first).toMatch(/^write-ahead log in .*: one fdatasync p50 \d+ µs, p99 \d+ µs$/);
    for (const column of ['record B', 'in flight', 'syncs', 'appends/s', 'latency p50/p99 µs']) expect(header).toContain(column);
    expect(rows).toHaveLength(4);
  });

  it('takes no other bench flag but --json', async () => {
    const { code, stderr } = await cli('bench', '--storage', '5', '--nodes', '4');
    expect(code).toBe(EXIT.usage);
    expect(stderr).toMatch(/--nodes has no effect with --storage: it is a bench of its own/);
  });
});
