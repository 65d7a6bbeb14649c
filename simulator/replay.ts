import type { LatencyRange, Partition } from './simulatedNetwork';
import type { SimulationHooks } from './hooks';
import type { CrashSpec, SimulationOptions } from './options';

function range({ min, max }: LatencyRange): string {
  return min === max ? `${min}` : `${min}-${max}`;
}

function partition({ from, to, groups }: Partition): string {
  return `${from}-${to}:${groups.map((group) => group.join(',')).join('|')}`;
}

function crash({ node, at, restartAt }: CrashSpec): string {
  return restartAt === null ? `${node}@${at}` : `${node}@${at}-${restartAt}`;
}

/**
 * The CLI command that replays a run: every option that shapes it, the seed
 * included. Options the CLI does not expose (a lowered quorum in a test) are
 * named in a trailing note, since no command can replay them.
 */
export function replayCommand(options: SimulationOptions): string {
  const parts = [
    'statechart-consensus simulate',
    `--nodes ${options.nodes}`,
    `--byzantine ${options.byzantine}`,
    `--rounds ${options.rounds}`,
    `--seed ${options.seed}`,
    `--behaviour ${options.behaviour}`,
    `--latency ${range(options.latency)}`,
    `--drop ${options.dropRate}`,
  ];
  if (options.duplicateRate > 0) parts.push(`--duplicate ${options.duplicateRate}`);
  if (!options.reorder) parts.push('--no-reorder');
  if (options.proofMs.min !== 5 || options.proofMs.max !== 20) parts.push(`--proof ${range(options.proofMs)}`);
  if (options.storage === 'disk') parts.push('--storage disk');
  if (options.storageMs.max > 0) parts.push(`--storage ${range(options.storageMs)}`);
  if (options.proversPerRank !== undefined) parts.push(`--provers ${options.proversPerRank}`);
  if (options.messaging === 'linear') parts.push('--messaging linear');
  if (options.partitions.length > 0) parts.push(`--partition '${options.partitions.map(partition).join(';')}'`);
  if (options.crashes.length > 0) parts.push(`--crash '${options.crashes.map(crash).join(';')}'`);
  if (options.clients !== undefined && options.clients > 0) parts.push(`--clients ${options.clients}`);
  if (options.services === true) parts.push('--services');
  const command = parts.join(' ');
  const apiOnly: string[] = [];
  if (options.unsafeRule !== undefined) apiOnly.push(`unsafeRule ${options.unsafeRule}`);
  if (options.electionTiming !== undefined) apiOnly.push(`electionTiming ${JSON.stringify(options.electionTiming)}`);
  return apiOnly.length === 0 ? command : `${command}  # plus ${apiOnly.join(', ')} (API only)`;
}

/** Hooks that change what a run does; the others only watch it. */
const RUN_CHANGING_HOOKS = ['sabotageElection', 'omitRound', 'sabotageLog', 'workload'] as const;

/**
 * What a report carries to be run again (`simulate --replay FILE`): every
 * resolved option as plain JSON, and the hooks that changed the run, which
 * no file can carry, so that such a report is refused rather than replayed
 * as another run.
 */
export function replayFields(options: SimulationOptions, hooks: SimulationHooks): { options: SimulationOptions; hooks?: string[] } {
  const used = RUN_CHANGING_HOOKS.filter((name) => hooks[name] !== undefined);
  return { options: structuredClone(options), ...(used.length === 0 ? {} : { hooks: used }) };
}
