import { membershipRoute, type MembershipBackend } from './membershipRoutes';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CoordinationPort } from '../services/port';
import type { CoordinationClients } from '../services/clients';
import { ClientRequestError, engineRefusal, MAX_TIMEOUT_MS, readJsonBody, RETRY_AFTER_SECONDS, sendJson } from './clientHttp';
import { coordinationRoutes } from './coordinationRoutes';

export { ClientRequestError, MAX_TIMEOUT_MS } from './clientHttp';

/** One committed entry as a client sees it: plain JSON data. */
export interface ClientEntry {
  index: number;
  rank: number;
  attempt: number;
  valueDigest: string;
  proposer: string | null;
  /** The entry's `CommitCertificate` as JSON, or null for an engine without keys. */
  certificate: unknown;
  /** The committed state as plain JSON data. */
  value: unknown;
}

export type ClientProposeOutcome =
  | { outcome: 'committed'; index: number; rank: number }
  | { outcome: 'aborted'; reason: string }
  | { outcome: 'expired' };

/** What the API needs of a node; the node's own adapter maps it onto its engine. */
export interface ClientBackend {
  /**
   * Resolves with the engine's outcome; rejects with an error that has a
   * string `code` (`ProposalError`'s: 'malformed', 'too_large', ...). The
   * deadline is wall-clock ms (`Date.now()`'s scale): the backend knows its
   * engine's clock, the HTTP layer does not.
   */
  propose(payload: unknown, options: { deadline?: number }): Promise<ClientProposeOutcome>;
  /** Entries with from ≤ index, at most `limit`, in order (older ones may be compacted: the first returned may be later than from). */
  log(from: number, limit: number): ClientEntry[];
  /** JSON: role, term, leader, height, members and their reachability. */
  status(): unknown;
  metrics(): Promise<{ contentType: string; body: string }>;
  /** Each committed entry as it enters the log. Returns an unsubscribe function. */
  onEntry(listener: (entry: ClientEntry) => void): () => void;
  /**
   * The coordination services (`/v1/kv`, `/v1/kv-spaces`, `/v1/locks`, `/v1/barriers`), as a port or as the
   * clients of one (a node's `kv`, `locks`, `barriers`); without it those routes answer 501.
   */
  coordination?: CoordinationPort | CoordinationClients;
  /** `/v1/members`: the membership and changes to it through the log; without it, 501. */
  membership?: MembershipBackend;
}

export interface ClientApiLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface ClientApiOptions {
  host: string;
  /** 0 picks a free port; `url` says which. */
  port: number;
  backend: ClientBackend;
  /** Largest request body read; past it reading stops and 413 is answered. Default 64 KiB. */
  maxBodyBytes?: number;
  /** Commit streams (`/v1/commits`) open at once; past it 503. Default 64. */
  maxStreams?: number;
  /** Time between comment lines on an idle commit stream, so proxies keep it open. Default 15 s. */
  heartbeatMs?: number;
  logger?: ClientApiLogger;
}

export interface ClientApi {
  /** `http://host:port`, with the port actually bound. */
  readonly url: string;
  /** Stops listening and ends every connection, commit streams and waiting proposals included. */
  close(): Promise<void>;
}

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;
export const DEFAULT_MAX_STREAMS = 64;
export const DEFAULT_HEARTBEAT_MS = 15_000;
export const MAX_LOG_LIMIT = 1000;
const DEFAULT_LOG_LIMIT = 100;
/** Entries read from the log at a time when a stream replays or fills a gap. */
const REPLAY_PAGE = 256;
/** Live entries queued for one slow stream before it falls back to reading the log. */
const STREAM_QUEUE_BOUND = 1024;

type Handler = (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => Promise<void> | void;

/**
 * Starts one node's client API: proposals, its commit log (paged and as a
 * stream), its status and its metrics, and the coordination services when
 * the backend has them (`coordinationRoutes.ts`), as JSON over HTTP. Plain `node:http`:
 * fastify was no faster on these routes and would be another dependency of
 * the CLI bundle (bench/http-candidates/README.md).
 */
export async function startClientApi(options: ClientApiOptions): Promise<ClientApi> {
  const { backend, logger } = options;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxStreams = options.maxStreams ?? DEFAULT_MAX_STREAMS;
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const streams = new Set<ServerResponse>();
  let closing = false;

  const coordination = coordinationRoutes({ services: backend.coordination, maxBodyBytes });
  const routes: Record<string, Record<string, Handler>> = {
    '/v1/propose': { POST: (req, res) => propose(req, res) },
    '/v1/log': { GET: (_req, res, query) => sendJson(res, 200, { entries: backend.log(...logWindow(query)) }) },
    '/v1/status': { GET: (_req, res) => sendJson(res, 200, backend.status()) },
    '/metrics': { GET: (_req, res) => metrics(res) },
    '/v1/commits': { GET: (req, res, query) => commitStream(req, res, query) },
    '/v1/members': membershipRoute(backend.membership, maxBodyBytes),
  };

  async function propose(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { payload, timeoutMs } = parseProposal(await readJsonBody(req, maxBodyBytes));
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    let outcome: ClientProposeOutcome;
    try {
      outcome = await backend.propose(payload, deadline === undefined ? {} : { deadline });
    } catch (error) {
      throw engineRefusal(error) ?? error;
    }
    // The proposal stands whether or not its client is still there to hear how it ended.
    if (res.destroyed) {
      logger?.info({ outcome: outcome.outcome }, 'a proposal settled after its client left');
      return;
    }
    if (outcome.outcome === 'committed') return sendJson(res, 200, { index: outcome.index, rank: outcome.rank });
    if (outcome.outcome === 'aborted') throw new ClientRequestError(422, 'aborted', `the proposal was aborted: ${outcome.reason}`, { reason: outcome.reason });
    throw new ClientRequestError(504, 'expired', 'the proposal did not commit by its deadline');
  }

  async function metrics(res: ServerResponse): Promise<void> {
    const { contentType, body } = await backend.metrics();
    if (res.destroyed) return;
    res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) }).end(body);
  }

  /**
   * Server-sent events, one per committed entry, strictly in index order: a
   * replay from the log when asked (`?from=`, or the `Last-Event-ID` a
   * reconnecting EventSource sends), then live entries. Live entries are
   * queued while the replay awaits the socket; whatever overlaps the replay
   * is dropped, and a live entry past the next expected index first fills
   * the gap from the log, so a client sees neither a gap nor a duplicate
   * unless the log itself no longer holds the entries.
   */
  function commitStream(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void {
    if (closing) throw new ClientRequestError(503, 'closing', 'the client API is closing');
    if (streams.size >= maxStreams) throw new ClientRequestError(503, 'too_many_streams', `${maxStreams} commit streams are open, the most this node serves`, {}, { 'retry-after': RETRY_AFTER_SECONDS });
    let next = streamStart(req, query);
    let catchingUp = next !== null;
    let queue: ClientEntry[] = [];
    let pumping = false;
    let ended = false;
    // The live entry a gap was last filled for: if the log did not hold the missing entries, that entry goes out anyway.
    let gapFilledFor = -1;

    streams.add(res);
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
    res.write(': stream open\n\n');
    const unsubscribe = backend.onEntry((entry) => {
      // Past the bound the log is the buffer: the entries dropped here are
      // there already, and the gap before this one is filled from it.
      if (queue.length >= STREAM_QUEUE_BOUND) queue = [];
      queue.push(entry);
      void pump();
    });
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), heartbeatMs);
    const end = () => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      unsubscribe();
      streams.delete(res);
    };
    res.on('close', end);
    void pump();

    async function send(entry: ClientEntry): Promise<void> {
      next = entry.index + 1;
      if (!res.write(`id: ${entry.index}\nevent: entry\ndata: ${JSON.stringify(entry)}\n\n`)) await drained(res);
    }

    async function pump(): Promise<void> {
      if (pumping) return;
      pumping = true;
      try {
        while (!ended) {
          if (catchingUp && next !== null) {
            const page = backend.log(next, REPLAY_PAGE).filter((entry) => entry.index >= next!);
            if (page.length === 0) catchingUp = false;
            for (const entry of page) if (!ended) await send(entry);
            continue;
          }
          const entry = queue.shift();
          if (entry === undefined) break;
          if (next !== null && entry.index < next) continue;
          if (next !== null && entry.index > next && gapFilledFor !== entry.index) {
            queue.unshift(entry);
            catchingUp = true;
            gapFilledFor = entry.index;
            continue;
          }
          await send(entry);
        }
      } catch (error) {
        logger?.warn({ err: describe(error) }, 'a commit stream failed; it is closed');
        res.destroy();
      } finally {
        pumping = false;
      }
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://client-api');
      const coordinationHandler = coordination.route(url.pathname, req.method ?? '');
      if (coordinationHandler !== null) return await coordinationHandler(req, res, url.searchParams);
      const route = routes[url.pathname];
      if (route === undefined) throw new ClientRequestError(404, 'not_found', `no route ${url.pathname}`);
      const handler = route[req.method ?? ''];
      if (handler === undefined) {
        const allow = Object.keys(route).join(', ');
        throw new ClientRequestError(405, 'method_not_allowed', `${url.pathname} takes ${allow}`, {}, { allow });
      }
      await handler(req, res, url.searchParams);
    } catch (error) {
      sendError(req, res, error);
    }
  }

  function sendError(req: IncomingMessage, res: ServerResponse, error: unknown): void {
    if (!(error instanceof ClientRequestError)) {
      logger?.warn({ err: describe(error), method: req.method, url: req.url }, 'a client request failed');
      error = new ClientRequestError(500, 'internal', 'the node could not answer this request');
    }
    const failure = error as ClientRequestError;
    if (res.destroyed) return;
    if (res.headersSent) return void res.destroy();
    for (const [name, value] of Object.entries(failure.headers)) if (value !== undefined) res.setHeader(name, value);
    // A body not read to its end must not be read later as the next request.
    if (!req.complete) res.setHeader('connection', 'close');
    sendJson(res, failure.status, { error: failure.code, message: failure.message, ...failure.extra });
  }

  const server: Server = createServer({ keepAlive: true }, (req, res) => void handle(req, res));
  // Bounds for slow or idle clients; none applies to a response being awaited, so long proposals and streams are unaffected.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  logger?.info({ url }, 'client API listening');

  let closed: Promise<void> | null = null;
  return {
    url,
    close() {
      closed ??= new Promise<void>((resolve) => {
        closing = true;
        server.close(() => resolve());
        for (const res of streams) res.end();
        // server.close alone waits for every keep-alive socket and stream to go away by itself.
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

/** Resolves once the socket takes more, or the client is gone (the stream's own close handler has ended it by then). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function parseProposal(body: unknown): { payload: unknown; timeoutMs: number | undefined } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ClientRequestError(400, 'bad_request', 'the body must be an object: { "payload": ..., "timeoutMs"?: ... }');
  const { payload, timeoutMs, ...rest } = body as Record<string, unknown>;
  const unknownKeys = Object.keys(rest);
  if (unknownKeys.length > 0) throw new ClientRequestError(400, 'bad_request', `unknown field${unknownKeys.length > 1 ? 's' : ''}: ${unknownKeys.join(', ')}`);
  if (payload === undefined) throw new ClientRequestError(400, 'no_payload', 'the body has no "payload"');
  if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS)) {
    throw new ClientRequestError(400, 'bad_timeout', `"timeoutMs" must be a whole number of ms from 1 to ${MAX_TIMEOUT_MS}`);
  }
  return { payload, timeoutMs };
}

function wholeParam(query: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const raw = query.get(name);
  if (raw === null) return fallback;
  const value = /^\d{1,16}$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= min && value <= max)) throw new ClientRequestError(400, 'bad_query', `${name} must be a whole number from ${min} to ${max}`);
  return value;
}

function logWindow(query: URLSearchParams): [from: number, limit: number] {
  return [wholeParam(query, 'from', 1, 0, Number.MAX_SAFE_INTEGER), wholeParam(query, 'limit', DEFAULT_LOG_LIMIT, 1, MAX_LOG_LIMIT)];
}

/** Where a stream starts: `?from=`, else just past a reconnecting EventSource's last id, else null (live entries only). */
function streamStart(req: IncomingMessage, query: URLSearchParams): number | null {
  if (query.has('from')) return wholeParam(query, 'from', 1, 0, Number.MAX_SAFE_INTEGER);
  const lastId = req.headers['last-event-id'];
  if (typeof lastId === 'string' && /^\d{1,16}$/.test(lastId)) return Number(lastId) + 1;
  return null;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
