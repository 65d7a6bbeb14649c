import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SimulationOptionsError, type SimulationOptions } from '../simulator/options';
import { readReplayFile, type ReplayFile } from '../simulator/replayFile';
import { MAX_SEEK_HEIGHT, MAX_VISUAL_NODES } from './protocol';
import { generateDiagrams, renderDiagram } from './generateDiagrams';
import { DIAGRAM_FORMATS, DIAGRAM_MACHINE_NAMES, isDiagramFormat, isDiagramMachineName } from './machines';
import { DEFAULT_SPEED, startVisualizerServer, type VisualizerServer } from './server';
import { InspectorConnectionError, streamClusterToInspector, type InspectStreamOptions } from './streamToInspector';

/**
 * The visualizer's CLI commands as functions: the `statechart-consensus`
 * program (cli/program.ts) parses the flags and calls these. Each writes to
 * the given streams and returns the exit code, as `runCli` does.
 */

export interface CommandStream {
  write(text: string): unknown;
}

export interface CommandIO {
  stdout: CommandStream;
  stderr: CommandStream;
}

/**
 * The same codes as `simulate`: 0 fine, 2 bad options, 3 the run stalled;
 * and 73 (`EX_CANTCREAT` of sysexits.h, beside the 70 of an internal error)
 * when `diagram --out` cannot be written.
 */
export const VISUALIZER_EXIT = Object.freeze({ ok: 0, failed: 1, usage: 2, stalled: 3, cannotWrite: 73 });

/** What `diagram --machine` accepts: a machine, or `all` to write every diagram into a directory. */
export const DIAGRAM_MACHINE_CHOICES: readonly string[] = [...DIAGRAM_MACHINE_NAMES, 'all'];
export const DIAGRAM_FORMAT_CHOICES: readonly string[] = DIAGRAM_FORMATS;

export interface DiagramCommandOptions {
  /** `round`, `election`, `node`, or `all`. */
  machine: string;
  /** `mermaid` (default), `dot` or `svg`; ignored with `all`, which writes every format. */
  format?: string;
  /** A file to write (a directory with `all`); stdout when absent. */
  out?: string;
}

/** `statechart-consensus diagram --machine round|election|node|all --format mermaid|dot|svg [--out FILE]` */
export async function runDiagramCommand(options: DiagramCommandOptions, io: CommandIO): Promise<number> {
  const format = options.format ?? 'mermaid';
  if (options.out !== undefined && options.out.trim() === '') return usage(io, '--out must name a file (a directory with --machine all), got ""');
  if (options.machine === 'all') {
    if (options.out === undefined) return usage(io, '--machine all writes every diagram into a directory: give it with --out DIR');
    const out = options.out;
    const written = await writing(io, out, () => generateDiagrams(out));
    if (written === undefined) return VISUALIZER_EXIT.cannotWrite;
    for (const path of written) io.stdout.write(`wrote ${path}\n`);
    return VISUALIZER_EXIT.ok;
  }
  if (!isDiagramMachineName(options.machine)) {
    return usage(io, `unknown machine '${options.machine}' (choose from ${DIAGRAM_MACHINE_CHOICES.join(', ')})`);
  }
  if (!isDiagramFormat(format)) return usage(io, `unknown format '${format}' (choose from ${DIAGRAM_FORMATS.join(', ')})`);
  const text = await renderDiagram(options.machine, format);
  if (options.out === undefined) {
    io.stdout.write(text);
  } else {
    const out = options.out;
    const wrote = await writing(io, out, async () => {
      await mkdir(dirname(out), { recursive: true });
      await writeFile(out, text);
      return true;
    });
    if (wrote === undefined) return VISUALIZER_EXIT.cannotWrite;
    io.stdout.write(`wrote ${out}\n`);
  }
  return VISUALIZER_EXIT.ok;
}

/** What a failed write of `--out` means to the user, by the file system's error code. */
const WRITE_FAILURES: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  EEXIST: 'a file stands where a directory is needed',
  ENOENT: 'no such file or directory',
  ENOSPC: 'no space left on the device',
  ENAMETOOLONG: 'the name is too long',
};

/**
 * Runs `write`; a file system error becomes one `error:` line (the caller
 * exits 73) instead of a stack trace: a path the user gave is not a bug.
 */
async function writing<T>(io: CommandIO, out: string, write: () => Promise<T>): Promise<T | undefined> {
  try {
    return await write();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) throw error;
    const reason = code in WRITE_FAILURES ? `${WRITE_FAILURES[code]} (${code})` : (error as Error).message;
    io.stderr.write(`error: cannot write --out ${out}: ${reason}\n`);
    return undefined;
  }
}

export interface VisualizeCommandOptions {
  /** The simulator's run to show, as `simulate` takes it (its defaults otherwise). */
  simulation?: Partial<SimulationOptions>;
  /** Shorthands for `simulation.nodes`, `.byzantine` and `.seed`. */
  nodes?: number;
  byzantine?: number;
  seed?: number;
  /** Default 0: any free port (printed). */
  port?: number;
  /** Simulated ms per wall-clock ms. Default 0.1. */
  speed?: number;
  /** Run no cluster; only show what apps stream to ws://127.0.0.1:PORT/inspect. */
  relay?: boolean;
  paused?: boolean;
  /**
   * A report of `simulate --json` (a file): its run is played instead of
   * `simulation`'s, and the view opens paused where it went wrong.
   */
  replay?: string;
}

export interface VisualizeCommandResult {
  exitCode: number;
  /** The running server (null if it did not start); it runs until closed or the process ends. */
  server: VisualizerServer | null;
}

/**
 * `statechart-consensus visualize [simulate's options] [--port P] [--speed 0.1] [--paused] [--relay]`:
 * starts the live view on 127.0.0.1, playing the simulator's run those
 * options describe, and returns once it listens, printing its URL.
 */
export async function runVisualizeCommand(options: VisualizeCommandOptions, io: CommandIO): Promise<VisualizeCommandResult> {
  let replay: ReplayFile | null = null;
  let server: VisualizerServer;
  if (options.relay && options.replay !== undefined) return { exitCode: usage(io, '--replay plays a run, and --relay runs none'), server: null };
  try {
    if (options.replay !== undefined) replay = await readReplayFile(options.replay);
    if (replay !== null && replay.options.nodes > MAX_VISUAL_NODES) {
      return { exitCode: usage(io, `--replay ${options.replay}: the live view plays at most ${MAX_VISUAL_NODES} nodes, the run has ${replay.options.nodes}`), server: null };
    }
    server = await startVisualizerServer({
      port: options.port ?? 0,
      speed: options.speed ?? DEFAULT_SPEED,
      paused: replay !== null || (options.paused ?? false),
      ...(options.relay
        ? { simulation: null }
        : {
            simulation: {
              options: replay?.options ?? {
                ...options.simulation,
                ...(options.nodes === undefined ? {} : { nodes: options.nodes }),
                ...(options.byzantine === undefined ? {} : { byzantine: options.byzantine }),
                ...(options.seed === undefined ? {} : { seed: options.seed }),
              },
            },
          }),
    });
  } catch (error) {
    if (error instanceof RangeError || error instanceof SimulationOptionsError) return { exitCode: usage(io, error.message), server: null };
    const code = (error as { code?: unknown }).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      return { exitCode: usage(io, `cannot listen on port ${options.port}: ${(error as Error).message}`), server: null };
    }
    throw error;
  }
  const inspectUrl = `${server.url.replace(/^http/, 'ws')}inspect`;
  if (server.live === null) {
    io.stdout.write(`live view: ${server.url}\nrelaying inspection streams sent to ${inspectUrl}\n`);
  } else {
    const { live } = server;
    const byzantine = live.byzantineNames.length === 0 ? 'none' : live.byzantineNames.join(', ');
    io.stdout.write(
      `live view: ${server.url}\n` +
        `${live.names.length} nodes (byzantine: ${byzantine}), seed ${live.seed}, ${server.clock()?.speed}× real time\n` +
        (live.command === null ? '' : `the run of: ${live.command}\n`) +
        `apps can stream to ${inspectUrl} too; Ctrl-C stops\n`,
    );
  }
  if (replay !== null) await pauseWhereItWentWrong(server, `${options.replay}`, replay, io);
  return { exitCode: VISUALIZER_EXIT.ok, server };
}

/**
 * Plays a replayed run as fast as it can to the height where it went wrong
 * (the page's *to height N*) and leaves it paused there: the moment it broke
 * is the one the viewer opens on, and can step through.
 */
async function pauseWhereItWentWrong(server: VisualizerServer, file: string, replay: ReplayFile, io: CommandIO): Promise<void> {
  const source = `replay of ${file} (${replay.outcome})`;
  if (replay.wentWrongAt === null) {
    io.stdout.write(`${source}: nothing went wrong; paused at its start\n`);
    return;
  }
  await server.control({ type: 'control', action: 'seek', height: Math.min(replay.wentWrongAt, MAX_SEEK_HEIGHT) });
  const live = server.live!;
  const height = Math.max(0, ...live.status().map((node) => node.height));
  const at = `${Math.round(live.now())} simulated ms in`;
  io.stdout.write(
    live.outcome() === null
      ? `${source}: paused at height ${height}, ${at}\n`
      : `${source}: the run ended at height ${height}, ${at}, before an honest node finalized ${replay.wentWrongAt}\n`,
  );
}

export type InspectCommandOptions = InspectStreamOptions;

/**
 * `statechart-consensus simulate --inspect ws://… [simulate's options]`:
 * streams the simulator's run to an inspector, then prints what it sent.
 */
export async function runInspectCommand(options: InspectCommandOptions, io: CommandIO): Promise<number> {
  let report;
  try {
    io.stderr.write(`streaming to ${options.url} …\n`);
    report = await streamClusterToInspector(options);
  } catch (error) {
    if (error instanceof InspectorConnectionError || error instanceof RangeError || error instanceof SimulationOptionsError) return usage(io, error.message);
    throw error;
  }
  const heights = Object.entries(report.roundsFinalized)
    .map(([node, rounds]) => `${node} ${rounds}`)
    .join(', ');
  io.stdout.write(
    `streamed ${report.eventsStreamed} inspection events to ${report.url} over ${Math.round(report.simulatedMs)} simulated ms\n` +
      `heights finalized: ${heights}${report.byzantine.length > 0 ? ` (byzantine: ${report.byzantine.join(', ')})` : ''}\n` +
      `the run of: ${report.replay}\n`,
  );
  return report.reachedTarget ? VISUALIZER_EXIT.ok : VISUALIZER_EXIT.stalled;
}

function usage(io: CommandIO, message: string): number {
  io.stderr.write(`error: ${message}\n`);
  return VISUALIZER_EXIT.usage;
}
