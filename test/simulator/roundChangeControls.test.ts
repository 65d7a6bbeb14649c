import type { UnsafeRoundRule } from '../../examples/ledger/LedgerNode';
import type { SimulationOptions } from '../../simulator/options';
import { runSimulation, type SimulationReport } from '../../simulator/runSimulation';

/**
 * Split-commit plan: the attack locks exist for (`split-commit`: half the
 * cluster locks on a value, one of them commits it late, while the rest are
 * offered another), on n = 4 with latency 5–50 ms and 5 % loss.
 */
function splitCommitPlan(seed: number, unsafeRule?: UnsafeRoundRule): Partial<SimulationOptions> {
  return {
    seed,
    nodes: 4,
    byzantine: 1,
    behaviour: 'split-commit',
    latency: { min: 5, max: 50 },
    dropRate: 0.05,
    rounds: 30,
    unsafeRule,
  };
}

type Plan = (seed: number, unsafeRule?: UnsafeRoundRule) => Partial<SimulationOptions>;

async function runAll(plan: Plan, seeds: readonly number[], unsafeRule?: UnsafeRoundRule): Promise<SimulationReport[]> {
  const reports: SimulationReport[] = [];
  for (const seed of seeds) reports.push(await runSimulation(plan(seed, unsafeRule)));
  return reports;
}

/** Two honest nodes finalized different frames at one height, and the replay names the broken rule. */
function expectCaught(reports: SimulationReport[], rule: UnsafeRoundRule): void {
  const broken = reports.filter((report) => report.violations.length > 0);
  expect(broken.length).toBeGreaterThan(0);
  for (const report of broken) {
    expect(report.agreement).toBe(false);
    const [violation] = report.violations;
    expect(violation.kind).toBe('agreement');
    expect(violation.nodes).toHaveLength(2);
    expect(violation.nodes.every((node) => !report.byzantineNodes.includes(node))).toBe(true);
    expect(violation.replay).toMatch(new RegExp(`# plus unsafeRule ${rule} \\(API only\\)$`));
  }
}

function expectSafeAndLive(reports: SimulationReport[], seeds: readonly number[]): void {
  expect(reports.map((report) => [report.seed, report.violations.map((violation) => violation.detail)])).toEqual(
    seeds.map((seed) => [seed, []]),
  );
  expect(reports.map((report) => [report.seed, report.stalled])).toEqual(seeds.map((seed) => [seed, false]));
}

const WALL_MS = 120_000;

describe('negative control: a round-change rule broken on purpose is caught by the safety checker', () => {
  // Found by searching seeds 1–30 of the plan: 5 and 29 broke agreement; the others did not (since
  // the clock fires a whole instant before promise continuations run; 21 and 29 did before).
  const commitOnVotesSeeds = [5, 6, 28, 29];
  // Seeds 1–60 of the plan: most broke agreement with locks ignored; none with the rules intact.
  const ignoreLocksSeeds = [1, 2, 3, 4];

  it(
    'commit-on-votes (a node commits on 2f + 1 votes, without 2f + 1 matching confirmations) breaks agreement under split-commit',
    async () => {
      expectCaught(await runAll(splitCommitPlan, commitOnVotesSeeds, 'commit-on-votes'), 'commit-on-votes');
    },
    WALL_MS,
  );

  it(
    'ignore-locks (a node votes for, and counts, a later proposal its lock forbids) breaks agreement under split-commit',
    async () => {
      expectCaught(await runAll(splitCommitPlan, ignoreLocksSeeds, 'ignore-locks'), 'ignore-locks');
    },
    WALL_MS,
  );

  it(
    'read-twice (a relayed certificate checked as read, and handed to the engine as read again) is caught under shape-shift',
    async () => {
      const plan = (seed: number, unsafeRule?: UnsafeRoundRule): Partial<SimulationOptions> => ({
        ...splitCommitPlan(seed, unsafeRule),
        behaviour: 'shape-shift',
        rounds: 10,
      });
      const seeds = [1, 2];
      const broken = await runAll(plan, seeds, 'read-twice');
      expect(broken.every((report) => report.violations.length > 0)).toBe(true);
      for (const report of broken) expect(report.violations[0].replay).toMatch(/# plus unsafeRule read-twice \(API only\)$/);
      expectSafeAndLive(await runAll(plan, seeds), seeds);
    },
    WALL_MS,
  );

  it(
    'the same seeds with the rules intact have no violation and reach their target',
    async () => {
      const seeds = [...ignoreLocksSeeds, ...commitOnVotesSeeds];
      expectSafeAndLive(await runAll(splitCommitPlan, seeds), seeds);
    },
    WALL_MS,
  );
});
