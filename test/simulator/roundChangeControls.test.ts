import type { UnsafeRoundRule } from '../../examples/ledger/LedgerNode';
import type { SimulationOptions } from '../../simulator/options';
import { splitCommitPlan } from './splitCommitPlan';
import { runSimulation, type SimulationReport } from '../../simulator/runSimulation';


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
  // Found by searching seeds 1–40 of the plan (engines without keys, as the broken rules need):
  // 17 of them broke agreement, 1, 2, 3 and 12 the first.
  const commitOnVotesSeeds = [1, 2, 3, 12];
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
    'shape-shift: certificates whose frame changes after it is read once fool no engine (each reads a peer\'s value once, and checks that copy\'s signatures)',
    async () => {
      const plan = (seed: number): Partial<SimulationOptions> => ({ ...splitCommitPlan(seed), behaviour: 'shape-shift', rounds: 10 });
      const seeds = [1, 2];
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
