import { Argument, Option, type Command } from 'commander';
import { z } from 'zod';
import { isCoordinationError } from '../services/coordinationError';
import { DEFAULT_POLL_MS, SYSTEM_CLOCK, waitForRelease, type WaitClock } from '../services/barrierWait';
import { STRATEGIES, isConflictStrategy } from '../services/kvCommands';
import { parseInteger } from '../simulator/options';
import { ClientRequestFailure, endpoint, refusalLine, requestJson, type Answer } from './clientCommands';
import { UsageError } from './usage';

/**
 * `kv`, `lock` and `barrier`: the coordination services of a node, through
 * its client API at `--url`. Each prints the node's answer as one line of
 * JSON on stdout and exits 0, or prints why not on stderr and exits 1.
 */

interface CommandIO {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** How long the node may take to commit a command or answer a read before it answers 504. */
const COMMIT_WAIT_MS = 30_000;
/** Time past that for the node to say so before the client stops listening. */
const ANSWER_GRACE_MS = 5_000;
const DEFAULT_WAIT_MS = 30_000;
const MAX_WAIT_MS = 24 * 3_600_000;

export interface CoordinationResult {
  exitCode: number;
  /** One line of JSON, for stdout. */
  stdout?: string;
  /** One line saying why not, for stderr. */
  stderr?: string;
}

/** The node's refusal of a request, as the line that tells it. */
class NodeRefusal extends Error {
  constructor(readonly answer: Answer) {
    super(refusalLine(answer));
  }
}

function segment(name: string): string {
  // Encoded, slashes too: a name is one path segment whatever it holds.
  return encodeURIComponent(name);
}

async function request(url: string, method: string, path: string, body?: unknown, waitMs = COMMIT_WAIT_MS): Promise<unknown> {
  const separator = path.includes('?') ? '&' : '?';
  const target = endpoint(url, `${path}${separator}timeoutMs=${waitMs}`);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const answer = await requestJson(target, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }, waitMs + ANSWER_GRACE_MS);
  if (answer.status !== 200) throw new NodeRefusal(answer);
  return answer.body;
}

function failed(error: unknown): CoordinationResult {
  if (error instanceof NodeRefusal || error instanceof ClientRequestFailure) return { exitCode: 1, stderr: `error: ${error.message.replace(/^error: /, '')}` };
  if (isCoordinationError(error)) return { exitCode: 1, stderr: `error: ${error.code}: ${error.message}` };
  throw error;
}

/** Runs one request and prints the node's answer as it came. */
export async function coordinationRequest(url: string, method: string, path: string, body?: unknown): Promise<CoordinationResult> {
  try {
    return { exitCode: 0, stdout: JSON.stringify(await request(url, method, path, body)) };
  } catch (error) {
    return failed(error);
  }
}

const Status = z.object({ status: z.enum(['waiting', 'released']), generation: z.int(), arrived: z.int(), required: z.int() });
const Ending = z.object({ generation: z.int(), outcome: z.enum(['released', 'failed']), reason: z.enum(['arrivals', 'timeout', 'predecessor_failed']), at: z.number() });
const View = z.looseObject({ barrier: z.string(), generation: z.int(), last: Ending.nullable() });
const Indexed = z.object({ index: z.int() });

/** What the node answered, if it has the shape `schema` says the route answers with. */
function shaped<T>(schema: z.ZodType<T>, body: unknown, what: string): T & { index: number } {
  const parsed = schema.safeParse(body);
  const index = Indexed.safeParse(body);
  if (!parsed.success || !index.success) throw new ClientRequestFailure('bad_response', `the node answered ${what} with something other than the client API gives`);
  return { ...(parsed.data as T & object), index: index.data.index } as T & { index: number };
}

/**
 * Arrives at `barrier` as `participant`, then reads it (stale reads: an
 * ending a node shows was committed) every `pollMs` until the generation
 * arrived for ends or `timeoutMs` passes. Released: exit 0 with
 * `{ barrier, generation, outcome, reason, index }`; failed, timed out or
 * refused: exit 1.
 */
export async function barrierWaitCommand(
  url: string,
  barrier: string,
  participant: string,
  options: { timeoutMs?: number; pollMs?: number; clock?: WaitClock } = {},
): Promise<CoordinationResult> {
  const clock = options.clock ?? SYSTEM_CLOCK;
  const deadline = clock.now() + (options.timeoutMs ?? DEFAULT_WAIT_MS);
  const left = () => Math.max(1, Math.min(COMMIT_WAIT_MS, deadline - clock.now()));
  const path = `/v1/barriers/${segment(barrier)}`;
  try {
    const passed = await waitForRelease(
      barrier,
      {
        arrive: async () => shaped(Status, await request(url, 'POST', `${path}/arrive`, { participant }, left()), 'an arrival'),
        read: async () => shaped(View, await request(url, 'GET', `${path}?consistency=stale`, undefined, left()), 'a barrier read'),
      },
      { deadline, pollMs: options.pollMs ?? DEFAULT_POLL_MS, clock },
    );
    return { exitCode: 0, stdout: JSON.stringify(passed) };
  } catch (error) {
    return failed(error);
  }
}

function jsonArgument(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${what} must be JSON: ${(error as Error).message}`);
  }
}

/** `--fence LOCK:TOKEN`; the token is after the last colon, so a lock name may hold colons (`host:port`). */
function fenceArgument(text: string): { lock: string; token: number } {
  const colon = text.lastIndexOf(':');
  if (colon <= 0) throw new UsageError(`--fence must be LOCK:TOKEN, got ${text}`);
  return { lock: text.slice(0, colon), token: parseInteger(text.slice(colon + 1), '--fence token', 1, Number.MAX_SAFE_INTEGER) };
}

function participantsArgument(text: string): string[] {
  const names = text.split(',').map((name) => name.trim());
  if (names.some((name) => name === '')) throw new UsageError(`--participants must be names separated by commas, got ${JSON.stringify(text)}`);
  return names;
}

/** Whether a node has the application merge a `merge:app:<name>` names is for the node to say; only the syntax is checked here. */
function strategyArgument(text: string): string {
  if (!isConflictStrategy(text)) throw new UsageError(`<strategy> must be one of ${STRATEGIES.join(', ')}, or merge:app:<name> (1–32 of a-z 0-9 _ -, a letter first), got ${text}`);
  return text;
}

function thresholdArgument(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new UsageError(`--threshold must be a fraction of the participants, more than 0 and at most 1, got ${text}`);
  return value;
}

const lease = (text: string) => parseInteger(text, '--lease', 1, Number.MAX_SAFE_INTEGER);
const token = (text: string) => parseInteger(text, '--token', 1, Number.MAX_SAFE_INTEGER);

export function addCoordinationCommands(program: Command, io: CommandIO, setExitCode: (code: number) => void): void {
  const print = (result: CoordinationResult) => {
    if (result.stdout !== undefined) io.stdout.write(`${result.stdout}\n`);
    if (result.stderr !== undefined) io.stderr.write(`${result.stderr}\n`);
    setExitCode(result.exitCode);
  };
  const run = async (url: string, method: string, path: string, body?: unknown) => print(await coordinationRequest(url, method, path, body));
  const withUrl = (command: Command) => command.requiredOption('--url <url>', "a node's client URL");
  const stale = '--stale';
  const staleHelp = "read this node's applied state without going through the log (may be behind)";
  const byIndex = '--read-index';
  const byIndexHelp = 'a fresh read without a commit: answered once this node applied as far as a quorum of members committed';
  const consistency = (flags: { stale?: boolean; readIndex?: boolean }) => (flags.stale ? 'stale' : flags.readIndex ? 'read-index' : 'linearizable');

  const kv = program.command('kv').description('The KV store with vector clocks of a node\'s coordination services.');
  withUrl(kv.command('put').description('Write a JSON value; --context passes the clock of the read it is based on.').argument('<key>').argument('<json>'))
    .requiredOption('--writer <name>', 'whose counter the write advances')
    .option('--context <json>', 'the vector clock the write has seen (from kv get)')
    .option('--fence <lock:token>', 'accept the write only while TOKEN is the holder\'s of LOCK')
    .action(async (key: string, json: string, flags: { url: string; writer: string; context?: string; fence?: string }) => {
      const body = {
        value: jsonArgument(json, 'the value'),
        writer: flags.writer,
        ...(flags.context === undefined ? {} : { context: jsonArgument(flags.context, '--context') }),
        ...(flags.fence === undefined ? {} : { fence: fenceArgument(flags.fence) }),
      };
      await run(flags.url, 'PUT', `/v1/kv/${segment(key)}`, body);
    });
  withUrl(kv.command('get').description('Read a key: its values (siblings when concurrent), versions and merged clock.').argument('<key>'))
    .option(stale, staleHelp)
    .option(byIndex, byIndexHelp)
    .action(async (key: string, flags: { url: string; stale?: boolean; readIndex?: boolean }) => run(flags.url, 'GET', `/v1/kv/${segment(key)}?consistency=${consistency(flags)}`));
  withUrl(kv.command('delete').description('Delete a key (every version, or those --context has seen).').argument('<key>'))
    .option('--context <json>', 'the vector clock the delete has seen')
    .option('--fence <lock:token>', 'accept the delete only while TOKEN is the holder\'s of LOCK')
    .action(async (key: string, flags: { url: string; context?: string; fence?: string }) => {
      const body = {
        ...(flags.context === undefined ? {} : { context: jsonArgument(flags.context, '--context') }),
        ...(flags.fence === undefined ? {} : { fence: fenceArgument(flags.fence) }),
      };
      await run(flags.url, 'DELETE', `/v1/kv/${segment(key)}`, body);
    });
  withUrl(kv.command('keys').description('List keys in order, a page at a time.'))
    .option('--prefix <prefix>', 'only keys starting with it')
    .option('--after <key>', 'only keys after it (the last key of the previous page)')
    .option('--limit <n>', 'keys at most (1-1000)')
    .option(stale, staleHelp)
    .option(byIndex, byIndexHelp)
    .action(async (flags: { url: string; prefix?: string; after?: string; limit?: string; stale?: boolean; readIndex?: boolean }) => {
      const query = new URLSearchParams({ consistency: consistency(flags) });
      if (flags.prefix !== undefined) query.set('prefix', flags.prefix);
      if (flags.after !== undefined) query.set('after', flags.after);
      if (flags.limit !== undefined) query.set('limit', String(parseInteger(flags.limit, '--limit', 1, 1000)));
      await run(flags.url, 'GET', `/v1/kv?${query}`);
    });
  const space = kv.command('space').description('Key spaces: how concurrent writes to keys under a prefix are settled (the longest prefix decides).');
  withUrl(space.command('set').description('Set the conflict strategy of keys starting with <prefix> ("" for every key).').argument('<prefix>'))
    .addArgument(new Argument('<strategy>', `${STRATEGIES.join(', ')}, or merge:app:<name> for a merge the nodes registered`))
    .action(async (prefix: string, strategy: string, flags: { url: string }) =>
      run(flags.url, 'PUT', `/v1/kv-spaces/${segment(prefix)}`, { strategy: strategyArgument(strategy) }),
    );
  withUrl(space.command('clear').description('Remove the key space of <prefix>: its keys fall back to a shorter prefix\'s or the default.').argument('<prefix>'))
    .action(async (prefix: string, flags: { url: string }) => run(flags.url, 'DELETE', `/v1/kv-spaces/${segment(prefix)}`));
  withUrl(space.command('list').description('The key spaces, the default strategy and the key limit.'))
    .option(stale, staleHelp)
    .action(async (flags: { url: string; stale?: boolean }) => run(flags.url, 'GET', `/v1/kv-spaces?consistency=${consistency(flags)}`));

  const lock = program.command('lock').description('The fenced locks of a node\'s coordination services.');
  const lockPath = (name: string, action = '') => `/v1/locks/${segment(name)}${action === '' ? '' : `/${action}`}`;
  withUrl(lock.command('acquire').description('Take the lock with a fencing token, or queue for it.').argument('<name>'))
    .requiredOption('--owner <name>', 'who takes it')
    .option('--lease <ms>', 'the lease in committed time (default 10000)')
    .action(async (name: string, flags: { url: string; owner: string; lease?: string }) =>
      run(flags.url, 'POST', lockPath(name, 'acquire'), { owner: flags.owner, ...(flags.lease === undefined ? {} : { leaseMs: lease(flags.lease) }) }),
    );
  withUrl(lock.command('release').description('Release a hold, by the token it was granted with.').argument('<name>'))
    .requiredOption('--owner <name>', 'who holds it')
    .requiredOption('--token <n>', 'the fencing token of the hold')
    .action(async (name: string, flags: { url: string; owner: string; token: string }) => run(flags.url, 'POST', lockPath(name, 'release'), { owner: flags.owner, token: token(flags.token) }));
  withUrl(lock.command('renew').description('Extend a hold\'s lease from now.').argument('<name>'))
    .requiredOption('--owner <name>', 'who holds it')
    .requiredOption('--token <n>', 'the fencing token of the hold')
    .option('--lease <ms>', 'the new lease (default: the one granted)')
    .action(async (name: string, flags: { url: string; owner: string; token: string; lease?: string }) =>
      run(flags.url, 'POST', lockPath(name, 'renew'), { owner: flags.owner, token: token(flags.token), ...(flags.lease === undefined ? {} : { leaseMs: lease(flags.lease) }) }),
    );
  withUrl(lock.command('cancel').description('Leave the lock\'s queue.').argument('<name>'))
    .requiredOption('--owner <name>', 'who waits for it')
    .action(async (name: string, flags: { url: string; owner: string }) => run(flags.url, 'POST', lockPath(name, 'cancel'), { owner: flags.owner }));
  withUrl(lock.command('get').description('The lock\'s holder (null when free) and its waiters.').argument('<name>'))
    .option(stale, staleHelp)
    .action(async (name: string, flags: { url: string; stale?: boolean }) => run(flags.url, 'GET', `${lockPath(name)}?consistency=${consistency(flags)}`));
  withUrl(lock.command('list').description('Every held lock.'))
    .option(stale, staleHelp)
    .action(async (flags: { url: string; stale?: boolean }) => run(flags.url, 'GET', `/v1/locks?consistency=${consistency(flags)}`));

  const barrier = program.command('barrier').description('The barriers of a node\'s coordination services.');
  const barrierPath = (name: string, action = '') => `/v1/barriers/${segment(name)}${action === '' ? '' : `/${action}`}`;
  withUrl(barrier.command('create').description('Create a cyclic barrier.').argument('<name>'))
    .requiredOption('--participants <names>', 'who arrives, separated by commas')
    .option('--threshold <fraction>', 'the fraction of participants whose arrival releases a generation (default 1)')
    .option('--timeout <ms|none>', 'how long a generation stays open (default 30000)')
    .addOption(new Option('--on-timeout <what>', 'what a timeout does to the generation (default fail)').choices(['fail', 'release']))
    .option('--after <barrier>', 'the stage this one follows')
    .action(async (name: string, flags: { url: string; participants: string; threshold?: string; timeout?: string; onTimeout?: string; after?: string }) => {
      const body = {
        participants: participantsArgument(flags.participants),
        ...(flags.threshold === undefined ? {} : { threshold: thresholdArgument(flags.threshold) }),
        ...(flags.timeout === undefined ? {} : { timeoutMs: flags.timeout === 'none' ? null : parseInteger(flags.timeout, '--timeout', 1, MAX_WAIT_MS) }),
        ...(flags.onTimeout === undefined ? {} : { onTimeout: flags.onTimeout }),
        ...(flags.after === undefined ? {} : { after: flags.after }),
      };
      await run(flags.url, 'POST', barrierPath(name), body);
    });
  for (const [action, description] of [
    ['join', 'Become a participant.'],
    ['leave', 'Stop being a participant (may release the generation).'],
    ['arrive', 'Arrive for the current generation.'],
  ] as const) {
    withUrl(barrier.command(action).description(description).argument('<name>'))
      .requiredOption('--participant <name>', 'who')
      .action(async (name: string, flags: { url: string; participant: string }) => run(flags.url, 'POST', barrierPath(name, action), { participant: flags.participant }));
  }
  withUrl(barrier.command('wait').description('Arrive, then wait until the generation arrived for is released (exit 0) or fails or the wait times out (exit 1).').argument('<name>'))
    .requiredOption('--participant <name>', 'who arrives')
    .option('--timeout <ms>', `how long to wait (default ${DEFAULT_WAIT_MS})`)
    .option('--poll <ms>', `time between reads (default ${DEFAULT_POLL_MS})`)
    .action(async (name: string, flags: { url: string; participant: string; timeout?: string; poll?: string }) =>
      print(
        await barrierWaitCommand(flags.url, name, flags.participant, {
          timeoutMs: flags.timeout === undefined ? undefined : parseInteger(flags.timeout, '--timeout', 1, MAX_WAIT_MS),
          pollMs: flags.poll === undefined ? undefined : parseInteger(flags.poll, '--poll', 1, 60_000),
        }),
      ),
    );
  withUrl(barrier.command('get').description('The barrier: participants, generation, arrivals, deadline, how the last generation ended.').argument('<name>'))
    .option(stale, staleHelp)
    .action(async (name: string, flags: { url: string; stale?: boolean }) => run(flags.url, 'GET', `${barrierPath(name)}?consistency=${consistency(flags)}`));
  withUrl(barrier.command('list').description('Every barrier.'))
    .option(stale, staleHelp)
    .action(async (flags: { url: string; stale?: boolean }) => run(flags.url, 'GET', `/v1/barriers?consistency=${consistency(flags)}`));
  withUrl(barrier.command('delete').description('Delete a barrier (not one another stage follows).').argument('<name>'))
    .action(async (name: string, flags: { url: string }) => run(flags.url, 'DELETE', barrierPath(name)));
}
