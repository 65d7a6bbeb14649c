// `bench --cluster`: bad flags are refused in-process, before anything
// starts; one short real run of the built CLI (dist/cli.js, which `npm test`
// builds first) brings up three node processes, loads them, and, with etcd
// made unavailable, reports our side and how to install etcd. Nothing here
// asserts a speed: only that requests were acknowledged and that nothing the
// run started is left behind.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterBenchResult, ClusterBenchRow } from '../../bench/cluster';
import { findEtcd } from '../../bench/etcd';
import { EXIT } from '../../cli/program';
import { clusterBenchLines } from '../../cli/renderClusterBench';
import { cli, ROOT } from './harness';

const BUILT_CLI = join(ROOT, 'dist', 'cli.js');

describe('bench --cluster: usage errors', () => {
  it.each([
    [['--nodes', '11'], '--nodes must be at most 10, got 11'],
    [['--nodes', '0'], '--nodes must be a positive integer, got 0'],
    [['--nodes', '4,7'], '--nodes with --cluster is one cluster size, got 4,7'],
    [['--clients', '0'], '--clients must be a positive integer, got 0'],
    [['--clients', '1025'], '--clients must be at most 1024, got 1025'],
    [['--seconds', '0'], '--seconds must be a positive integer, got 0'],
    [['--seconds', '601'], '--seconds must be at most 600, got 601'],
    [['--seconds', 'ten'], '--seconds must be a positive integer, got "ten"'],
    [['--rounds', '5'], '--rounds has no effect with --cluster: it is a bench of its own (it takes --nodes, --clients, --seconds and --json)'],
    [['--storage'], '--storage has no effect with --cluster: it is a bench of its own (it takes --nodes, --clients, --seconds and --json)'],
  ])('bench --cluster %j: one line, exit code 2', async (flags, message) => {
    expect(await cli('bench', '--cluster', ...flags)).toEqual({ code: EXIT.usage, stdout: '', stderr: `error: ${message}\n` });
  });

  it('--clients and --seconds without --cluster are refused', async () => {
    expect(await cli('bench', '--clients', '4', '--seconds', '2')).toEqual({
      code: EXIT.usage,
      stdout: '',
      stderr: 'error: --clients and --seconds apply only with --cluster\n',
    });
  });
});

describe('finding etcd', () => {
  it('ETCD_BIN, when set, is the only place looked at', () => {
    expect(findEtcd({ ETCD_BIN: '/nonexistent/etcd', PATH: process.env.PATH })).toEqual({ found: false, reason: 'ETCD_BIN=/nonexistent/etcd is not an executable file' });
    expect(findEtcd({ ETCD_BIN: process.execPath })).toEqual({ found: true, bin: process.execPath });
  });

  it('without ETCD_BIN, etcd on PATH', () => {
    expect(findEtcd({ PATH: '' })).toEqual({ found: false, reason: 'no etcd on PATH' });
  });
});

const row = (system: 'statechart-consensus' | 'etcd', ackPerSecond: number, p99: number): ClusterBenchRow => ({
  system,
  version: system === 'etcd' ? '3.4.23' : '0.1.0',
  members: system === 'etcd' ? 3 : 4,
  request: 'POST /x',
  clients: 64,
  seconds: 30,
  acknowledged: ackPerSecond * 30,
  acknowledgedPerSecond: ackPerSecond,
  failures: system === 'etcd' ? 0 : 2,
  failureKinds: system === 'etcd' ? {} : { 429: 2 },
  latencyMs: { p50: p99 / 2, p99, max: p99 * 2 },
  cores: { measured: 1.5, generator: 0.1, other: 0.2, busy: 1.8 },
});
const machine = { cpus: 2, cpuModel: 'a CPU', platform: 'linux x64', node: 'v20.0.0' };

describe('bench --cluster: the table', () => {
  it('ours and etcd side by side, then the ratios', () => {
    const result: ClusterBenchResult = { machine, warmupSeconds: 2, ours: row('statechart-consensus', 50, 1500), etcd: row('etcd', 2000, 30), ratio: { throughput: 0.025, p99: 50 } };
    const [header, , ours, etcd, blank, throughput, p99] = clusterBenchLines(result).split('\n');
    for (const column of ['members', 'clients', 'seconds', 'acknowledged/s', 'p50 ms', 'p99 ms', 'failures']) expect(header).toContain(column);
    expect(ours.split(/\s+/)).toEqual(['ours', '4', '64', '30', '50', '750', '1500', '2']);
    expect(etcd.split(/\s+/)).toEqual(['etcd', '3', '64', '30', '2000', '15', '30', '0']);
    expect(blank).toBe('');
    expect(throughput).toMatch(/^ours\/etcd throughput: 0\.025 /);
    expect(p99).toMatch(/^ours\/etcd p99: 50 /);
    expect(clusterBenchLines(result)).toContain('failures: 429 2');
    expect(clusterBenchLines(result)).toContain('ours: cores busy over the window: nodes 1.5, load generator 0.1, other processes 0.2 (machine 1.8 of 2)');
  });

  it('without etcd: our row and why etcd is missing', () => {
    const text = clusterBenchLines({ machine, warmupSeconds: 2, ours: row('statechart-consensus', 50, 1500), etcd: null, etcdUnavailable: 'etcd not found (no etcd on PATH): install it', ratio: null });
    expect(text).toContain('\netcd not found (no etcd on PATH): install it\n');
    expect(text).not.toContain('ours/etcd');
  });
});

describe('bench --cluster: a short real run', () => {
  // The child's temp directory: whatever the run leaves behind is there.
  const temp = mkdtempSync(join(tmpdir(), 'bench-cluster-test-'));
  afterAll(() => rmSync(temp, { recursive: true, force: true }));

  /** Processes whose command line names `temp`: the nodes of the run, if any were left running. */
  function leftBehind(): number[] {
    return readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(temp);
        } catch {
          return false;
        }
      })
      .map(Number);
  }

  it('3 nodes, 4 clients, 2 s, etcd unavailable: our figures, the missing etcd said with how to install it, nothing left behind', async () => {
    if (!existsSync(BUILT_CLI)) throw new Error('dist/cli.js is missing: run `npm run build` (npm test does it first)');
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [BUILT_CLI, 'bench', '--cluster', '--nodes', '3', '--clients', '4', '--seconds', '2', '--json'],
        { cwd: ROOT, encoding: 'utf8', timeout: 45_000, env: { ...process.env, TMPDIR: temp, ETCD_BIN: join(temp, 'no-etcd-here') } },
        (error, stdout, stderr) => resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr }),
      );
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(EXIT.ok);
    const result = JSON.parse(run.stdout) as ClusterBenchResult;
    expect(result.ours).toMatchObject({ system: 'statechart-consensus', members: 3, clients: 4, seconds: 2 });
    expect(result.ours.acknowledged).toBeGreaterThan(0);
    expect(result.ours.latencyMs.p99).toBeGreaterThanOrEqual(result.ours.latencyMs.p50);
    expect(result.etcd).toBeNull();
    expect(result.ratio).toBeNull();
    expect(result.ours.cores.measured).toBeGreaterThan(0);
    expect(result.etcdUnavailable).toMatch(/^etcd not found \(ETCD_BIN=.*no-etcd-here is not an executable file\): apt-get install etcd-server/);
    expect(readdirSync(temp)).toEqual([]);
    expect(leftBehind()).toEqual([]);
  }, 60_000);
});
