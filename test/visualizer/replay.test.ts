import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSimulation, type SimulationReport } from '../../simulator/runSimulation';
import type { SimulationOptions } from '../../simulator/options';
import { runVisualizeCommand, VISUALIZER_EXIT } from '../../visualizer/commands';
import type { VisualizerServer } from '../../visualizer/server';
import { splitCommitPlan } from '../simulator/splitCommitPlan';

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'visualize-replay-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function io() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: { write: (text: string) => (out.stdout += text) }, stderr: { write: (text: string) => (out.stderr += text) } } };
}

/** The report of a run, saved as `simulate --json` prints it. */
async function reportFile(name: string, options: Partial<SimulationOptions>): Promise<{ file: string; report: SimulationReport }> {
  const report = await runSimulation(options);
  const file = join(scratch, name);
  writeFileSync(file, JSON.stringify(report));
  return { file, report };
}

const highest = (server: VisualizerServer) => Math.max(...server.live!.status().map((node) => node.height));

/** Plays the rest of the run as fast as it can, and what the view says of its end. */
async function playToEnd(server: VisualizerServer) {
  await server.control({ type: 'control', action: 'seek', height: 1_000_000 });
  return server.live!.outcome()!;
}

describe('visualize --replay FILE', () => {
  it("opens a stall paused at its frontier, and the run played on is the report's", async () => {
    // Two of four nodes down for good: the two left are never 2f + 1 = 3.
    const { file, report } = await reportFile('stall.json', { byzantine: 0, rounds: 20, seed: 2, latency: { min: 2, max: 10 }, crashes: [{ node: 'n1', at: 300, restartAt: null }, { node: 'n2', at: 300, restartAt: null }] });
    expect(report.stalled).toBe(true);
    const frontier = Math.max(...Object.values(report.roundsFinalized));
    const { out, io: streams } = io();
    const { exitCode, server } = await runVisualizeCommand({ replay: file }, streams);
    try {
      expect(exitCode).toBe(VISUALIZER_EXIT.ok);
      expect(server!.clock()!.paused).toBe(true);
      expect(highest(server!)).toBe(frontier);
      expect(server!.live!.outcome()).toBeNull();
      expect(out.stdout.trimEnd().split('\n').at(-1)).toMatch(new RegExp(`^replay of ${file} \\(stall at height ${frontier}\\): paused at height ${frontier}, \\d+ simulated ms in$`));
      const outcome = await playToEnd(server!);
      expect([outcome.verdict, outcome.traceDigest, outcome.stallReason]).toEqual(['stalled', report.traceDigest, report.stallReason]);
    } finally {
      await server?.close();
    }
  });

  it('opens a violation paused at its height, an option only the API sets (unsafeRule) included', async () => {
    const { file, report } = await reportFile('violation.json', splitCommitPlan(1, 'commit-on-votes'));
    const [violation] = report.violations;
    const { out, io: streams } = io();
    const { server } = await runVisualizeCommand({ replay: file, speed: 0.5 }, streams);
    try {
      expect(server!.clock()).toMatchObject({ paused: true, speed: 0.5 });
      expect(highest(server!)).toBe(violation.rank);
      // The first of the two honest nodes has finalized the height; the second, which disagrees, is yet to.
      expect(server!.live!.outcome()).toBeNull();
      expect(out.stdout).toContain(`replay of ${file} (agreement violation at ${violation.rank}): paused at height ${violation.rank}, `);
      const outcome = await playToEnd(server!);
      expect([outcome.verdict, outcome.traceDigest]).toEqual(['violation', report.traceDigest]);
    } finally {
      await server?.close();
    }
  });

  it('refuses a file that is not a report, and a run too big to draw, with exit code 2', async () => {
    const notReport = join(scratch, 'not-report.json');
    writeFileSync(notReport, '{"seed": 3}');
    const first = io();
    expect(await runVisualizeCommand({ replay: notReport }, first.io)).toEqual({ exitCode: VISUALIZER_EXIT.usage, server: null });
    expect(first.out.stderr).toMatch(new RegExp(`^error: --replay ${notReport}: not the report of one simulate --json run`));
    const { file } = await reportFile('big.json', { nodes: 40, byzantine: 0, rounds: 1, trace: false });
    const second = io();
    expect(await runVisualizeCommand({ replay: file }, second.io)).toEqual({ exitCode: VISUALIZER_EXIT.usage, server: null });
    expect(second.out.stderr).toBe(`error: --replay ${file}: the live view plays at most 32 nodes, the run has 40\n`);
  });
});
