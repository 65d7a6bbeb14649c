import { z } from 'zod';

/** What a client command prints (no trailing newline) and the exit code it ends with. */
export interface CommandResult {
  exitCode: number;
  output: string;
}

/** Exit codes of the client commands: 0 when the node did what was asked, 1 for anything else. */
export const CLIENT_EXIT = Object.freeze({ ok: 0, failed: 1 });

/** A proposal without a timeout of its own waits as long as the engine's default proposal timeout. */
const DEFAULT_PROPOSE_WAIT_MS = 30_000;
/** Time past the proposal's own timeout for the node to say so (504) before the client stops listening. */
const ANSWER_GRACE_MS = 5_000;
const LOG_REQUEST_MS = 10_000;
const DIGEST_SHOWN = 12;
const VALUE_SHOWN = 160;

/** The request never got an answer the command can read: unreachable, too slow, or not the client API. */
export class ClientRequestFailure extends Error {
  constructor(
    readonly code: 'bad_url' | 'unreachable' | 'timeout' | 'bad_response',
    message: string,
  ) {
    super(message);
    this.name = 'ClientRequestFailure';
  }
}

export interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

export function endpoint(base: string, path: string): string {
  let url: URL;
  try {
    // Appended, not resolved: a node behind a proxy may live under a path of its own.
    url = new URL(`${base.replace(/\/+$/, '')}${path}`);
  } catch {
    throw new ClientRequestFailure('bad_url', `not a URL: ${base}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ClientRequestFailure('bad_url', `not an http(s) URL: ${base}`);
  return url.href;
}

/** One request, bounded by `timeoutMs`, whose answer must be JSON. */
export async function requestJson(url: string, init: RequestInit, timeoutMs: number): Promise<Answer> {
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    text = await response.text();
  } catch (error) {
    // Read by shape, not instanceof: fetch's errors may come from another realm (a test runner's).
    const { name, message, cause } = (error ?? {}) as { name?: unknown; message?: unknown; cause?: { message?: unknown; code?: unknown } };
    if (name === 'TimeoutError' || name === 'AbortError') throw new ClientRequestFailure('timeout', `no answer from ${url} within ${timeoutMs} ms`);
    // fetch says "fetch failed" and keeps the reason (ECONNREFUSED, a DNS failure) in `cause`;
    // a name with several addresses gives an AggregateError there, whose message may be empty.
    const reason = [cause?.message, cause?.code, message].find((text) => typeof text === 'string' && text !== '') ?? String(error);
    throw new ClientRequestFailure('unreachable', `cannot reach ${url}: ${reason}`);
  }
  try {
    return { status: response.status, headers: response.headers, body: JSON.parse(text) };
  } catch {
    const shown = text.length > 200 ? `${text.slice(0, 200)}…` : text;
    throw new ClientRequestFailure('bad_response', `HTTP ${response.status} from ${url}, not JSON: ${shown.replace(/\s+/g, ' ').trim()}`);
  }
}

const apiError = z.object({ error: z.string(), message: z.string().optional(), reason: z.string().optional() });
const committed = z.object({ index: z.number().int(), rank: z.number().int() });
const entry = z.object({
  index: z.number().int(),
  rank: z.number().int(),
  attempt: z.number().int(),
  valueDigest: z.string(),
  proposer: z.string().nullable(),
  certificate: z.unknown(),
  value: z.unknown(),
});
const logAnswer = z.object({ entries: z.array(entry) });

/** The line for an answer that is not a success: what the node said, without repeating its code. */
export function refusalLine(answer: Answer): string {
  const parsed = apiError.safeParse(answer.body);
  if (!parsed.success) return `error: HTTP ${answer.status} with an answer the client API does not give`;
  const { error, message, reason } = parsed.data;
  if (error === 'aborted' && reason !== undefined) return `aborted: ${reason}`;
  const detail = message === undefined ? '' : `: ${message.startsWith(`${error}: `) ? message.slice(error.length + 2) : message}`;
  const retry = answer.headers.get('retry-after');
  return `error: ${error}${detail} (HTTP ${answer.status}${retry === null ? '' : `, retry after ${retry} s`})`;
}

function failureResult(error: unknown, json: boolean | undefined): CommandResult {
  if (!(error instanceof ClientRequestFailure)) throw error;
  return { exitCode: CLIENT_EXIT.failed, output: json ? JSON.stringify({ error: error.code, message: error.message }) : `error: ${error.message}` };
}

/** The payload argument as JSON if it parses, else as the string it is: `'{"a":1}'` is an object, `hello` a string. */
export function payloadOf(argument: string): unknown {
  try {
    return JSON.parse(argument);
  } catch {
    return argument;
  }
}

/**
 * Proposes `payload` to the node at `url` and waits for its commit: exit 0
 * with `committed at index I (rank R)`, else exit 1 with the node's refusal
 * (or the request's failure) on one line. `json` prints the node's answer as
 * it came. The request is given up `requestTimeoutMs` after it is sent
 * (default: the proposal's timeout, or 30 s, plus 5 s for the node to answer).
 */
export async function proposeCommand(
  url: string,
  payload: string,
  options: { json?: boolean; timeoutMs?: number; requestTimeoutMs?: number } = {},
): Promise<CommandResult> {
  try {
    const target = endpoint(url, '/v1/propose');
    const body = JSON.stringify({ payload: payloadOf(payload), ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) });
    const answer = await requestJson(
      target,
      { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body },
      options.requestTimeoutMs ?? (options.timeoutMs ?? DEFAULT_PROPOSE_WAIT_MS) + ANSWER_GRACE_MS,
    );
    const ok = answer.status === 200 ? committed.safeParse(answer.body) : null;
    const exitCode = ok?.success ? CLIENT_EXIT.ok : CLIENT_EXIT.failed;
    if (options.json) return { exitCode, output: JSON.stringify(answer.body) };
    if (ok?.success) return { exitCode, output: `committed at index ${ok.data.index} (rank ${ok.data.rank})` };
    return { exitCode, output: ok === null ? refusalLine(answer) : `error: HTTP 200 with an answer the client API does not give` };
  } catch (error) {
    return failureResult(error, options.json);
  }
}

function compact(value: unknown): string {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > VALUE_SHOWN ? `${text.slice(0, VALUE_SHOWN - 1)}…` : text;
}

function signersOf(certificate: unknown): string {
  const signers = (certificate as { signers?: unknown } | null)?.signers;
  return Array.isArray(signers) ? `${signers.length} signer${signers.length === 1 ? '' : 's'}` : 'unsigned';
}

/**
 * Prints the node's committed entries from `from` (default 1), at most
 * `limit` (default 100, the node's own default): one line each with its
 * index, rank, the start of its value digest, how many members signed its
 * certificate, and the value as compact JSON (cut at 160 characters).
 * `json` prints the node's answer as it came. The request is given up after
 * `requestTimeoutMs` (default 10 s).
 */
export async function logCommand(
  url: string,
  options: { from?: number; limit?: number; json?: boolean; requestTimeoutMs?: number } = {},
): Promise<CommandResult> {
  try {
    const query = new URLSearchParams();
    if (options.from !== undefined) query.set('from', String(options.from));
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    const search = query.toString();
    const target = endpoint(url, `/v1/log${search === '' ? '' : `?${search}`}`);
    const answer = await requestJson(target, { headers: { accept: 'application/json' } }, options.requestTimeoutMs ?? LOG_REQUEST_MS);
    if (answer.status !== 200) {
      return { exitCode: CLIENT_EXIT.failed, output: options.json ? JSON.stringify(answer.body) : refusalLine(answer) };
    }
    const parsed = logAnswer.safeParse(answer.body);
    if (!parsed.success) throw new ClientRequestFailure('bad_response', `${target} answered with something other than a log: ${parsed.error.issues[0].message}`);
    if (options.json) return { exitCode: CLIENT_EXIT.ok, output: JSON.stringify(answer.body) };
    const { entries } = parsed.data;
    if (entries.length === 0) return { exitCode: CLIENT_EXIT.ok, output: `no entries from index ${options.from ?? 1}` };
    const width = String(entries[entries.length - 1].index).length;
    const lines = entries.map(
      (e) => `${String(e.index).padStart(width)}  rank ${e.rank}  ${e.valueDigest.slice(0, DIGEST_SHOWN)}  ${signersOf(e.certificate)}  ${compact(e.value)}`,
    );
    return { exitCode: CLIENT_EXIT.ok, output: lines.join('\n') };
  } catch (error) {
    return failureResult(error, options.json);
  }
}
