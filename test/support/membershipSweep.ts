// A seeded sweep of membership changes under faults: each seed names one run
// (founders, Byzantine founders and their behaviour, a sequence of adds and
// removes, a partition, a crash-restart, loss, storage, clients), and
// `expectMembershipRunHolds` checks what such a run must show.
import { faultTolerance } from '../../examples/ledger/rules';
import { createSeededRandom, type RandomSource } from '../../providers/random';
import { BEHAVIOUR_OPTIONS } from '../../simulator/byzantine';
import type { MemberChangeSpec } from '../../simulator/membershipPlan';
import { nodeNames, type SimulationOptions } from '../../simulator/options';
import { runSimulation, type SimulationReport } from '../../simulator/runSimulation';
import { forkRandomStreams } from '../../simulator/setup';

/** The simulator's default rank window, which the sweep keeps. */
export const SWEEP_RANK_WINDOW = 16;

function pick<T>(random: RandomSource, items: readonly T[]): T {
  return items[random.integer(0, items.length - 1)];
}

/**
 * Draws 2 to 4 changes, at least one add and one remove. Byzantine founders
 * are known in advance (the simulator draws them from the seed), so a remove
 * is allowed only where the members left still tolerate the Byzantine ones
 * among them: past f the protocol promises nothing, and a failure there
 * would say nothing about membership changes.
 */
function drawChanges(random: RandomSource, founders: readonly string[], joiners: readonly string[], byzantine: readonly string[]): Array<Pick<MemberChangeSpec, 'op' | 'node'>> {
  for (;;) {
    const count = random.integer(2, 4);
    let members = [...founders];
    const waiting = [...joiners];
    const changes: Array<Pick<MemberChangeSpec, 'op' | 'node'>> = [];
    for (let i = 0; i < count; i += 1) {
      const removable = members.filter((node) => {
        const left = members.filter((member) => member !== node);
        return left.length >= 1 && left.filter((member) => byzantine.includes(member)).length <= faultTolerance(left.length);
      });
      const choices = [...(waiting.length > 0 ? (['add'] as const) : []), ...(removable.length > 0 ? (['remove'] as const) : [])];
      if (choices.length === 0) break;
      if (pick(random, choices) === 'add') {
        const node = waiting.shift() as string;
        members = [...members, node];
        changes.push({ op: 'add', node });
      } else {
        const node = pick(random, removable);
        members = members.filter((member) => member !== node);
        changes.push({ op: 'remove', node });
      }
    }
    if (changes.length >= 2 && changes.some((c) => c.op === 'add') && changes.some((c) => c.op === 'remove')) return changes;
  }
}

/**
 * The options of membership-sweep run `seed`. The founders' count cycles
 * 1 to 9 with the seed, so ten consecutive seeds meet every size (and a
 * file of ten costs about what another does); the rest is drawn from it.
 */
export function membershipSweepPlan(seed: number): Partial<SimulationOptions> {
  // The generator's first draws from small seeds are poorly mixed; a forked stream's are not.
  const random = createSeededRandom(seed).fork();
  const founderCount = ((seed - 1) % 9) + 1;
  const nodes = founderCount + random.integer(1, 2);
  const names = nodeNames(nodes);
  const founders = names.slice(0, founderCount);
  const joiners = names.slice(founderCount);
  const byzantineCount = random.integer(0, faultTolerance(founderCount));
  const behaviour = pick(random, BEHAVIOUR_OPTIONS);
  const byzantine = forkRandomStreams(seed, names, byzantineCount, founders).byzantineNames;
  const honest = names.filter((name) => !byzantine.includes(name));
  let at = random.integer(100, 500);
  const memberChanges: MemberChangeSpec[] = drawChanges(random, founders, joiners, byzantine).map((change) => {
    const spec = { ...change, at };
    at += random.integer(200, 800);
    return spec;
  });
  // Cut off an honest founder (a lone founder is cut off from the joiners, which is all there is).
  const victim = pick(random, honest.filter((name) => founders.includes(name)));
  const cutFrom = random.integer(200, 2_000);
  const partitions = [{ from: cutFrom, to: cutFrom + random.integer(300, 1_500), groups: [[victim], names.filter((name) => name !== victim)] }];
  const crashed = pick(random, random.fraction() < 0.5 ? joiners : honest.filter((name) => founders.includes(name)));
  const crashAt = random.integer(200, 3_000);
  const crashes = [{ node: crashed, at: crashAt, restartAt: crashAt + random.integer(200, 1_000) }];
  return {
    seed,
    nodes,
    founders: founderCount,
    byzantine: byzantineCount,
    behaviour,
    memberChanges,
    partitions,
    crashes,
    dropRate: pick(random, [0, 0.01, 0.02]),
    storage: random.fraction() < 0.5 ? 'disk' : 'memory',
    clients: random.integer(1, 3),
    rounds: random.integer(40, 60),
    keepLogs: true,
  };
}

/** The memberships the committed changes imply, one at a time, each from c + rankWindow + 1. */
export function expectedEpochs(founders: readonly string[], committed: ReadonlyArray<{ op: 'add' | 'remove'; node: string; index: number }>): Array<{ from: number; members: string[] }> {
  const epochs = [{ from: 0, members: [...founders] }];
  for (const { op, node, index } of committed) {
    const latest = epochs[epochs.length - 1].members;
    epochs.push({ from: index + SWEEP_RANK_WINDOW + 1, members: op === 'add' ? [...latest, node] : latest.filter((member) => member !== node) });
  }
  return epochs;
}

/** What went wrong with a run, as lines; none when it holds. */
export function membershipRunProblems(plan: Partial<SimulationOptions>, report: SimulationReport): string[] {
  const problems: string[] = [];
  for (const violation of report.violations) problems.push(`${violation.kind}: ${violation.detail}`);
  if (!report.reachedTarget) problems.push(`target not reached: ${report.stallReason}`);
  const { logMatching, membership } = report;
  if (logMatching.certificatesVerified !== logMatching.entries) problems.push(`${logMatching.certificatesVerified} of ${logMatching.entries} certificates verified`);
  if (membership === undefined) return [...problems, 'no membership in the report'];
  const planned = (plan.memberChanges ?? []).map(({ op, node }) => `${op} ${node}`);
  const committed = membership.committed.map(({ op, node }) => `${op} ${node}`);
  if (JSON.stringify(committed) !== JSON.stringify(planned)) problems.push(`committed ${committed.join(', ')}; planned ${planned.join(', ')}`);
  const epochs = expectedEpochs(nodeNames(plan.founders as number), membership.committed);
  if (JSON.stringify(membership.epochs) !== JSON.stringify(epochs)) problems.push(`epochs ${JSON.stringify(membership.epochs)}; the changes imply ${JSON.stringify(epochs)}`);
  // Independent of the checkers' reference: every signer of every certificate an honest
  // log holds is a member at its index by the epochs above, so no joiner signs before it
  // joined and no one removed (a Byzantine founder included) signs after it left.
  const membersAt = (index: number) => epochs.filter((epoch) => epoch.from <= index).at(-1)?.members ?? [];
  for (const [node, entries] of Object.entries(report.logs?.nodes ?? {})) {
    for (const entry of entries) {
      const outsiders = (entry.certificate?.signers ?? []).filter((signer) => !membersAt(entry.index).includes(signer));
      if (outsiders.length > 0) problems.push(`${node}'s entry ${entry.index} signed by non-member ${outsiders.join(', ')}`);
    }
  }
  if (report.logs === undefined) problems.push('no logs in the report');
  return problems;
}

/** Files the sweep is split in, ten seeds each. */
export const MEMBERSHIP_SWEEP_FILES = 7;
/** Wall time one seed may take: the slowest seen here took 16 s (nine founders on disk under flooding). */
export const MEMBERSHIP_SEED_TIMEOUT_MS = 90_000;

/** The seeds of file `file` (1 to MEMBERSHIP_SWEEP_FILES): ten consecutive ones, so every founders' count from 1 to 9. */
export function membershipSweepSeeds(file: number): number[] {
  return Array.from({ length: 10 }, (_, i) => 10 * (file - 1) + 1 + i);
}

/** Runs seed `seed` of the sweep and holds it to `membershipRunProblems`, naming the plan when it fails. */
export async function expectMembershipSeedHolds(seed: number): Promise<void> {
  const plan = membershipSweepPlan(seed);
  const problems = membershipRunProblems(plan, await runSimulation(plan));
  expect(problems.length === 0 ? [] : [`plan ${JSON.stringify(plan)}`, ...problems]).toEqual([]);
}
