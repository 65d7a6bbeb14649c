import type { CoordinationPort, QueryOutcome, SubmitOutcome, Unanswered } from '../../../services/port';

/**
 * A `CoordinationPort` over one node's client API, for tests that drive
 * node processes with the same workload and checkers as the simulator's
 * clients. Commands and queries are the plain objects of
 * services/commandBuilders.ts, sent to the route that serves them; answers
 * come back in the shape the in-process port gives:
 *
 * - 200: committed (or answered) at the `index` the node names, with the
 *   result `{ ok: true, value }`. The events a command set off do not travel
 *   over HTTP; the checkers read them from the replayed commit log.
 * - a service's refusal (409, or 404 `unknown_barrier`) with the index it
 *   was committed at: `{ ok: false, error: { code, message } }`.
 * - refused before consensus (422 `aborted`, bad input, no such route, or
 *   the connection refused, so that nothing was sent): `aborted`.
 * - anything else once the request may have reached the node (504, 503,
 *   500, a reset connection, no answer in time): `expired`, since the
 *   command may still commit.
 */

export interface HttpPortOptions {
  /** The clock deadlines are on; the node is told the time left as `timeoutMs`. Default `Date.now`. */
  readonly now?: () => number;
  /** How long the node may wait for a commit when the caller gives no deadline. Default 30 s. */
  readonly defaultWaitMs?: number;
  /** Time past the deadline for the node to answer 504 itself before the request is dropped. Default 2 s. */
  readonly graceMs?: number;
}

interface Request {
  readonly method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  readonly path: string;
  readonly params?: Record<string, string | number | undefined>;
  readonly body?: Record<string, unknown>;
}

type Reply = { readonly kind: 'answer'; readonly status: number; readonly json: Record<string, unknown> } | Unanswered;

const segment = (name: string) => encodeURIComponent(name);

/** The fields of a command its route takes in the body: every one but those the path gives. */
function bodyOf(command: Record<string, unknown>, ...inPath: string[]): Record<string, unknown> {
  const skipped = new Set(['service', 'op', ...inPath]);
  return Object.fromEntries(Object.entries(command).filter(([field, value]) => !skipped.has(field) && value !== undefined));
}

/** The route serving a command, or null for one the client API has none for (`tick`). */
function commandRequest(command: unknown): Request | null {
  if (typeof command !== 'object' || command === null) return null;
  const fields = command as Record<string, unknown>;
  const { service, op } = fields;
  if (service === 'kv' && typeof fields.key === 'string') {
    const path = `/v1/kv/${segment(fields.key)}`;
    if (op === 'put') return { method: 'PUT', path, body: bodyOf(fields, 'key') };
    if (op === 'delete') return { method: 'DELETE', path, body: bodyOf(fields, 'key') };
  }
  if (service === 'kv' && typeof fields.prefix === 'string') {
    const path = `/v1/kv-spaces/${segment(fields.prefix)}`;
    if (op === 'setKeySpace') return { method: 'PUT', path, body: bodyOf(fields, 'prefix') };
    if (op === 'clearKeySpace') return { method: 'DELETE', path };
  }
  if (service === 'locks' && typeof fields.lock === 'string' && ['acquire', 'release', 'renew', 'cancel'].includes(op as string)) {
    return { method: 'POST', path: `/v1/locks/${segment(fields.lock)}/${op as string}`, body: bodyOf(fields, 'lock') };
  }
  if (service === 'barriers' && typeof fields.barrier === 'string') {
    const path = `/v1/barriers/${segment(fields.barrier)}`;
    if (op === 'create') return { method: 'POST', path, body: bodyOf(fields, 'barrier') };
    if (op === 'delete') return { method: 'DELETE', path };
    if (op === 'join' || op === 'leave' || op === 'arrive') return { method: 'POST', path: `${path}/${op}`, body: bodyOf(fields, 'barrier') };
  }
  return null;
}

/** The route answering a query, or null for one the client API has none for (`checkFence`). */
function queryRequest(query: unknown): Request | null {
  if (typeof query !== 'object' || query === null) return null;
  const fields = query as Record<string, unknown>;
  const { service, op } = fields;
  if (service === 'kv' && op === 'get' && typeof fields.key === 'string') return { method: 'GET', path: `/v1/kv/${segment(fields.key)}` };
  if (service === 'kv' && op === 'keys') {
    const { prefix, after, limit } = fields as { prefix?: string; after?: string; limit?: number };
    return { method: 'GET', path: '/v1/kv', params: { prefix, after, limit } };
  }
  if (service === 'kv' && op === 'config') return { method: 'GET', path: '/v1/kv-spaces' };
  if (service === 'locks' && op === 'get' && typeof fields.lock === 'string') return { method: 'GET', path: `/v1/locks/${segment(fields.lock)}` };
  if (service === 'locks' && op === 'list') return { method: 'GET', path: '/v1/locks' };
  if (service === 'barriers' && op === 'get' && typeof fields.barrier === 'string') return { method: 'GET', path: `/v1/barriers/${segment(fields.barrier)}` };
  if (service === 'barriers' && op === 'list') return { method: 'GET', path: '/v1/barriers' };
  return null;
}

/** The start of an abort's reason when the node refused the connection. */
export const REFUSED_CONNECTION = 'connection refused';

/** A connection refused: the request never left, so nothing of it can commit. */
function refusedConnection(error: unknown): boolean {
  for (let cause: unknown = error, depth = 0; cause !== undefined && cause !== null && depth < 5; depth += 1) {
    if ((cause as { code?: unknown }).code === 'ECONNREFUSED') return true;
    cause = (cause as { cause?: unknown }).cause;
  }
  return false;
}

/** A 200's body as the services answered it: the route adds the index to the value. */
function taken(json: Record<string, unknown>): { index: number; result: unknown } | null {
  const { index, ...value } = json;
  return typeof index === 'number' ? { index, result: { ok: true, value } } : null;
}

/** A refusal the services committed: its code, its message and the index of its entry. */
function refused(status: number, json: Record<string, unknown>): { index: number; result: unknown } | null {
  const { error, message, index } = json;
  if ((status !== 409 && status !== 404) || typeof error !== 'string' || typeof index !== 'number') return null;
  return { index, result: { ok: false, error: { code: error, message: typeof message === 'string' ? message : '' } } };
}

/** What ended a request before the services decided it. */
function unanswered(status: number, json: Record<string, unknown>): Unanswered {
  const code = typeof json.error === 'string' ? json.error : `HTTP ${status}`;
  if (status === 422) return { outcome: 'aborted', reason: typeof json.reason === 'string' ? json.reason : code };
  // Refused while reading the request: it never reached the services.
  if ([400, 405, 413, 415, 429, 501].includes(status)) return { outcome: 'aborted', reason: `${code}: ${String(json.message ?? '')}` };
  return { outcome: 'expired' };
}

export function httpPort(url: string, options: HttpPortOptions = {}): CoordinationPort {
  const now = options.now ?? Date.now;
  const defaultWaitMs = options.defaultWaitMs ?? 30_000;
  const graceMs = options.graceMs ?? 2_000;

  async function send(request: Request, deadline: number | undefined, extra: Record<string, string> = {}): Promise<Reply> {
    const waitMs = deadline === undefined ? defaultWaitMs : Math.ceil(deadline - now());
    // The engine gives up a proposal whose deadline has passed without proposing it; so does this port.
    if (waitMs < 1) return { outcome: 'expired' };
    const params = new URLSearchParams({ timeoutMs: String(waitMs), ...extra });
    for (const [name, value] of Object.entries(request.params ?? {})) if (value !== undefined) params.set(name, String(value));
    const init: RequestInit = { method: request.method, signal: AbortSignal.timeout(waitMs + graceMs) };
    if (request.body !== undefined) {
      init.headers = { 'content-type': 'application/json' };
      init.body = JSON.stringify(request.body);
    }
    try {
      const response = await fetch(`${url}${request.path}?${params}`, init);
      // Parsed here rather than by fetch, so that the answer's objects are of the caller's realm (jest gives a test one of its own).
      const json = JSON.parse(await response.text()) as unknown;
      const object = typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : {};
      return { kind: 'answer', status: response.status, json: object };
    } catch (error) {
      if (refusedConnection(error)) return { outcome: 'aborted', reason: `${REFUSED_CONNECTION} by ${url}` };
      return { outcome: 'expired' };
    }
  }

  const decided = (reply: Reply) => {
    if (!('kind' in reply)) return reply;
    const answer = reply.status === 200 ? taken(reply.json) : refused(reply.status, reply.json);
    // A 200 without an index is no answer the routes give: what became of the request is unknown.
    return answer ?? (reply.status === 200 ? ({ outcome: 'expired' } as const) : unanswered(reply.status, reply.json));
  };

  return {
    async submit(command, { deadline } = {}): Promise<SubmitOutcome> {
      const request = commandRequest(command);
      if (request === null) return { outcome: 'aborted', reason: `the client API has no route for ${JSON.stringify(command)}` };
      const answer = decided(await send(request, deadline));
      return 'index' in answer ? { outcome: 'committed', ...answer } : answer;
    },
    async query(query, { deadline, consistency = 'linearizable' } = {}): Promise<QueryOutcome> {
      const request = queryRequest(query);
      if (request === null) return { outcome: 'aborted', reason: `the client API has no route for ${JSON.stringify(query)}` };
      const answer = decided(await send(request, deadline, { consistency }));
      return 'index' in answer ? { outcome: 'answered', index: answer.index, answer: answer.result } : answer;
    },
  };
}

/**
 * A client's port over several nodes: it talks to `urls[first]` and moves
 * to the next node when one refuses the connection (a node that is down),
 * which is safe because nothing was sent. Any other ending is the call's.
 */
export function failoverPort(urls: readonly string[], first: number, options: HttpPortOptions = {}): CoordinationPort {
  const ports = urls.map((url) => httpPort(url, options));
  let at = first % urls.length;
  const refused = (outcome: SubmitOutcome | QueryOutcome) => outcome.outcome === 'aborted' && outcome.reason.startsWith(REFUSED_CONNECTION);
  async function tryEach<T extends SubmitOutcome | QueryOutcome>(call: (port: CoordinationPort) => Promise<T>): Promise<T> {
    let outcome = await call(ports[at]);
    for (let moved = 1; moved < ports.length && refused(outcome); moved += 1) {
      at = (at + 1) % ports.length;
      outcome = await call(ports[at]);
    }
    return outcome;
  }
  return {
    submit: (command, options) => tryEach((port) => port.submit(command, options)),
    query: (query, options) => tryEach((port) => port.query(query, options)),
  };
}
