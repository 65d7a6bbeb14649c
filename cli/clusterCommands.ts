import type { Command } from 'commander';
import pino from 'pino';
import { startByzantineServer } from '../server/byzantineServer';
import { startLedgerServer } from '../server/ledgerServer';
import { loadNodeConfig, NodeConfigError, WIRE_BYZANTINE_BEHAVIOURS, type WireByzantineBehaviour } from '../server/config';
import { clusterDown, clusterUp, LocalClusterError, readClusterFile } from '../server/localCluster';
import { logCommand, proposeCommand } from './clientCommands';
import { parseInteger } from '../simulator/options';
import { UsageError } from './usage';

interface CommandIO {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

const MAX_LOCAL_NODES = 10;

/** Turns the errors of a bad configuration or cluster directory into the CLI's one-line usage errors. */
async function usageOnBadInput<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof NodeConfigError || error instanceof LocalClusterError) throw new UsageError(error.message);
    throw error;
  }
}

/** `--byzantine`, which overrides the configuration's `byzantine`. */
function byzantineFlag(value: string | undefined): WireByzantineBehaviour | undefined {
  if (value === undefined) return undefined;
  if (!(WIRE_BYZANTINE_BEHAVIOURS as readonly string[]).includes(value)) {
    throw new UsageError(`--byzantine must be one of ${WIRE_BYZANTINE_BEHAVIOURS.join(', ')}, got ${value}`);
  }
  return value as WireByzantineBehaviour;
}

/** Runs one member until SIGTERM or SIGINT: `statechart-consensus node --config FILE`. */
async function runNode(configFile: string, io: CommandIO, byzantineOption?: string): Promise<number> {
  const flag = byzantineFlag(byzantineOption);
  const { config, keys } = await usageOnBadInput(async () => loadNodeConfig(configFile));
  const byzantine = flag ?? config.byzantine;
  const logger = pino({ level: config.logLevel ?? 'info', base: { node: config.id } }, pino.destination({ dest: 1, sync: true }));
  let running: { stop(): Promise<void> };
  try {
    running = byzantine === undefined ? await startLedgerServer(config, keys, logger) : await startByzantineServer(config, keys, logger, byzantine);
  } catch (error) {
    logger.fatal({ err: error }, 'the node could not start');
    io.stderr.write(`error: ${(error as Error).message}\n`);
    return 1;
  }
  await new Promise<void>((done) => {
    const stop = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'stopping');
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      running.stop().then(done, (error: unknown) => {
        logger.error({ err: error }, 'stopping failed');
        done();
      });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  return 0;
}

/** Prints each committed entry of the node at `url` until `signal` aborts. */
async function followCommits(url: string, io: CommandIO, signal: AbortSignal): Promise<void> {
  const response = await fetch(`${url}/v1/commits`, { signal });
  if (!response.ok || response.body === null) throw new LocalClusterError(`${url}/v1/commits answered ${response.status}`);
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event.split('\n').find((line) => line.startsWith('data: '));
      if (data === undefined) continue;
      const entry = JSON.parse(data.slice(6)) as { index: number; value: { prover: string; payloads: Array<{ payload: unknown }> }; certificate: { signers: string[] } | null };
      const payloads = entry.value.payloads.map((p) => JSON.stringify(p.payload)).join(' ');
      io.stdout.write(`#${entry.index} by ${entry.value.prover}, ${entry.certificate?.signers.length ?? 0} signers${payloads ? `: ${payloads}` : ''}\n`);
    }
  }
}

export function addClusterCommands(program: Command, io: CommandIO, setExitCode: (code: number) => void): void {
  program
    .command('node')
    .description('Run one member of a real cluster: its peers over authenticated TCP, its clients over HTTP, its state in its data directory. Logs JSON lines; stops cleanly on SIGTERM.')
    .requiredOption('--config <file>', 'the node\'s configuration (JSON; see "Run a real cluster" in the README)')
    .option('--byzantine <behaviour>', `for fault tests: run as a Byzantine member (${WIRE_BYZANTINE_BEHAVIOURS.join(', ')}); overrides the configuration's byzantine`)
    .action(async (flags: { config: string; byzantine?: string }) => setExitCode(await runNode(flags.config, io, flags.byzantine)));

  const cluster = program.command('cluster').description('A local cluster of node processes on 127.0.0.1.');
  cluster
    .command('up')
    .description('Generate keys and configurations (once), start the node processes, write DIR/cluster.json, and print commits until Ctrl-C, which stops them.')
    .option('--nodes <n>', `members, 1-${MAX_LOCAL_NODES}`, '4')
    .requiredOption('--dir <dir>', 'where keys, configurations, data and logs go')
    .option('--founders <k>', 'only the first K nodes are members at first; the others wait outside until `members add` admits them')
    .option('--detach', 'return once every node serves clients, and leave them running')
    .action(async (flags: { nodes: string; dir: string; founders?: string; detach?: boolean }) => {
      const n = parseInteger(flags.nodes, '--nodes', 1, MAX_LOCAL_NODES);
      const founders = flags.founders === undefined ? undefined : parseInteger(flags.founders, '--founders', 1, n);
      const up = await usageOnBadInput(() => clusterUp(flags.dir, n, process.argv[1], undefined, founders));
      for (const node of up.nodes) io.stdout.write(`${node.id} pid ${node.pid} ${node.clientUrl}\n`);
      if (flags.detach) {
        io.stdout.write(`cluster ${up.clusterId} is up; statechart-consensus cluster down --dir ${flags.dir} stops it\n`);
        return;
      }
      const abort = new AbortController();
      const interrupted = new Promise<void>((done) => process.once('SIGINT', () => done()));
      const following = followCommits(up.nodes[0].clientUrl, io, abort.signal).catch(() => undefined);
      await interrupted;
      abort.abort();
      await following;
      const down = await clusterDown(flags.dir);
      io.stdout.write(`stopped ${down.stopped.length} node(s)${down.killed.length ? `, killed ${down.killed.join(', ')}` : ''}\n`);
    });
  cluster
    .command('down')
    .description('Stop the node processes DIR/cluster.json lists (SIGTERM, then SIGKILL after 10 s). Their data stays: cluster up starts them again.')
    .requiredOption('--dir <dir>', 'the directory cluster up was given')
    .action(async (flags: { dir: string }) => {
      const down = await usageOnBadInput(() => clusterDown(flags.dir));
      io.stdout.write(`stopped ${down.stopped.length} node(s)${down.killed.length ? `, killed ${down.killed.join(', ')}` : ''}\n`);
    });
  cluster
    .command('status')
    .description('List the nodes of DIR/cluster.json with their pids and client URLs.')
    .requiredOption('--dir <dir>', 'the directory cluster up was given')
    .action(async (flags: { dir: string }) => {
      const file = await usageOnBadInput(async () => readClusterFile(flags.dir));
      for (const node of file.nodes) io.stdout.write(`${node.id} pid ${node.pid ?? '-'} ${node.clientUrl}\n`);
    });

  program
    .command('propose')
    .description('Propose a payload to a node and wait for its commit. The payload is parsed as JSON when it is JSON, else taken as a string.')
    .requiredOption('--url <url>', "a node's client URL")
    .option('--timeout <ms>', 'give up after this long', '30000')
    .option('--json', 'print the answer as JSON')
    .argument('<payload>')
    .action(async (payload: string, flags: { url: string; timeout: string; json?: boolean }) => {
      const result = await proposeCommand(flags.url, payload, { json: flags.json, timeoutMs: parseInteger(flags.timeout, '--timeout', 1, 600_000) });
      io.stdout.write(`${result.output}\n`);
      setExitCode(result.exitCode);
    });
  program
    .command('log')
    .description("Print a node's committed entries with their certificates.")
    .requiredOption('--url <url>', "a node's client URL")
    .option('--from <index>', 'first index', '1')
    .option('--limit <k>', 'entries at most', '100')
    .option('--json', 'print the entries as JSON')
    .action(async (flags: { url: string; from: string; limit: string; json?: boolean }) => {
      const result = await logCommand(flags.url, {
        from: parseInteger(flags.from, '--from', 1, Number.MAX_SAFE_INTEGER),
        limit: parseInteger(flags.limit, '--limit', 1, 1000),
        json: flags.json,
      });
      io.stdout.write(`${result.output}\n`);
      setExitCode(result.exitCode);
    });
}
