import {
  parseBehaviour,
  parseCrashes,
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
    expect(() => parseRange('50-5', '--latency')).toThrow('--latency: 50-5 has its maximum below its minimum');
    expect(() => parseRange('fast', '--latency')).toThrow('--latency: expected MIN-MAX or a number in ms, got "fast"');
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
      '--behaviour: expected one of equivocate, withhold, partial, invalid, garbage, flood, split-commit, mixed, got "chaos"',
    );
  });

  it('refuses more Byzantine nodes than f = ⌊(n−1)/3⌋, with the bound in the message', () => {
    expect(resolveOptions({ nodes: 7, byzantine: 2 }).byzantine).toBe(2);
    expect(() => resolveOptions({ nodes: 4, byzantine: 2 })).toThrow(
      new SimulationOptionsError('--byzantine: 4 nodes tolerate at most f = 1 Byzantine node, got 2'),
    );
    expect(() => resolveOptions({ nodes: 0 })).toThrow('--nodes: expected an integer within [1, 256], got 0');
    expect(() => resolveOptions({ crashes: [{ node: 'n1', at: 1, restartAt: 2 }, { node: 'n1', at: 5, restartAt: 6 }] })).toThrow(
      '--crash: one crash per node',
    );
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
});
