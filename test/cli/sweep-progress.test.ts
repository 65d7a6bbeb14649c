import { EXIT } from '../../cli/program';
import { roughDuration, sweepEstimate, sweepProgress } from '../../cli/progress';
import { cli } from './harness';

describe('simulate --sweep: estimate and progress on stderr', () => {
  it('says how long it may take before it starts, then reports progress, JSON or not', async () => {
    for (const json of [[], ['--json']]) {
      const { code, stdout, stderr } = await cli('simulate', '--sweep', '2', '--seed', '1', '--rounds', '2', ...json);
      expect(code).toBe(EXIT.ok);
      const lines = stderr.trimEnd().split('\n');
      expect(lines[0]).toBe(sweepEstimate(2, 2).trimEnd());
      expect(lines[1]).toMatch(/^sweep: 1\/2 runs, 0 failed, (under 1 s|\d+ s) so far, (about )?(under 1 s|\d+ s) left$/);
      expect(lines[2]).toMatch(/^sweep: 2\/2 runs, 0 failed, (under 1 s|\d+ s) so far$/);
      expect(lines).toHaveLength(3);
      if (json.length > 0) expect(JSON.parse(stdout)).toMatchObject({ runs: 2 });
      else expect(stdout).toMatch(/SWEEP PASSED\n$/);
    }
  });

  it('the estimate for the README sweep (500 runs of 12 heights) is in minutes', () => {
    expect(sweepEstimate(500, 12)).toBe(
      'sweep: 500 runs of 12 heights, roughly 11 min (about 1.3 s a run on a 2-core machine; bigger clusters and more faults take longer)\n',
    );
    expect(sweepEstimate(1, 1)).toMatch(/^sweep: 1 run of 1 height, roughly 1 s /);
  });

  it('roughDuration reads as a person would say it', () => {
    expect([0.2, 1, 42, 89, 90, 600, 5399, 5400, 36_000].map(roughDuration)).toEqual([
      'under 1 s', '1 s', '42 s', '89 s', '2 min', '10 min', '90 min', '1.5 h', '10.0 h',
    ]);
  });

  it('off a terminal, a line per tenth of the runs with the time left extrapolated from the runs so far', () => {
    const lines: string[] = [];
    let now = 1_000;
    const progress = sweepProgress({ write: (text: string) => lines.push(text), isTTY: false }, 20, () => now);
    for (let done = 1; done <= 20; done += 1) {
      now += 3_000; // three seconds a run
      progress.update(done, done >= 15 ? 1 : 0);
    }
    progress.stop();
    expect(lines).toHaveLength(10);
    expect(lines[0]).toBe('sweep: 2/20 runs, 0 failed, 6 s so far, about 54 s left\n');
    expect(lines[4]).toBe('sweep: 10/20 runs, 0 failed, 30 s so far, about 30 s left\n');
    expect(lines[7]).toBe('sweep: 16/20 runs, 1 failed, 48 s so far, about 12 s left\n');
    expect(lines[9]).toBe('sweep: 20/20 runs, 1 failed, 60 s so far\n');
  });
});
