import { Option, type Command } from 'commander';
import { BEHAVIOUR_OPTIONS } from '../simulator/byzantine';
import {
  DEFAULT_SIMULATION_OPTIONS,
  MAX_DELAY_MS,
  nodeNames,
  parseBehaviour,
  parseCrashes,
  parseInteger,
  parsePartitions,
  parseProbability,
  parseRange,
  type SimulationOptions,
} from '../simulator/options';
import { argument } from './usage';
import type { MessagingMode } from '../engine/config';

/** How votes and confirmations may travel (`--messaging`). */
export const MESSAGING_MODES: MessagingMode[] = ['all-to-all', 'linear'];

/**
 * The flags that shape a simulated run, declared once: `simulate` runs it,
 * `visualize` shows it in the live view, so the same flags give the same run.
 */

/** `--storage`: a real disk, or how long each write to the in-memory one takes. */
export type StorageFlag = SimulationOptions['storageMs'] | 'disk';

export interface SimulationFlags {
  clients?: number;
  messaging: MessagingMode;
  nodes: number;
  byzantine: number;
  rounds: number;
  seed: number;
  behaviour: SimulationOptions['behaviour'];
  drop: number;
  duplicate: number;
  latency: SimulationOptions['latency'];
  reorder: boolean;
  proof: SimulationOptions['proofMs'];
  storage: StorageFlag;
  provers?: number;
  partition: string[];
  crash: string[];
  services?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];
const range = ({ min, max }: { min: number; max: number }) => (min === max ? `${min}` : `${min}-${max}`);

/** Declares the run's flags on `command`; `maxNodes` bounds `--nodes` (the live view draws fewer than a run can have). */
export function addSimulationOptions(command: Command, maxNodes: number): Command {
  const integer = (flag: string, min: number, max: number) => argument((t) => parseInteger(t, flag, min, max));
  return command
    .option('-n, --nodes <n>', `cluster size (1–${maxNodes})`, integer('--nodes', 1, maxNodes), DEFAULT_SIMULATION_OPTIONS.nodes)
    .option('-b, --byzantine <f>', 'Byzantine nodes, at most ⌊(n−1)/3⌋', integer('--byzantine', 0, maxNodes), DEFAULT_SIMULATION_OPTIONS.byzantine)
    .option('-r, --rounds <n>', 'heights every live honest node must finalize (0: the election alone)', integer('--rounds', 0, 1_000_000), DEFAULT_SIMULATION_OPTIONS.rounds)
    .option('-s, --seed <n>', 'seed of every random choice; the same seed replays the same run', integer('--seed', 0, Number.MAX_SAFE_INTEGER), DEFAULT_SIMULATION_OPTIONS.seed)
    .addOption(
      new Option('--behaviour <kind>', 'what the Byzantine nodes do')
        .choices(BEHAVIOUR_OPTIONS as string[])
        .default(DEFAULT_SIMULATION_OPTIONS.behaviour)
        .argParser(argument(parseBehaviour)),
    )
    .option('--drop <p>', 'probability that a message is lost', argument((t) => parseProbability(t, '--drop')), 0)
    .option('--duplicate <p>', 'probability that a message is delivered twice', argument((t) => parseProbability(t, '--duplicate')), 0)
    .addOption(
      new Option('--latency <ms>', `one-way latency per message, MIN-MAX or a fixed value (at most ${MAX_DELAY_MS})`)
        .argParser(argument((t) => parseRange(t, '--latency', { max: MAX_DELAY_MS })))
        .default(DEFAULT_SIMULATION_OPTIONS.latency, range(DEFAULT_SIMULATION_OPTIONS.latency)),
    )
    .option('--no-reorder', 'keep every link FIFO (by default a faster message overtakes a slower one)')
    .addOption(
      new Option('--proof <ms>', `simulated proof time, MIN-MAX in whole ms (at most ${MAX_DELAY_MS})`)
        .argParser(argument((t) => parseRange(t, '--proof', { max: MAX_DELAY_MS, whole: true })))
        .default(DEFAULT_SIMULATION_OPTIONS.proofMs, range(DEFAULT_SIMULATION_OPTIONS.proofMs)),
    )
    .addOption(
      new Option(
        '--storage <ms|disk>',
        `disk: every honest node keeps term, vote, lock and log in a real store in a temp directory, reopened at each restart; or the time each write takes (a slow disk), MIN-MAX in whole ms (at most ${MAX_DELAY_MS})`,
      )
        .argParser(argument((t): StorageFlag => (t === 'disk' ? 'disk' : parseRange(t, '--storage', { max: MAX_DELAY_MS, whole: true }))))
        .default(DEFAULT_SIMULATION_OPTIONS.storageMs, range(DEFAULT_SIMULATION_OPTIONS.storageMs)),
    )
    .option('--provers <k>', 'provers per height (default f + 2, at most n)', integer('--provers', 1, maxNodes))
    .addOption(new Option('--partition <spec>', 'FROM-TO:GROUP|GROUP, e.g. 1000-3000:n0,n1|n2,n3 (repeatable)').argParser(collect).default([], 'none'))
    .addOption(new Option('--crash <spec>', 'NODE@AT[-RESTART], e.g. n2@2000-5000 (repeatable)').argParser(collect).default([], 'none'))
    .option('--clients <n>', 'each honest node keeps n client entries proposed through engine.propose, each outcome checked against the log (default 0: nodes make their own entries)', integer('--clients', 0, 128))
    .option('--services', 'honest nodes host the coordination services, and a seeded client takes, renews and releases locks and passes two barriers through them')
    .addOption(
      new Option('--messaging <mode>', "linear: honest nodes send votes and confirmations to the value's prover alone, which broadcasts the proofs")
        .choices(MESSAGING_MODES)
        .default('all-to-all'),
    );
}

/** The run the flags describe, checked by `resolveOptions` where it is used. */
export function optionsFrom(flags: SimulationFlags): Partial<SimulationOptions> {
  const names = nodeNames(flags.nodes);
  return {
    nodes: flags.nodes,
    byzantine: flags.byzantine,
    rounds: flags.rounds,
    seed: flags.seed,
    behaviour: flags.behaviour,
    dropRate: flags.drop,
    duplicateRate: flags.duplicate,
    latency: flags.latency,
    reorder: flags.reorder,
    proofMs: flags.proof,
    storageMs: flags.storage === 'disk' ? { min: 0, max: 0 } : flags.storage,
    storage: flags.storage === 'disk' ? 'disk' : 'memory',
    proversPerRank: flags.provers,
    partitions: flags.partition.flatMap((spec) => parsePartitions(spec, names)),
    crashes: flags.crash.flatMap((spec) => parseCrashes(spec, names)),
    ...(flags.clients === undefined ? {} : { clients: flags.clients }),
    ...(flags.services === true ? { services: true } : {}),
    ...(flags.messaging === 'linear' ? { messaging: flags.messaging } : {}),
  };
}
