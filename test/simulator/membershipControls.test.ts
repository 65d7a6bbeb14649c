// Negative control for the membership sweep: with the engine's effective rank
// broken to switch right after the commit (c + 1, only in this file), the
// simulator's own checks, log matching with every certificate verified
// against the membership the agreed chain gives its rank, must report it on
// the same seeds and plan that pass with the engine's rule.
import type { SimulationOptions } from '../../simulator/options';
import { runSimulation } from '../../simulator/runSimulation';
import { membershipRunProblems, SWEEP_RANK_WINDOW } from '../support/membershipSweep';

type Rule = 'engine' | 'switch at the commit';
let mockRule: Rule = 'engine';

jest.mock('../../engine/membership/effectiveRank', () => {
  const actual = jest.requireActual('../../engine/membership/effectiveRank');
  return {
    ...actual,
    effectiveRank: (committedAt: number, rankWindow: number): number =>
      mockRule === 'switch at the commit' ? committedAt + 1 : actual.effectiveRank(committedAt, rankWindow),
  };
});

/**
 * Seeds where the first rank caught is one whose certificate n4 signed as a
 * member before its time. (The joiner fetches its provers and votes as soon
 * as it counts itself a member, so its signature, not a proposal out of
 * turn, is what gives the broken rule away first.)
 */
const CERTIFICATE_SEEDS = [1, 2, 3, 4, 5];

/** 4 → 5 → 4: n4 joins, then n0 leaves, under load and some loss. */
function plan(seed: number): Partial<SimulationOptions> {
  return {
    seed,
    nodes: 5,
    founders: 4,
    byzantine: 0,
    rounds: 50,
    clients: 2,
    dropRate: 0.01,
    memberChanges: [
      { at: 200, op: 'add', node: 'n4' },
      { at: 900, op: 'remove', node: 'n0' },
    ],
    keepLogs: true,
  };
}

async function runUnder(rule: Rule, seed: number) {
  mockRule = rule;
  try {
    const options = plan(seed);
    return { options, report: await runSimulation(options) };
  } finally {
    mockRule = 'engine';
  }
}

/** The earliest violation must fall in a rank the documented rule keeps for the membership before a change. */
function expectCaughtEarly(report: Awaited<ReturnType<typeof runSimulation>>, kind: string, detail: RegExp): void {
  expect(report.violations.map((found) => found.kind)).toEqual([kind]);
  const [violation] = report.violations;
  expect(violation.detail).toMatch(detail);
  const committed = report.membership?.committed ?? [];
  expect(committed.some(({ index }) => violation.rank > index && violation.rank <= index + SWEEP_RANK_WINDOW)).toBe(true);
}

describe('negative control: the sweep\'s checks hold the engine to c + rankWindow + 1', () => {
  it.each(CERTIFICATE_SEEDS)('seed %i: switching right after the commit is reported by log matching (a certificate signed by a non-member)', async (seed) => {
    const { report } = await runUnder('switch at the commit', seed);
    expectCaughtEarly(report, 'log_matching', /certificate that does not verify: n4 is not a member/);
  }, 60_000);

  it.each(CERTIFICATE_SEEDS)('seed %i: with the engine rule the same run passes every check', async (seed) => {
    const { options, report } = await runUnder('engine', seed);
    expect(membershipRunProblems(options, report)).toEqual([]);
  }, 60_000);
});
