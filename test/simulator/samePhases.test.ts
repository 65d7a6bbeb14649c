import { runSimulation } from '../../simulator/runSimulation';
import type { SimulationOptions } from '../../simulator/options';

/**
 * Splitting `runSimulation` into phases must not change a run. The digests
 * below were recorded with the single-function runner, before the split: they
 * are the behaviour the phases have to preserve, not values derived from them.
 */
const CASES: Array<{ name: string; options: Partial<SimulationOptions>; digest: string; violations: number; reachedTarget: boolean }> = [
  { name: 'one node', options: { nodes: 1, byzantine: 0, rounds: 8, seed: 3 }, digest: '8d5768fcf56b97c6137460ec45b59b31e48987eb12c7ca916e9669cd36794c39', violations: 0, reachedTarget: true },
  { name: 'four, one invalid', options: { nodes: 4, byzantine: 1, rounds: 15, seed: 11 }, digest: '3569fedaaffcbe9f4f6b5495a48ec48c8063fd3c1740548113f3898ef75f7704', violations: 0, reachedTarget: true },
  { name: 'seven, two flooding', options: { nodes: 7, byzantine: 2, behaviour: 'flood', rounds: 10, seed: 5 }, digest: '17ea1fb1777be94691def3b9ed1bb7a5a033c7160730dff8a8901638dcd764f4', violations: 0, reachedTarget: true },
  {
    name: 'seven, split-commit across a partition',
    options: { nodes: 7, byzantine: 2, behaviour: 'split-commit', rounds: 12, seed: 7, partitions: [{ from: 300, to: 900, groups: [['n0', 'n1'], ['n2', 'n3', 'n4', 'n5', 'n6']] }] },
    digest: '165b253ac93d0d003526acb0053c33799b24bee8c889d37de19f8dc52aba64cf', violations: 0, reachedTarget: true,
  },
  {
    name: 'five, crashes and a restart',
    options: { nodes: 5, byzantine: 1, behaviour: 'mixed', rounds: 15, seed: 21, crashes: [{ node: 'n2', at: 300, restartAt: 1_200 }, { node: 'n4', at: 600, restartAt: null }] },
    digest: 'b43895eabe2ae0121f00768fab1f64864bf2318f21d21cea5780113d5dc09c28', violations: 0, reachedTarget: true,
  },
  {
    name: 'four on disk, leader crash',
    options: { nodes: 4, byzantine: 0, rounds: 12, seed: 8, storage: 'disk', crashes: [{ node: 'leader', at: 500, restartAt: 1_500 }] },
    digest: '1bfd5b67c3971d5ff04871a5028d625800464e7602c09d7144b4ac7c5b4d7d92', violations: 0, reachedTarget: true,
  },
  { name: 'ten, equivocating, lossy', options: { nodes: 10, byzantine: 3, behaviour: 'equivocate', rounds: 8, seed: 13, dropRate: 0.05, duplicateRate: 0.05, reorder: true }, digest: '60b3e4d0461f4e28a08deba49d122ecfd2cb13f31c8fab218298bd0598c831d9', violations: 0, reachedTarget: true },
  { name: 'four with clients', options: { nodes: 4, byzantine: 1, behaviour: 'withhold', rounds: 12, seed: 17, clients: 2 }, digest: 'c70e866b16117ff8d48cd607e05d3f9b878ea95ee65061e8293e663e767310e8', violations: 0, reachedTarget: true },
  { name: 'four with services', options: { nodes: 4, byzantine: 0, rounds: 12, seed: 19, services: true }, digest: 'e524970c9985ccc3bc2b4ae628f996fe2dd58d76e51dac1939b33a7f91292e9f', violations: 0, reachedTarget: true },
  {
    name: 'founders and member changes',
    options: {
      nodes: 5, founders: 4, byzantine: 1, rounds: 30, seed: 23, storage: 'disk', clients: 1,
      memberChanges: [{ at: 300, op: 'add', node: 'n4' }, { at: 1_200, op: 'remove', node: 'n3' }],
    },
    digest: 'f8006e2356fedbda18d4a9efee7598eb6405b0fd59ae480e38494c42a7790d75', violations: 0, reachedTarget: true,
  },
  { name: 'seven, linear messaging', options: { nodes: 7, byzantine: 2, behaviour: 'partial', rounds: 10, seed: 29, messaging: 'linear' }, digest: '3a8254717f8564e1e872a9621a99c39601f9539cd38dac3c683706a0070b110c', violations: 0, reachedTarget: true },
  { name: 'election only, partitioned', options: { nodes: 5, byzantine: 0, rounds: 0, seed: 31, latency: { min: 2, max: 10 }, partitions: [{ from: 1_000, to: 2_500, groups: [['n0']] }] }, digest: '3077e5fcdf5000fd977b45cbc7a79ff6612b6aebe3ec39563add175503e15767', violations: 0, reachedTarget: true },
  { name: 'a broken rule', options: { nodes: 4, byzantine: 1, behaviour: 'equivocate', rounds: 20, seed: 2, unsafeRule: 'commit-on-votes' }, digest: '07a4c9f2b12d3cacd494b37bf621a03016bc019d06b59b77be672740873fa708', violations: 0, reachedTarget: true },
];

describe('runSimulation in phases', () => {
  it.each(CASES)('$name: the same run as before the split', async ({ options, digest, violations, reachedTarget }) => {
    const report = await runSimulation(options);
    expect({ digest: report.traceDigest, violations: report.violations.length, reachedTarget: report.reachedTarget }).toEqual({ digest, violations, reachedTarget });
  });
});
