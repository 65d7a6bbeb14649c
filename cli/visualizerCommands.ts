import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseInteger, SimulationOptionsError } from '../simulator/options';
import { MAX_VISUAL_NODES } from '../visualizer/cluster/VisualCluster';
import {
  DIAGRAM_FORMAT_CHOICES,
  DIAGRAM_MACHINE_CHOICES,
  runDiagramCommand,
  runInspectCommand,
  runVisualizeCommand,
} from '../visualizer/commands';
import { parseSpeed } from '../visualizer/protocol';

interface CommandIO {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** Turns a parser's own error into commander's, so it prints as one `error:` line. */
function argument<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (error) {
      if (error instanceof SimulationOptionsError || error instanceof RangeError) {
        throw new InvalidArgumentError(error.message);
      }
      throw error;
    }
  };
}

const speed = argument(parseSpeed);
const integer = (name: string, min: number, max: number) => argument((t) => parseInteger(t, name, min, max));

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
        .makeOptionMandatory(),
    )
    .addOption(new Option('-f, --format <format>', 'output format').choices([...DIAGRAM_FORMAT_CHOICES]).default('mermaid'))
    .option('-o, --out <path>', 'write to this file (a directory with --machine all) instead of stdout; missing directories are created')
    .addHelpText('after', `\n${DIAGRAM_EXIT_CODES}`)
    .action(async (flags) => setExitCode(await runDiagramCommand(flags, io)));

  program
    .command('visualize')
    .description('Serve the offline live view on 127.0.0.1: a simulated cluster (round + election per node) in the browser.')
    .option('-n, --nodes <n>', `cluster size (1–${MAX_VISUAL_NODES})`, integer('--nodes', 1, MAX_VISUAL_NODES), 4)
    .option('-b, --byzantine <f>', 'Byzantine nodes (they forge proposals), at most ⌊(n−1)/3⌋', integer('--byzantine', 0, MAX_VISUAL_NODES), 1)
    .option('-s, --seed <n>', 'seed of every random choice', integer('--seed', 0, Number.MAX_SAFE_INTEGER), 42)
    .option('-p, --port <port>', 'port on 127.0.0.1 (default: a free one, printed)', integer('--port', 0, 65_535), 0)
    .option('--speed <x>', 'simulated ms per wall-clock ms', speed, 0.1)
    .option('--paused', 'start paused')
    .option('--relay', 'run no cluster; show what apps stream to ws://127.0.0.1:PORT/inspect')
    .action(async (flags) => setExitCode((await runVisualizeCommand(flags, io)).exitCode));
}

/** `simulate --inspect ws://…`: stream a simulated cluster to a Stately inspector. */
export function addInspectOption(simulate: Command): void {
  simulate
    .option('--inspect <url>', 'stream a simulated cluster (nodes, rounds and election) to a Stately inspector WebSocket, e.g. ws://localhost:8080')
    .option('--inspect-speed <x>', 'playback speed for --inspect (0: as fast as possible)', (t) => (t.trim() === '0' ? 0 : speed(t)), 1);
}

interface InspectFlags {
  inspect?: string;
  inspectSpeed?: number;
  nodes: number;
  byzantine: number;
  seed: number;
  rounds: number;
}

/** Runs `--inspect` when it was given; undefined when the simulation should run as usual. */
export async function runInspectIfAsked(flags: InspectFlags, command: Command, io: CommandIO): Promise<number | undefined> {
  if (flags.inspect === undefined) return undefined;
  const rounds = command.getOptionValueSource('rounds') === 'default' ? 20 : flags.rounds;
  return runInspectCommand(
    { url: flags.inspect, nodes: flags.nodes, byzantine: flags.byzantine, seed: flags.seed, rounds, speed: flags.inspectSpeed ?? 1 },
    io,
  );
}
