import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT } from '../../cli/program';
import { cli } from './harness';

// A flag that would change nothing where it is given is refused: silently
// ignored, it looks as if it had worked.
describe('flags that would have no effect', () => {
  it.each([
    [['bench', '--seeds', '3'], '--seeds applies only with --failover (the rounds bench runs one seed per size)'],
    [['bench', '--seeds', '3', '--heartbeats', '100'], '--seeds and --heartbeats apply only with --failover (the rounds bench runs one seed per size)'],
    [
      ['simulate', '--sweep', '3', '--nodes', '7', '--drop', '0.1', '--no-reorder'],
      '--nodes, --drop and --no-reorder have no effect with --sweep: each run draws its cluster, Byzantine nodes and faults from its seed (only --seed, --rounds, --json and --messaging apply)',
    ],
    [
      ['simulate', '--sweep', '3', '--crash', 'leader@100'],
      '--crash has no effect with --sweep: each run draws its cluster, Byzantine nodes and faults from its seed (only --seed, --rounds, --json and --messaging apply)',
    ],
    [
      ['simulate', '--inspect', 'ws://127.0.0.1:1', '--drop', '0.1', '--json'],
      "--json has no effect with --inspect: it streams the run's machines, not its report",
    ],
    [['simulate', '--inspect-speed', '2'], '--inspect-speed has no effect without --inspect'],
    [['visualize', '--relay', '--nodes', '5', '--paused'], '--nodes and --paused have no effect with --relay: it runs no cluster, it only relays what apps stream'],
    [['diagram', '--machine', 'all', '--format', 'dot', '--out', join(tmpdir(), 'refused-diagrams')], '--format has no effect with --machine all: it writes every format'],
  ])('%j is refused with one line and exit code 2, before any work', async (argv, message) => {
    expect(await cli(...argv)).toEqual({ code: EXIT.usage, stdout: '', stderr: `error: ${message}\n` });
  });

  it('the flags that do apply are still accepted: bench --failover --seeds, a sweep with --seed --rounds --json', async () => {
    const failover = await cli('bench', '--failover', '--nodes', '3', '--seeds', '2', '--heartbeats', '100', '--json');
    expect(failover.code).toBe(EXIT.ok);
    expect(JSON.parse(failover.stdout).failover[0]).toMatchObject({ nodes: 3, seeds: 2 });
    const sweep = await cli('simulate', '--sweep', '1', '--seed', '4', '--rounds', '2', '--json');
    expect(sweep.code).toBe(EXIT.ok);
    expect(JSON.parse(sweep.stdout)).toMatchObject({ runs: 1, firstSeed: 4, rounds: 2 });
  });
});
