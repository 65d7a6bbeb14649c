import {
  parseBehaviour,
  parseCrashes,
  parseInteger,
  parseIntegerList,
  parsePartitions,
  parseRange,
  resolveOptions,
  SimulationOptionsError,
} from '../../simulator/options';
import { replayCommand } from '../../simulator/replay';

const names = ['n0', 'n1', 'n2', 'n3'];

describe('simulation options', () => {
  it('parses --latency as MIN-MAX or a fixed value', () => {
    expect(parseRange('5-50')).toEqual({ min: 5, max: 50 });
    expect(parseRange(' 20 ')).toEqual({ min: 20, max: 20 });
    expect(parseRange('0.5-1.5')).toEqual({ min: 0.5, max: 1.5 });
    expect(() => parseRange('50-5', '--latency')).toThrow('--latency must not end below where it starts, got 50-5');
    expect(() => parseRange('fast', '--latency')).toThrow('--latency must be MIN-MAX or one value, in ms (e.g. 5-50), got "fast"');
    expect(() => parseRange('5-20000', '--latency', { max: 10_000 })).toThrow('--latency must be at most 10000 ms, got 5-20000');
    expect(() => parseRange('5-7.5', '--proof', { whole: true })).toThrow('--proof must be whole milliseconds, got 5-7.5');
  });

  it('parses --partition FROM-TO:GROUP|GROUP, several separated by ";"', () => {
    expect(parsePartitions('1000-3000:n0,n1|n2,n3', names)).toEqual([{ from: 1000, to: 3000, groups: [['n0', 'n1'], ['n2', 'n3']] }]);
    expect(parsePartitions('0-10:n0; 20-30:n1,n2', names)).toEqual([
      { from: 0, to: 10, groups: [['n0']] },
      { from: 20, to: 30, groups: [['n1', 'n2']] },
    ]);
    expect(() => parsePartitions('3000-1000:n0', names)).toThrow('--partition: "3000-1000:n0" heals at 1000 ms, not after it starts at 3000 ms');
    expect(() => parsePartitions('0-10:n0|n0', names)).toThrow('--partition: "0-10:n0|n0" names a node in two groups');
    expect(() => parsePartitions('0-10:n7', names)).toThrow('--partition "0-10:n7": unknown node "n7" (nodes are n0…n3)');
    expect(() => parsePartitions('soon', names)).toThrow('--partition: expected FROM-TO:n0,n1|n2,n3, got "soon"');
  });

  it('parses --crash NODE@AT[-RESTART]', () => {
    expect(parseCrashes('n2@2000-5000', names)).toEqual([{ node: 'n2', at: 2000, restartAt: 5000 }]);
    expect(parseCrashes('n1@10;n3@20-30', names)).toEqual([
      { node: 'n1', at: 10, restartAt: null },
      { node: 'n3', at: 20, restartAt: 30 },
    ]);
    expect(() => parseCrashes('n2@500-100', names)).toThrow('--crash: "n2@500-100" restarts before it crashes');
    expect(() => parseCrashes('n9@1', names)).toThrow('--crash: unknown node "n9" (nodes are n0…n3)');
    expect(() => parseCrashes('n2', names)).toThrow('--crash: expected NODE@AT-RESTART (e.g. n2@2000-5000), got "n2"');
  });

  it('accepts only the known behaviours', () => {
    expect(parseBehaviour('flood')).toBe('flood');
    expect(() => parseBehaviour('chaos')).toThrow(
      '--behaviour must be one of equivocate, withhold, partial, invalid, garbage, flood, split-commit, shape-shift, mixed, got "chaos"',
    );
  });

  it('refuses more Byzantine nodes than f = ⌊(n−1)/3⌋, with the bound in the message', () => {
    expect(resolveOptions({ nodes: 7, byzantine: 2 }).byzantine).toBe(2);
    expect(() => resolveOptions({ nodes: 4, byzantine: 2 })).toThrow(
      new SimulationOptionsError('--byzantine: 4 nodes tolerate at most f = 1 Byzantine node, got 2'),
    );
    expect(() => resolveOptions({ nodes: 0 })).toThrow('--nodes must be an integer from 1 to 256, got 0');
    expect(() => resolveOptions({ crashes: [{ node: 'n1', at: 1, restartAt: 2 }, { node: 'n1', at: 5, restartAt: 6 }] })).toThrow(
      '--crash: one crash per node',
    );
  });

  it('speaks of the CLI flag, not the option field, when the CLI has one', () => {
    expect(() => resolveOptions({ proversPerRank: 10 })).toThrow(new SimulationOptionsError('--provers must be at most the cluster size (--nodes 4), got 10'));
    expect(() => resolveOptions({ proversPerRank: 0 })).toThrow(new SimulationOptionsError('--provers must be a positive integer, got 0'));
    expect(() => resolveOptions({ traceTail: 0 })).toThrow(new SimulationOptionsError('--trace must be a positive integer, got 0'));
    expect(() => resolveOptions({ dropRate: 1.5 })).toThrow(new SimulationOptionsError('--drop must be a probability from 0 to 1, got 1.5'));
    // No flag: the field it is.
    expect(() => resolveOptions({ rankWindow: 0 })).toThrow(new SimulationOptionsError('rankWindow must be an integer from 1 to 1024, got 0'));
  });

  it('bounds --crash and --partition times to one simulated hour, and parses integers the way they are typed', () => {
    expect(parseCrashes('n1@3600000', names)).toEqual([{ node: 'n1', at: 3_600_000, restartAt: null }]);
    expect(() => parseCrashes('n1@100-3600001', names)).toThrow('--crash times must be at most 3600000 ms (one simulated hour), got "n1@100-3600001"');
    expect(() => parsePartitions('0-3600001:n0', names)).toThrow('--partition times must be at most 3600000 ms (one simulated hour), got "0-3600001:n0"');
    expect(parseInteger(' +7 ', '--seed', 0, 10)).toBe(7);
    expect(Object.is(parseInteger('-0', '--seed', 0, 10), 0)).toBe(true);
    expect(() => parseInteger('11', '--seed', 0, 10)).toThrow('--seed must be at most 10, got 11');
    expect(() => parseInteger('x', '--trace', 2, 10)).toThrow('--trace must be an integer of at least 2, got "x"');
    expect(parseIntegerList('4,7, 16', '--nodes', 1, 256)).toEqual([4, 7, 16]);
  });

  it('turns options back into the command that replays them', () => {
    const options = resolveOptions({
      seed: 7,
      dropRate: 0.05,
      latency: { min: 5, max: 50 },
      partitions: [{ from: 1000, to: 3000, groups: [['n0', 'n1'], ['n2', 'n3']] }],
      crashes: [{ node: 'n2', at: 2000, restartAt: 5000 }],
    });
    expect(replayCommand(options)).toBe(
      "statechart-consensus simulate --nodes 4 --byzantine 1 --rounds 100 --seed 7 --behaviour invalid --latency 5-50 --drop 0.05 --partition '1000-3000:n0,n1|n2,n3' --crash 'n2@2000-5000'",
    );
  });

  it('replays the clients and the services workload too: they change the run', () => {
    expect(replayCommand(resolveOptions({ seed: 7, clients: 2, services: true }))).toBe(
      'statechart-consensus simulate --nodes 4 --byzantine 1 --rounds 100 --seed 7 --behaviour invalid --latency 5-50 --drop 0 --clients 2 --services',
    );
    expect(() => resolveOptions({ services: 'yes' as unknown as boolean })).toThrow('services must be true or false, got yes');
  });
});
