import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { runCli, EXIT, type CliIO } from '../../cli/program';
import { runSimulation } from '../../simulator';
import { resolveOptions, SimulationOptionsError } from '../../simulator/options';
import { sweepPlan } from '../../simulator/sweep';

const diskDirectories = () => readdirSync(tmpdir()).filter((name) => name.startsWith('simulated-disk-')).length;

async function cli(...argv: string[]) {
  const out: string[] = [];
  const io: CliIO = { stdout: { write: (text: string) => out.push(text), isTTY: false }, stderr: { write: () => undefined, isTTY: false } };
  const code = await runCli(argv, io);
  return { code, stdout: out.join('') };
}

describe('simulate --storage disk', () => {
  // Every honest node crashes and restarts once, at staggered times, so each reads its store back from disk.
  const rolling = {
    nodes: 4,
    byzantine: 1,
    rounds: 12,
    seed: 5,
    storage: 'disk' as const,
    crashes: [
      { node: 'n0', at: 300, restartAt: 700 },
      { node: 'n1', at: 900, restartAt: 1300 },
      { node: 'n2', at: 1500, restartAt: 1900 },
      { node: 'n3', at: 2100, restartAt: 2500 },
    ],
  };

  it('runs every honest node on its own store on disk, restarts them from it, stays safe and reaches the target', async () => {
    const before = diskDirectories();
    const report = await runSimulation(rolling);
    expect(report.violations).toEqual([]);
    expect(report.reachedTarget).toBe(true);
    expect(report.logMatching.entries).toBeGreaterThan(0);
    expect(report.replay).toContain('--storage disk');
    // The stores live in a temp directory of the run's own, gone once it ends.
    expect(diskDirectories()).toBe(before);
  });

  it('replays a seed exactly: the disk finishes its writes before simulated time moves on', async () => {
    const [first, second] = [await runSimulation(rolling), await runSimulation(rolling)];
    expect(second.traceDigest).toBe(first.traceDigest);
    expect(second.events).toBe(first.events);
  });

  it('the CLI takes disk or a range of milliseconds, and nothing else', async () => {
    const { code, stdout } = await cli('simulate', '--storage', 'disk', '--rounds', '3', '--seed', '2', '--json');
    expect(code).toBe(EXIT.ok);
    expect(JSON.parse(stdout)).toMatchObject({ reachedTarget: true, violations: [] });
    expect(JSON.parse(stdout).replay).toContain('--storage disk');
    expect((await cli('simulate', '--storage', 'tape', '--rounds', '1')).code).toBe(EXIT.usage);
    expect(() => resolveOptions({ storage: 'tape' as 'disk' })).toThrow(SimulationOptionsError);
  });

  it('the sweep runs one seed in ten on disk, every cluster size among them', () => {
    const onDisk = Array.from({ length: 300 }, (_, i) => sweepPlan(i + 1, 10)).filter((plan) => plan.storage === 'disk');
    expect(onDisk).toHaveLength(30);
    expect(new Set(onDisk.map((plan) => plan.nodes)).size).toBe(10);
  });
});
