import { Option, type Command } from 'commander';
import { parseInteger } from '../simulator/options';
import {
  DIAGRAM_FORMAT_CHOICES,
  DIAGRAM_MACHINE_CHOICES,
  runDiagramCommand,
  runInspectCommand,
  runVisualizeCommand,
} from '../visualizer/commands';
import { MAX_SPEED, MAX_VISUAL_NODES, parseSpeed } from '../visualizer/protocol';
import { argument, checkByzantine, listFlags, refuseIgnored, typedFlags, UsageError } from './usage';
import { addSimulationOptions, optionsFrom, type SimulationFlags } from './simulationFlags';

interface CommandIO {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

const speed = argument(parseSpeed);
const integer = (name: string, min: number, max: number) => argument((t) => parseInteger(t, name, min, max));

/** An enum flag, refused in the same words as the other flags rather than in commander's. */
function choice(flag: string, choices: readonly string[]): (text: string) => string {
  return (text) => {
    if (!choices.includes(text)) throw new UsageError(`${flag} must be one of ${choices.join(', ')}, got ${JSON.stringify(text)}`);
    return text;
  };
}

/** `--inspect-speed`: 0 plays as fast as possible, otherwise a playback speed as for `visualize --speed`. */
function parseInspectSpeed(text: string): number {
  const value = Number(text.trim());
  if (text.trim() === '' || !(value >= 0 && value <= MAX_SPEED)) {
    throw new UsageError(`--inspect-speed must be 0 (as fast as possible) or a number up to ${MAX_SPEED}, got ${JSON.stringify(text)}`);
  }
  return value;
}

interface VisualizeFlags extends SimulationFlags {
  port: number;
  speed: number;
  paused?: boolean;
  relay?: boolean;
  replay?: string;
}

const VISUALIZE_HELP = `
The run is the one simulate makes with the same options (its report, at the end, says so),
faults from --partition and --crash included; the links a partition cuts are drawn cut. The
page's partition and crash buttons add faults by hand: the command then no longer replays the run.

Examples:
  $ statechart-consensus visualize
  $ statechart-consensus visualize --nodes 7 --byzantine 2 --behaviour split-commit --partition '1000-3000:n0,n1|n2,n3,n4,n5,n6' --seed 7
  $ statechart-consensus visualize --crash leader@2000-4000 --speed 0.5
  $ statechart-consensus visualize --replay run.json    # a simulate --json report, paused where it went wrong
  $ statechart-consensus visualize --relay        # no cluster: what apps stream to ws://127.0.0.1:PORT/inspect`;

/** What `visualize --replay` takes from the command line: how the view plays, never which run. */
const REPLAY_FLAGS = ['--port', '--speed', '--paused'];

export const DIAGRAM_EXIT_CODES =
  'Exit codes: 0 printed or written; 2 invalid options; 73 --out could not be written (one line on stderr).';

/** `diagram` and `visualize`: the commands that show the machines and a cluster. */
export function addVisualizerCommands(program: Command, io: CommandIO, setExitCode: (code: number) => void): void {
  program
    .command('diagram')
    .description('Print or write a statechart diagram generated from the machine definitions.')
    .addOption(
      new Option('-m, --machine <name>', 'round, election, node, or all (every diagram into --out DIR)')
        .choices([...DIAGRAM_MACHINE_CHOICES])
        .argParser(choice('--machine', DIAGRAM_MACHINE_CHOICES))
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('-f, --format <format>', 'output format (--machine all writes every format)')
        .choices([...DIAGRAM_FORMAT_CHOICES])
        .argParser(choice('--format', DIAGRAM_FORMAT_CHOICES))
        .default('mermaid'),
    )
    .option('-o, --out <path>', 'write to this file (a directory with --machine all) instead of stdout; missing directories are created')
    .addHelpText('after', `\n${DIAGRAM_EXIT_CODES}`)
    .action(async (flags, command: Command) => {
      if (flags.machine === 'all' && command.getOptionValueSource('format') === 'cli') {
        throw new UsageError('--format has no effect with --machine all: it writes every format');
      }
      setExitCode(await runDiagramCommand(flags, io));
    });

  const visualize = program
    .command('visualize')
    .description(
      "Serve the offline live view on 127.0.0.1: simulate's run (every simulate option, faults included) played in the browser, round + election per node.",
    );
  addSimulationOptions(visualize, MAX_VISUAL_NODES)
    .option('-p, --port <port>', 'port on 127.0.0.1 (default: a free one, printed)', integer('--port', 0, 65_535), 0)
    .option('--speed <x>', `simulated ms per wall-clock ms (above 0, at most ${MAX_SPEED})`, speed, 0.1)
    .option('--paused', 'start paused')
    .option('--relay', 'run no cluster; show what apps stream to ws://127.0.0.1:PORT/inspect')
    .option('--replay <file>', "play the run a report of simulate --json describes, paused at the height where it went wrong (a violation's, or a stall's frontier)")
    .addHelpText('after', VISUALIZE_HELP)
    .action(async (flags: VisualizeFlags, command: Command) => {
      if (flags.replay !== undefined) {
        refuseIgnored(command, '--replay', REPLAY_FLAGS, `the run is the one the report describes (only ${listFlags(REPLAY_FLAGS)} apply)`);
        setExitCode((await runVisualizeCommand({ port: flags.port, speed: flags.speed, replay: flags.replay }, io)).exitCode);
        return;
      }
      if (flags.relay) refuseIgnored(command, '--relay', ['--port'], 'it runs no cluster, it only relays what apps stream');
      else checkByzantine(command, flags.nodes, flags.byzantine);
      const simulation = flags.relay ? {} : { simulation: optionsFrom(flags) };
      setExitCode((await runVisualizeCommand({ port: flags.port, speed: flags.speed, paused: flags.paused, relay: flags.relay, ...simulation }, io)).exitCode);
    });
}

/** `simulate --inspect ws://…`: stream the simulator's run to a Stately inspector. */
export function addInspectOption(simulate: Command): void {
  simulate
    .option('--inspect <url>', "stream the run's honest nodes (round and election machines) to a Stately inspector WebSocket, e.g. ws://localhost:8080 (--rounds defaults to 20)")
    .option('--inspect-speed <x>', 'playback speed for --inspect (0: as fast as possible)', argument(parseInspectSpeed), 1);
}

interface InspectFlags extends SimulationFlags {
  inspect?: string;
  inspectSpeed?: number;
}

/** What `--inspect` leaves out: it streams the run's machines, not a report nor a sweep. */
const NOT_WITH_INSPECT = ['--json', '--sweep', '--metrics', '--trace'];

/** Runs `--inspect` when it was given; undefined when the simulation should run as usual. */
export async function runInspectIfAsked(flags: InspectFlags, command: Command, io: CommandIO): Promise<number | undefined> {
  if (flags.inspect === undefined) {
    if (command.getOptionValueSource('inspectSpeed') === 'cli') throw new UsageError('--inspect-speed has no effect without --inspect');
    return undefined;
  }
  const refused = typedFlags(command).filter((flag) => NOT_WITH_INSPECT.includes(flag));
  if (refused.length > 0) {
    throw new UsageError(`${listFlags(refused)} ${refused.length === 1 ? 'has' : 'have'} no effect with --inspect: it streams the run's machines, not its report`);
  }
  if (flags.nodes > MAX_VISUAL_NODES) throw new UsageError(`--nodes with --inspect must be at most ${MAX_VISUAL_NODES}, got ${flags.nodes}`);
  checkByzantine(command, flags.nodes, flags.byzantine);
  // A run to watch: shorter than simulate's default, unless asked.
  const rounds = command.getOptionValueSource('rounds') === 'default' ? 20 : flags.rounds;
  return runInspectCommand({ url: flags.inspect, simulation: { ...optionsFrom(flags), rounds }, speed: flags.inspectSpeed ?? 1 }, io);
}
