import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT } from '../../cli/program';
import { runSimulation } from '../../simulator/runSimulation';
import { splitCommitPlan } from '../simulator/splitCommitPlan';
import { cli } from './harness';

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'simulate-replay-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function saved(name: string, content: unknown): string {
  const file = join(scratch, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

// Two of four nodes down for good: the two left are never 2f + 1 = 3.
const STALL = ['--byzantine', '0', '--rounds', '20', '--seed', '2', '--latency', '2-10', '--crash', 'n1@300;n2@300'];

describe('simulate --replay FILE', () => {
  it('reruns a violation found through an option only the API sets (unsafeRule): same digest, same violation', async () => {
    // Seed 1 of the split-commit plan breaks agreement once commits skip the confirmations (roundChangeControls.test.ts).
    const original = await runSimulation(splitCommitPlan(1, 'commit-on-votes'));
    expect(original.violations).toHaveLength(1);
    const file = saved('violation.json', original);
    const { code, stdout, stderr } = await cli('simulate', '--replay', file, '--json');
    expect(code).toBe(EXIT.unsafe);
    const replayed = JSON.parse(stdout);
    expect(replayed.traceDigest).toBe(original.traceDigest);
    expect(replayed.options.unsafeRule).toBe('commit-on-votes');
    const [violation] = original.violations;
    expect(replayed.violations.map(({ kind, rank, at, nodes }: typeof violation) => ({ kind, rank, at, nodes }))).toEqual([
      { kind: violation.kind, rank: violation.rank, at: violation.at, nodes: violation.nodes },
    ]);
    expect(stderr).toBe(`replay of ${file} (agreement violation at ${violation.rank}): the same trace digest as the report\n`);
  });

  it("reruns a stall that simulate --json reported, and prints simulate's table and verdict without --json", async () => {
    const first = await cli('simulate', ...STALL, '--json');
    expect(first.code).toBe(EXIT.stalled);
    const original = JSON.parse(first.stdout);
    const file = saved('stall.json', first.stdout);
    const json = await cli('simulate', '--replay', file, '--json');
    expect(json.code).toBe(EXIT.stalled);
    const replayed = JSON.parse(json.stdout);
    expect([replayed.traceDigest, replayed.stallReason, replayed.options]).toEqual([original.traceDigest, original.stallReason, original.options]);
    const frontier = Math.max(...(Object.values(original.roundsFinalized) as number[]));
    expect(json.stderr).toBe(`replay of ${file} (stall at height ${frontier}): the same trace digest as the report\n`);
    const edited = saved('edited.json', { ...original, traceDigest: 'f00d' });
    const mismatch = await cli('simulate', '--replay', edited, '--json');
    expect([mismatch.code, JSON.parse(mismatch.stdout).traceDigest]).toEqual([EXIT.stalled, original.traceDigest]);
    expect(mismatch.stderr).toBe(
      `replay of ${edited} (stall at height ${frontier}): trace digest ${original.traceDigest} differs from the report's f00d: the code, or the file, changed since the report was made\n`,
    );
    const table = await cli('simulate', '--replay', file);
    expect(table.code).toBe(EXIT.stalled);
    const unwalled = (text: string) => text.replace(/[\d.]+ s wall/, 'wall');
    expect(unwalled(table.stdout)).toBe(unwalled((await cli('simulate', ...STALL)).stdout));
  });

  const options = { nodes: 4, byzantine: 1, rounds: 5, seed: 1, behaviour: 'invalid', latency: { min: 5, max: 50 }, dropRate: 0, duplicateRate: 0, reorder: true, partitions: [], crashes: [], proofMs: { min: 5, max: 20 }, storageMs: { min: 0, max: 0 }, storage: 'memory', rankWindow: 16, traceTail: 64, keepTrace: false, trace: true };
  const report = { options, violations: [], stalled: false, roundsFinalized: { n0: 5 }, traceDigest: 'abc' };
  it.each([
    ['not JSON', 'seed 7', /^not JSON \(/],
    ['a sweep summary', { runs: 3, firstSeed: 1, results: [] }, /^a sweep's summary, not the report of one run: each of its results carries the command that replays it/],
    ['a report without options', { seed: 1, violations: [] }, /^not the report of one simulate --json run \(it has no "options" field/],
    ['a mistyped option', { ...report, options: { ...options, nodes: 'four' } }, /^not the report of one simulate --json run \(options\.nodes: .*number/],
    ['an option this version does not know', { ...report, options: { ...options, quorum: 2 } }, /^not the report of one simulate --json run \(options: .*quorum/],
    ['a crash before the run starts', { ...report, options: { ...options, crashes: [{ node: 'n1', at: -5, restartAt: null }] } }, /^not the report of one simulate --json run \(options\.crashes\.0\.at: /],
    ['options that make no run', { ...report, options: { ...options, byzantine: 2 } }, /^its options do not make a run: --byzantine: 4 nodes tolerate at most f = 1/],
    ['a run changed by hooks', { ...report, hooks: ['sabotageLog'] }, /^the run was changed through API hooks \(sabotageLog\), which no file carries/],
  ])('refuses %s with one line and exit code 2', async (name, content, message) => {
    const file = saved(`${name.replace(/ /g, '-')}.json`, content);
    const { code, stdout, stderr } = await cli('simulate', '--replay', file);
    expect([code, stdout]).toEqual([EXIT.usage, '']);
    expect(stderr.startsWith(`error: --replay ${file}: `)).toBe(true);
    expect(stderr.slice(`error: --replay ${file}: `.length)).toMatch(message);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('refuses a missing file, and a flag that would shape another run (visualize too)', async () => {
    const missing = join(scratch, 'missing.json');
    expect(await cli('simulate', '--replay', missing)).toEqual({ code: EXIT.usage, stdout: '', stderr: `error: --replay ${missing}: cannot read it (no such file)\n` });
    const file = saved('safe.json', report);
    expect(await cli('simulate', '--replay', file, '--seed', '3', '--drop', '0.1', '--json')).toEqual({
      code: EXIT.usage,
      stdout: '',
      stderr: 'error: --seed and --drop have no effect with --replay: the run is the one the report describes (only --json, --metrics and --trace apply)\n',
    });
    expect(await cli('visualize', '--replay', file, '--nodes', '5', '--relay')).toEqual({
      code: EXIT.usage,
      stdout: '',
      stderr: 'error: --nodes and --relay have no effect with --replay: the run is the one the report describes (only --port, --speed and --paused apply)\n',
    });
  });
});
