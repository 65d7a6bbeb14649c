import { Command, CommanderError, Option } from 'commander';
import { version } from '../package.json';
import {
  DEFAULT_SIMULATION_OPTIONS,
  MAX_FAULT_MS,
  MAX_NODES,
  parseInteger,
  parseIntegerList,
  resolveOptions,
  SimulationOptionsError,
  type SimulationOptions,
} from '../simulator/options';
import { readReplayFile } from '../simulator/replayFile';
import type { MessagingMode } from '../engine/config';
import { addSimulationOptions, MESSAGING_MODES, optionsFrom, type SimulationFlags } from './simulationFlags';
import { runSimulation, type SimulationReport } from '../simulator/runSimulation';
import { runSweep } from '../simulator/sweep';
import { BENCH_SIZES, defaultRounds, runBench } from '../bench/rounds';
import { FAILOVER_SEEDS, FAILOVER_SIZES, measureElectionCost, runFailoverBench } from '../bench/failover';
import { runFloodBench } from '../bench/flood';
import { runPayloadBenches } from '../bench/payloads';
import { runStorageBench, storageTable } from '../bench/storage';
import { addInspectOption, addVisualizerCommands, runInspectIfAsked } from './visualizerCommands';
import { benchLines, electionCostLines, failoverTable, floodLines, payloadLines, humanReport, sweepReport } from './render';
import { progressBar, sweepEstimate, sweepProgress } from './progress';
import { argument, checkByzantine, listFlags, refuseIgnored, typedFlags, UsageError } from './usage';
import { addVerifyCommand } from './verify';
import { addClusterCommands } from './clusterCommands';
import { addCoordinationCommands } from './coordinationCommands';
import { addMemberCommands } from './memberCommands';
import { benchCluster, CLUSTER_BENCH_DEFAULTS, MAX_CLUSTER_CLIENTS, MAX_CLUSTER_SECONDS } from './benchCluster';

/** Where the CLI writes; `process.stdout`/`process.stderr` in production, buffers in tests. */
export interface CliStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface CliIO {
  stdout: CliStream;
  stderr: CliStream;
}

/** Exit codes: what a script running the CLI can branch on. */
export const EXIT = Object.freeze({
  ok: 0,
  /** A safety property was violated (the report names it and how to replay it). */
  unsafe: 1,
  /** Bad options: a one-line error on stderr. */
  usage: 2,
  /** Safe, but the target was not reached: a liveness stall. */
  stalled: 3,
  /** A bug, not bad input (EX_SOFTWARE of sysexits.h): the message carries the stack. */
  internal: 70,
  /** `diagram --out` could not be written (EX_CANTCREAT of sysexits.h). */
  cannotWrite: 73,
});

/** Heights per run in `--sweep` when `--rounds` is not given: many short runs. */
const SWEEP_DEFAULT_ROUNDS = 12;

interface SimulateFlags extends SimulationFlags {
  json?: boolean;
  replay?: string;
  sweep?: number;
  metrics?: boolean;
  trace: number;
}

const EXAMPLES = `
Examples:
  $ statechart-consensus simulate
  $ statechart-consensus simulate --nodes 7 --byzantine 2 --behaviour flood --rounds 200 --seed 7
  $ statechart-consensus simulate --drop 0.05 --latency 5-50 --partition '1000-3000:n0,n1|n2,n3' --crash n2@2000-5000
  $ statechart-consensus simulate --byzantine 0 --crash leader@2000-6000
  $ statechart-consensus simulate --nodes 5 --byzantine 0 --rounds 0 --crash leader@1000-1500
  $ statechart-consensus simulate --sweep 500 --json     # about 10 minutes; estimate and progress on stderr
  $ statechart-consensus simulate --replay run.json      # the run a --json report describes, again

Faults:
  --partition FROM-TO:GROUP|GROUP   from FROM ms to TO ms only nodes in one group reach each other;
                                    nodes named in no group form one more group ('1000-3000:n0' isolates n0).
                                    Repeat the option, or separate partitions with ';'.
  --crash NODE@AT[-RESTART]         NODE crashes at AT ms and restarts from its persisted ledger at
                                    RESTART ms (never, without it). Repeat, or separate with ';' or ','.
                                    NODE 'leader' is whoever leads the election at AT. With no leader
                                    then (the first one takes a few hundred ms), that crash and its
                                    restart are skipped, and the report says so ('crash skipped',
                                    skippedCrashes in --json).
  Nodes are n0 … n(N-1); times are simulated milliseconds, at most ${MAX_FAULT_MS} (one hour).
  Every honest node also runs the Raft-lite election; the report gives terms, leaders, and the
  time to a new leader after each leader crash and each heal. --rounds 0 runs the election alone.

Byzantine behaviours (at most f = ⌊(n−1)/3⌋ nodes):
  withhold     silent: sends nothing (a silent proposer)
  partial      as a proposer, a valid proposal (and its vote) to half of the cluster only
  invalid      proposes frames honest nodes must refuse (wrong parent or height, forged hash, time, ...)
  garbage      malformed messages: non-Unique values, throwing identity(), bad ranks, non-members
  flood        floods of messages for far-future ranks and attempts, and the far edge of the window
  equivocate   different proposals, votes and confirmations to different halves of the cluster
  split-commit helps one honest node commit alone, then proposes a fresh value to the rest
  shape-shift  values that read as one valid frame when first checked and as another after
  mixed        each Byzantine node draws one of the above per height

Every behaviour acts in each attempt of a height. A faulty proposer costs an attempt: the
report says how many ranks needed more than one (round change, SPEC §2.8).

--sweep N runs N seeded runs, each drawing its cluster, Byzantine nodes and faults from its
  seed: only --seed, --rounds and --json apply. It takes about a second a run (500 runs: about
  10 minutes); it prints an estimate before it starts and its progress on stderr.

Exit codes: 0 safe and every live honest node reached --rounds; 1 safety violation;
  2 invalid options; 3 safe but stalled (liveness). A failure prints its seed and the
  command that replays it; its --json report, saved to a file, replays with --replay FILE
  (the options only the API sets included), and visualize --replay FILE shows it.`;

const BENCH_HELP = `
Examples:
  $ statechart-consensus bench                        # µs per round against the XState floor, n = 4, 7, 16, 64; idle memory
  $ node --expose-gc dist/cli.js bench --nodes 4 --rounds 100  # one size, a shorter run
  $ statechart-consensus bench --failover --seeds 50  # time to a new leader after a crash
  $ node --expose-gc dist/cli.js bench --flood 1000000 # hostile flood: µs per message, heap, held
  $ statechart-consensus bench --storage              # durable appends/s of the write-ahead log on this disk
  $ statechart-consensus bench --cluster --nodes 4 --clients 64 --seconds 30  # node processes against 3 etcd members

Exit codes: 0 done; 2 invalid options.`;

interface BenchFlags {
  json?: boolean;
  nodes?: number[];
  rounds?: number;
  failover?: boolean;
  flood?: number;
  payloads?: number;
  /** The appends per row, or true when given without a count. */
  storage?: number | true;
  seeds?: number;
  heartbeats?: number;
  cluster?: boolean;
  clients?: number;
  seconds?: number;
  messaging?: MessagingMode[];
}

function buildProgram(
  io: CliIO,
  run: (flags: SimulateFlags, command: Command) => Promise<void>,
  bench: (flags: BenchFlags, command: Command) => Promise<void>,
): Command {
  const program = new Command('statechart-consensus')
    .description('A BFT consensus engine declared as XState statecharts: simulation and tools.')
    .version(version, '-V, --version', 'print the version and exit')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .showSuggestionAfterError(true);

  const integer = (flag: string, min: number, max: number) => argument((t) => parseInteger(t, flag, min, max));
  const simulateCommand = addSimulationOptions(
    program.command('simulate').description('Run a seeded, deterministic cluster simulation with faults and Byzantine nodes, checking safety online.'),
    MAX_NODES,
  );
  simulateCommand
    .option('--json', "print one JSON object instead of the table; a single run's carries every honest node's commit log (see verify --log)")
    .option('--sweep <runs>', 'run that many seeded runs (seeds --seed, --seed+1, …) with random faults; about 1 s a run', integer('--sweep', 1, 1_000_000))
    .option('--trace <n>', 'events kept for a violation report', integer('--trace', 1, 100_000), DEFAULT_SIMULATION_OPTIONS.traceTail)
    .option('--metrics', "after the report, every honest node's Prometheus metrics as text exposition (with --json, the report's metrics field)")
    .option('--replay <file>', 'rerun the run a report of simulate --json describes (its options, so its trace digest and verdict); only --json, --metrics and --trace apply')
    .addHelpText('after', EXAMPLES)
    .action(run);
  addInspectOption(simulateCommand);

  program
    .command('bench')
    .description(
      'Finalized rounds per wall-clock second and µs per round for n = 4, 7, 16, 64 (honest nodes, zero latency, instant proofs), ' +
        'set against the XState floor measured in the same run (µs per send, per invoke), and heap per idle engine and node.',
    )
    .addOption(
      new Option('--nodes <list>', `cluster sizes, comma-separated (default: ${BENCH_SIZES.map((size) => size.nodes).join(',')}; with --failover ${FAILOVER_SIZES.join(',')})`)
        .argParser(argument((t) => parseIntegerList(t, '--nodes', 1, MAX_NODES))),
    )
    .option(
      '--rounds <n>',
      `heights per cluster size (default ${BENCH_SIZES.map((size) => `${size.rounds} for n = ${size.nodes}`).join(', ')}, else 3000 / n², at least 4)`,
      integer('--rounds', 1, 1_000_000),
    )
    .option('--json', 'print one JSON object instead of the table')
    .option('--messaging <modes>', 'how votes and confirmations travel, comma-separated: every size in each mode, side by side (default all-to-all)', argument(parseMessagingList))
    .option('--failover', `instead: failover time after a leader crash (n = ${FAILOVER_SIZES.join(', ')}), and the election's cost per node`)
    .option('--seeds <n>', `with --failover: seeded runs per cluster size (default ${FAILOVER_SEEDS})`, integer('--seeds', 1, 1_000_000))
    .option('--heartbeats <n>', 'with --failover: heartbeats timed per follower (default 50000)', integer('--heartbeats', 1, 10_000_000))
    .option('--flood <n>', 'instead: n messages from ever-new senders, then n from the members, at one engine: µs per message, heap and what it holds', integer('--flood', 100_000, 100_000_000))
    .option('--storage [appends]', 'instead: durable appends/s and latency of the write-ahead log in the temp directory, one at a time and 64 at once, 128 B and 1 KiB records (default 2000 appends each)', integer('--storage', 1, 10_000_000))
    .option('--cluster', `instead: our node processes on 127.0.0.1, then 3 etcd members (etcd on PATH or ETCD_BIN), under the same closed-loop HTTP load: acknowledged/s, p50, p99 (--nodes 1-10, default ${CLUSTER_BENCH_DEFAULTS.nodes})`)
    .option('--clients <n>', `with --cluster: concurrent clients, each awaiting its answer before its next request (default ${CLUSTER_BENCH_DEFAULTS.clients})`, integer('--clients', 1, MAX_CLUSTER_CLIENTS))
    .option('--seconds <n>', `with --cluster: seconds measured per system, after 2 s of warm-up (default ${CLUSTER_BENCH_DEFAULTS.seconds})`, integer('--seconds', 1, MAX_CLUSTER_SECONDS))
    .option('--payloads <n>', 'instead: committed payloads/s through engine.propose (4 nodes, batched and one per proposal, with and without keys) and what a signature costs', integer('--payloads', 100, 10_000_000))
    .addHelpText('after', BENCH_HELP)
    .action(bench);
  return program;
}

async function simulate(flags: SimulateFlags, command: Command, io: CliIO): Promise<number> {
  checkByzantine(command, flags.nodes, flags.byzantine);
  // The commit logs go into the JSON only: an outsider verifies them (`verify --log`).
  const options = resolveOptions({ ...optionsFrom(flags), traceTail: flags.trace, metrics: flags.metrics === true, keepLogs: flags.json === true });
  return runAndReport(options, flags, io);
}

/** What `--replay` takes from the command line: how the report is printed, never how the run goes. */
const REPLAY_FLAGS = ['--json', '--metrics', '--trace'];

/** `simulate --replay FILE`: the report's run again, from its resolved options. */
async function replay(flags: SimulateFlags, command: Command, io: CliIO): Promise<number> {
  refuseIgnored(command, '--replay', REPLAY_FLAGS, `the run is the one the report describes (only ${listFlags(REPLAY_FLAGS)} apply)`);
  const file = await readReplayFile(flags.replay as string);
  const traceTail = command.getOptionValueSource('trace') === 'cli' ? flags.trace : file.options.traceTail;
  const options = { ...file.options, traceTail, metrics: file.options.metrics === true || flags.metrics === true, keepLogs: flags.json === true };
  let digest = '';
  const code = await runAndReport(options, flags, io, (report) => (digest = report.traceDigest));
  const source = `replay of ${flags.replay} (${file.outcome})`;
  if (digest === file.traceDigest) io.stderr.write(`${source}: the same trace digest as the report${digest === '' ? ' (none: a run without a trace)' : ''}\n`);
  else io.stderr.write(`${source}: trace digest ${digest} differs from the report's ${file.traceDigest}: the code, or the file, changed since the report was made\n`);
  return code;
}

async function runAndReport(options: SimulationOptions, flags: SimulateFlags, io: CliIO, onReport?: (report: SimulationReport) => void): Promise<number> {
  const bar = flags.json ? null : progressBar(io.stderr, 'finalized heights [{bar}] {value}/{total}');
  bar?.start(options.rounds, 0);
  let report;
  try {
    report = await runSimulation(options, { onProgress: (finalized) => bar?.update(finalized) });
  } finally {
    bar?.stop();
  }
  onReport?.(report);
  io.stdout.write(flags.json ? `${JSON.stringify(report)}\n` : humanReport(report));
  if (!flags.json && report.metrics !== undefined) io.stdout.write(`\n${report.metrics}`);
  if (report.violations.length > 0) return EXIT.unsafe;
  return report.reachedTarget ? EXIT.ok : EXIT.stalled;
}

/** What a sweep takes from the command line; every other simulate flag would be ignored. */
const SWEEP_FLAGS = ['--seed', '--rounds', '--json', '--messaging'];

async function sweep(flags: SimulateFlags, command: Command, io: CliIO): Promise<number> {
  const runs = flags.sweep as number;
  refuseIgnored(command, '--sweep', SWEEP_FLAGS, `each run draws its cluster, Byzantine nodes and faults from its seed (only ${listFlags(SWEEP_FLAGS)} apply)`);
  // Compared this way round: `seed + runs` itself may already be past exact integers.
  if (flags.seed > Number.MAX_SAFE_INTEGER - (runs - 1)) {
    throw new UsageError(`--seed ${flags.seed} with --sweep ${runs} would run seeds past ${Number.MAX_SAFE_INTEGER}, the largest --seed`);
  }
  const rounds = command.getOptionValueSource('rounds') === 'default' ? SWEEP_DEFAULT_ROUNDS : flags.rounds;
  // A sweep can take many minutes: say so before it starts, on stderr, JSON or not.
  io.stderr.write(sweepEstimate(runs, rounds));
  const progress = sweepProgress(io.stderr, runs);
  let failed = 0;
  let summary;
  try {
    summary = await runSweep(flags.seed, runs, rounds, {
      onRun: (run, index) => {
        if (run.violations.length > 0 || run.stalled) failed += 1;
        progress.update(index + 1, failed);
      },
      ...(flags.messaging === 'linear' ? { overrides: { messaging: flags.messaging } } : {}),
    });
  } finally {
    progress.stop();
  }
  io.stdout.write(flags.json ? `${JSON.stringify(summary)}\n` : sweepReport(summary));
  if (summary.violations > 0) return EXIT.unsafe;
  return summary.stalls > 0 ? EXIT.stalled : EXIT.ok;
}


/** `bench --messaging all-to-all,linear`: each mode once, in the order given. */
function parseMessagingList(text: string): MessagingMode[] {
  const modes = text.split(',').map((mode) => mode.trim());
  const unknown = modes.find((mode) => !(MESSAGING_MODES as string[]).includes(mode));
  if (unknown !== undefined) throw new UsageError(`--messaging must list modes among ${MESSAGING_MODES.join(', ')}, got ${JSON.stringify(unknown)}`);
  return [...new Set(modes as MessagingMode[])];
}

/** A failover needs a majority left once the leader is down: two of three, at the least. */
const MIN_FAILOVER_NODES = 3;

async function bench(flags: BenchFlags, command: Command, io: CliIO): Promise<void> {
  if (flags.cluster) return benchCluster(flags, command, io);
  const clusterOnly = typedFlags(command).filter((flag) => flag === '--clients' || flag === '--seconds');
  if (clusterOnly.length > 0) {
    throw new UsageError(`${listFlags(clusterOnly)} ${clusterOnly.length === 1 ? 'applies' : 'apply'} only with --cluster`);
  }
  if (flags.storage !== undefined) {
    refuseIgnored(command, '--storage', ['--json'], 'it is a bench of its own');
    const result = await runStorageBench(flags.storage === true ? {} : { appends: flags.storage });
    io.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : storageTable(result));
    return;
  }
  if (flags.failover !== undefined && flags.flood !== undefined) throw new UsageError('--failover and --flood are two benches: pick one');
  for (const [flag, given] of [['--rounds', flags.rounds], ['--messaging', flags.messaging]] as const) {
    if (given !== undefined && (flags.failover !== undefined || flags.flood !== undefined)) {
      throw new UsageError(`${flag} applies only to the rounds bench, not with ${flags.failover !== undefined ? '--failover' : '--flood'}`);
    }
  }
  if (flags.payloads !== undefined) {
    if (flags.failover !== undefined || flags.flood !== undefined || flags.rounds !== undefined || flags.nodes !== undefined || flags.messaging !== undefined) {
      throw new UsageError('--payloads is a bench of its own: it takes only --json');
    }
    const result = await runPayloadBenches({ payloads: flags.payloads });
    io.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : payloadLines(result));
    return;
  }
  if (flags.flood !== undefined) return benchFlood(flags.flood, flags, io);
  if (flags.failover) return benchFailover(flags, io);
  const failoverOnly = typedFlags(command).filter((flag) => flag === '--seeds' || flag === '--heartbeats');
  if (failoverOnly.length > 0) {
    throw new UsageError(`${listFlags(failoverOnly)} ${failoverOnly.length === 1 ? 'applies' : 'apply'} only with --failover (the rounds bench runs one seed per size)`);
  }
  const nodes = flags.nodes ?? BENCH_SIZES.map((size) => size.nodes);
  const sizes = nodes.flatMap((n) => (flags.messaging ?? ['all-to-all' as const]).map((messaging) => ({ nodes: n, rounds: flags.rounds ?? defaultRounds(n), messaging })));
  const result = await runBench({
    sizes,
    onFloor: (floor) => {
      if (!flags.json) io.stderr.write(`XState floor: ${floor.usPerSend} µs/send, ${floor.usPerInvoke} µs/invoke\n`);
    },
    onRow: (row) => {
      const mode = row.messaging === 'linear' ? ' (linear)' : '';
      if (!flags.json) io.stderr.write(`n = ${row.nodes}${mode}: ${row.roundsPerSecond} rounds/s, ${row.messagesPerRound} messages/round, ${row.usPerRound} µs/round\n`);
    },
  });
  io.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : benchLines(result));
}

async function benchFlood(messages: number, flags: BenchFlags, io: CliIO): Promise<void> {
  const result = runFloodBench(messages, (row) => {
    if (!flags.json) io.stderr.write(`${row.phase}: ${row.sent} sent, ${row.usPerMessage} µs/message, heap ${row.heapMB} MB, ${row.held} held\n`);
  });
  io.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : floodLines(result));
}

async function benchFailover(flags: BenchFlags, io: CliIO): Promise<void> {
  const small = flags.nodes?.find((nodes) => nodes < MIN_FAILOVER_NODES);
  if (small !== undefined) {
    throw new UsageError(`--nodes with --failover must be at least ${MIN_FAILOVER_NODES} (a new leader needs a majority of the rest), got ${small}`);
  }
  const rows = await runFailoverBench({ sizes: flags.nodes, seeds: flags.seeds }, (row) => {
    if (!flags.json) io.stderr.write(`n = ${row.nodes}: failover p50 ${row.p50} ms, p99 ${row.p99} ms\n`);
  });
  const cost = await measureElectionCost(flags.heartbeats);
  io.stdout.write(flags.json ? `${JSON.stringify({ failover: rows, cost })}\n` : `${failoverTable(rows)}\n${electionCostLines(cost)}`);
}

/**
 * Runs the CLI with `argv` (the arguments after the program name) and
 * returns the exit code. Never throws for bad input: errors become one line
 * on stderr and exit code 2.
 */
export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = buildProgram(
    io,
    async (flags, command) => {
      if (flags.replay !== undefined) {
        exitCode = await replay(flags, command, io);
        return;
      }
      const inspected = await runInspectIfAsked(flags, command, io);
      if (inspected !== undefined) {
        exitCode = inspected;
        return;
      }
      exitCode = flags.sweep !== undefined ? await sweep(flags, command, io) : await simulate(flags, command, io);
    },
    (flags, command) => bench(flags, command, io),
  );
  addVisualizerCommands(program, io, (code) => {
    exitCode = code;
  });
  addVerifyCommand(program, io, (code) => {
    exitCode = code;
  });
  addClusterCommands(program, io, (code) => {
    exitCode = code;
  });
  addCoordinationCommands(program, io, (code) => {
    exitCode = code;
  });
  addMemberCommands(program, io, (code) => {
    exitCode = code;
  });
  if (argv.length === 0) {
    program.outputHelp();
    return EXIT.usage;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (error instanceof UsageError || error instanceof SimulationOptionsError) {
      io.stderr.write(`error: ${error.message}\n`);
      return EXIT.usage;
    }
    throw error;
  }
  return exitCode;
}
