// Membership changes through the commit log, under the simulator's faults:
// a node joins, a founder leaves, while clients propose, nodes crash and
// restart, links drop and a partition cuts a member off. The checks are the
// simulator's own (agreement, validity of every acknowledged proposal, log
// matching with every certificate verified against the membership the agreed
// chain gives its rank) plus what a membership change must show in the logs.
import { faultTolerance } from '../../examples/ledger/rules';
import { runSimulation, type SimulationReport } from '../../simulator/runSimulation';
import type { SimulationOptions } from '../../simulator/options';

const W = 16;

/** The signers of every certificate an honest log holds, by index. */
function signersByIndex(report: SimulationReport): Map<number, Set<string>> {
  const byIndex = new Map<number, Set<string>>();
  for (const entries of Object.values(report.logs!.nodes)) {
    for (const entry of entries) {
      const signers = byIndex.get(entry.index) ?? new Set<string>();
      for (const signer of entry.certificate?.signers ?? []) signers.add(signer);
      byIndex.set(entry.index, signers);
    }
  }
  return byIndex;
}

/** Checks a run that added `joiner` and then removed `leaver`, from `founders` members. */
function expectChanged(report: SimulationReport, founders: string[], joiner: string, leaver: string): void {
  expect({ violations: report.violations.map((v) => `${v.kind}: ${v.detail}`), stall: report.stallReason }).toEqual({ violations: [], stall: null });
  expect(report.reachedTarget).toBe(true);
  const { logMatching, membership } = report;
  expect(logMatching.signed).toBe(true);
  expect(logMatching.certificatesVerified).toBe(logMatching.entries);
  expect(membership!.committed.map(({ op, node }) => `${op} ${node}`)).toEqual([`add ${joiner}`, `remove ${leaver}`]);
  const [added, removed] = membership!.committed.map(({ index }) => index);
  expect(membership!.epochs).toEqual([
    { from: 0, members: founders },
    { from: added + W + 1, members: [...founders, joiner] },
    { from: removed + W + 1, members: [...founders, joiner].filter((m) => m !== leaver) },
  ]);
  // The joiner signs only once it is a member; the one that left never after it left.
  const signers = signersByIndex(report);
  const joinerSigned = [...signers].filter(([, s]) => s.has(joiner)).map(([index]) => index);
  const leaverSigned = [...signers].filter(([, s]) => s.has(leaver)).map(([index]) => index);
  if (joinerSigned.length > 0) expect(Math.min(...joinerSigned)).toBeGreaterThanOrEqual(added + W + 1);
  if (leaverSigned.length > 0) expect(Math.max(...leaverSigned)).toBeLessThan(removed + W + 1);
  // Nothing a client was told committed is missing (the validity check), and clients were there.
  expect(report.proposals!.committed).toBeGreaterThan(0);
}

describe('membership change under faults (simulator)', () => {
  it('4 → 5 → 4 under load, with a Byzantine founder, a partition, crash-restarts on disk and loss', async () => {
    for (const [seed, behaviour] of [
      [1, 'equivocate'],
      [2, 'split-commit'],
      [3, 'withhold'],
    ] as const) {
      const report = await runSimulation({
        nodes: 5,
        founders: 4,
        byzantine: 1,
        behaviour,
        seed,
        rounds: 70,
        clients: 2,
        dropRate: 0.02,
        storage: 'disk',
        memberChanges: [
          { at: 300, op: 'add', node: 'n4' },
          { at: 1_200, op: 'remove', node: 'n3' },
        ],
        // n2 cut off across the first change taking effect; the joiner and a founder crash and restart.
        partitions: [{ from: 600, to: 1_500, groups: [['n2'], ['n0', 'n1', 'n3', 'n4']] }],
        crashes: [
          { node: 'n4', at: 1_800, restartAt: 2_300 },
          { node: 'n1', at: 2_600, restartAt: 3_000 },
        ],
        keepLogs: true,
      });
      const byzantine = report.byzantineNodes;
      expect(byzantine).toHaveLength(1);
      expect(['n0', 'n1', 'n2', 'n3']).toContain(byzantine[0]);
      expectChanged(report, ['n0', 'n1', 'n2', 'n3'], 'n4', 'n3');
    }
  }, 240_000);

  it('a member removed can be added back, and a founder removed and added back too', async () => {
    for (const seed of [1, 2]) {
      const report = await runSimulation({
        nodes: 5,
        founders: 4,
        byzantine: 1,
        behaviour: 'mixed',
        seed,
        rounds: 90,
        clients: 2,
        dropRate: 0.01,
        memberChanges: [
          { at: 200, op: 'add', node: 'n4' },
          { at: 300, op: 'remove', node: 'n4' },
          { at: 400, op: 'add', node: 'n4' },
          { at: 500, op: 'remove', node: 'n0' },
          { at: 600, op: 'add', node: 'n0' },
        ],
        crashes: [{ node: 'n4', at: 2_500, restartAt: 3_000 }],
      });
      expect({ violations: report.violations.map((v) => v.detail), stall: report.stallReason }).toEqual({ violations: [], stall: null });
      expect(report.logMatching.certificatesVerified).toBe(report.logMatching.entries);
      expect(report.membership!.committed.map(({ op, node }) => `${op} ${node}`)).toEqual(['add n4', 'remove n4', 'add n4', 'remove n0', 'add n0']);
      expect(report.membership!.epochs.map(({ members }) => members.join(''))).toEqual(['n0n1n2n3', 'n0n1n2n3n4', 'n0n1n2n3', 'n0n1n2n3n4', 'n1n2n3n4', 'n1n2n3n4n0']);
    }
  }, 120_000);

  it.each([1, 2, 3, 4, 5, 6, 7, 8, 9])('from %i founders: one joins, the first founder leaves, with f Byzantine founders', async (size) => {
    const founders = Array.from({ length: size }, (_, i) => `n${i}`);
    const joiner = `n${size}`;
    const options: Partial<SimulationOptions> = {
      nodes: size + 1,
      founders: size,
      byzantine: faultTolerance(size),
      behaviour: 'mixed',
      seed: 100 + size,
      rounds: 50,
      clients: 2,
      dropRate: 0.01,
      ...(size % 2 === 1 ? { storage: 'disk' as const } : {}),
      memberChanges: [
        { at: 200, op: 'add', node: joiner },
        { at: 900, op: 'remove', node: 'n0' },
      ],
      crashes: [{ node: joiner, at: 1_500, restartAt: 1_900 }],
      keepLogs: true,
    };
    const report = await runSimulation(options);
    expectChanged(report, founders, joiner, 'n0');
  }, 120_000);
});
