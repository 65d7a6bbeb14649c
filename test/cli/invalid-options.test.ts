import { EXIT } from '../../cli/program';
import { MAX_DELAY_MS, MAX_FAULT_MS, MAX_NODES } from '../../simulator/options';
import { cli } from './harness';

// Every numeric and enum flag of every command, refused with one line that
// names the flag as typed, exit code 2, and nothing on stdout.
const CASES: [string[], string][] = [
  // simulate
  [['simulate', '--nodes', '-3'], '--nodes must be a positive integer, got -3'],
  [['simulate', '--nodes', '0'], '--nodes must be a positive integer, got 0'],
  [['simulate', '--nodes', 'four'], '--nodes must be a positive integer, got "four"'],
  [['simulate', '--nodes', ''], '--nodes must be a positive integer, got ""'],
  [['simulate', '--nodes', '3.5'], '--nodes must be a positive integer, got 3.5'],
  [['simulate', '--nodes', '1e3'], '--nodes must be a positive integer, got "1e3"'],
  [['simulate', '-n', `${MAX_NODES + 1}`], `--nodes must be at most ${MAX_NODES}, got ${MAX_NODES + 1}`],
  [['simulate', '--byzantine', '-1'], '--byzantine must be a non-negative integer, got -1'],
  [['simulate', '--byzantine', '2'], '--byzantine: 4 nodes tolerate at most f = 1 Byzantine node, got 2'],
  [['simulate', '--nodes', '3'], '--byzantine defaults to 1, but 3 nodes tolerate at most f = 0 Byzantine nodes: give --byzantine 0 (or more --nodes)'],
  [['simulate', '--rounds', '-1'], '--rounds must be a non-negative integer, got -1'],
  [['simulate', '--seed', '-1'], '--seed must be a non-negative integer, got -1'],
  [['simulate', '--seed', '99999999999999999999'], `--seed must be at most ${Number.MAX_SAFE_INTEGER}, got 99999999999999999999`],
  [['simulate', '--behaviour', 'chaos'], '--behaviour must be one of equivocate, withhold, partial, invalid, garbage, flood, split-commit, shape-shift, mixed, got "chaos"'],
  [['simulate', '--drop', '-0.1'], '--drop must be a probability from 0 to 1, got -0.1'],
  [['simulate', '--drop', '2'], '--drop must be a probability from 0 to 1, got 2'],
  [['simulate', '--drop', 'NaN'], '--drop must be a probability from 0 to 1, got "NaN"'],
  [['simulate', '--duplicate', '1.5'], '--duplicate must be a probability from 0 to 1, got 1.5'],
  [['simulate', '--latency', '50-5'], '--latency must not end below where it starts, got 50-5'],
  [['simulate', '--latency', '-5'], '--latency must be MIN-MAX or one value, in ms (e.g. 5-50), got -5'],
  [['simulate', '--latency', `${MAX_DELAY_MS + 1}`], `--latency must be at most ${MAX_DELAY_MS} ms, got ${MAX_DELAY_MS + 1}`],
  [['simulate', '--proof', '1.5'], '--proof must be whole milliseconds, got 1.5'],
  [['simulate', '--proof', '0-999999999'], `--proof must be at most ${MAX_DELAY_MS} ms, got 0-999999999`],
  [['simulate', '--provers', '0'], '--provers must be a positive integer, got 0'],
  [['simulate', '--provers', '10'], '--provers must be at most the cluster size (--nodes 4), got 10'],
  [['simulate', '--trace', '0'], '--trace must be a positive integer, got 0'],
  [['simulate', '--sweep', '0'], '--sweep must be a positive integer, got 0'],
  [['simulate', '--sweep', '-1'], '--sweep must be a positive integer, got -1'],
  [['simulate', '--sweep', '2', '--seed', `${Number.MAX_SAFE_INTEGER}`], `--seed ${Number.MAX_SAFE_INTEGER} with --sweep 2 would run seeds past ${Number.MAX_SAFE_INTEGER}, the largest --seed`],
  [['simulate', '--crash', 'n1@99999999'], `--crash times must be at most ${MAX_FAULT_MS} ms (one simulated hour), got "n1@99999999"`],
  [['simulate', '--partition', '0-99999999:n0'], `--partition times must be at most ${MAX_FAULT_MS} ms (one simulated hour), got "0-99999999:n0"`],
  [['simulate', '--inspect', 'ws://127.0.0.1:1', '--inspect-speed', '-1'], '--inspect-speed must be 0 (as fast as possible) or a number up to 16, got "-1"'],
  [['simulate', '--inspect', 'ws://127.0.0.1:1', '--nodes', '40'], '--nodes with --inspect must be at most 32, got 40'],
  [['simulate', '--inspect', 'ws://127.0.0.1:1', '--byzantine', '2'], '--byzantine: 4 nodes tolerate at most f = 1 Byzantine node, got 2'],
  // bench
  [['bench', '--nodes', '-3'], '--nodes must be a positive integer, got -3'],
  [['bench', '--nodes', '4,,7'], '--nodes must be a comma-separated list of integers (e.g. 4,7,16), got "4,,7"'],
  [['bench', '--nodes', `4,${MAX_NODES + 1}`], `--nodes must be at most ${MAX_NODES}, got ${MAX_NODES + 1}`],
  [['bench', '--failover', '--seeds', '0'], '--seeds must be a positive integer, got 0'],
  [['bench', '--failover', '--heartbeats', '-5'], '--heartbeats must be a positive integer, got -5'],
  [['bench', '--failover', '--nodes', '3,2'], '--nodes with --failover must be at least 3 (a new leader needs a majority of the rest), got 2'],
  // visualize
  [['visualize', '--nodes', '0'], '--nodes must be a positive integer, got 0'],
  [['visualize', '--nodes', '33'], '--nodes must be at most 32, got 33'],
  [['visualize', '--nodes', '3', '--byzantine', '1'], '--byzantine: 3 nodes tolerate at most f = 0 Byzantine nodes, got 1'],
  [['visualize', '--nodes', '2'], '--byzantine defaults to 1, but 2 nodes tolerate at most f = 0 Byzantine nodes: give --byzantine 0 (or more --nodes)'],
  [['visualize', '--seed', '-1'], '--seed must be a non-negative integer, got -1'],
  [['visualize', '--port', '70000'], '--port must be at most 65535, got 70000'],
  [['visualize', '--port', '-1'], '--port must be a non-negative integer, got -1'],
  [['visualize', '--speed', '0'], '--speed must be a number above 0 and at most 16, got "0"'],
  [['visualize', '--speed', '17'], '--speed must be a number above 0 and at most 16, got "17"'],
  // diagram
  [['diagram', '--machine', 'ledger'], '--machine must be one of round, election, node, all, got "ledger"'],
  [['diagram', '--machine', 'round', '--format', 'png'], '--format must be one of mermaid, dot, svg, got "png"'],
  [['diagram', '--machine', 'round', '--out', ''], '--out must name a file (a directory with --machine all), got ""'],
];

describe('invalid options', () => {
  it.each(CASES)('%j: one line naming the flag, exit code 2', async (argv, message) => {
    expect(await cli(...argv)).toEqual({ code: EXIT.usage, stdout: '', stderr: `error: ${message}\n` });
  });
});
