import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';

/**
 * What every route of the client API shares: its errors, how it reads a
 * JSON body within a bound, and how it answers with JSON.
 */

export const RETRY_AFTER_SECONDS = '1';
/** A request may ask to wait this long at most; longer waits are better served by polling the log. */
export const MAX_TIMEOUT_MS = 10 * 60_000;

/** A request answered with an error: its HTTP status, a stable code for programs, and a message for people. */
export class ClientRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: OutgoingHttpHeaders = {},
  ) {
    super(message);
    this.name = 'ClientRequestError';
  }
}

// The engine's refusals a client can act on; any other code is a fault of ours (500).
const ENGINE_STATUS: Readonly<Record<string, number>> = {
  malformed: 400,
  invalid: 400,
  too_large: 413,
  duplicate: 409,
  too_many_pending: 429,
  stopped: 503,
  not_durable: 503,
  not_configured: 503,
};

export function engineRefusal(error: unknown): ClientRequestError | null {
  // By shape, not class: a backend may wrap the engine, and its errors may come from another realm.
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code !== 'string' || typeof message !== 'string' || !Object.hasOwn(ENGINE_STATUS, code)) return null;
  const headers: OutgoingHttpHeaders = code === 'too_many_pending' ? { 'retry-after': RETRY_AFTER_SECONDS } : {};
  return new ClientRequestError(ENGINE_STATUS[code], code, message, {}, headers);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed) return;
  const text = JSON.stringify(body) ?? 'null';
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
}

/**
 * Reads the body up to `max` bytes. A declared length past it is refused
 * before a byte is read, and an undeclared one as soon as it passes, so a
 * client cannot make the node buffer more than `max`.
 */
export function readJsonBody(req: IncomingMessage, max: number): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json') return Promise.reject(new ClientRequestError(415, 'unsupported_media_type', 'the body must be application/json'));
  const tooLarge = () => new ClientRequestError(413, 'body_too_large', `the body may take at most ${max} bytes`);
  if (Number(req.headers['content-length'] ?? 0) > max) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (error: Error | null) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onError);
      if (error !== null) return reject(error);
      try {
        resolve(JSON.parse(Buffer.concat(chunks, size).toString('utf8')));
      } catch (parseError) {
        reject(new ClientRequestError(400, 'not_json', `the body is not JSON: ${(parseError as Error).message}`));
      }
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.pause();
        return settle(tooLarge());
      }
      chunks.push(chunk);
    };
    const onEnd = () => settle(null);
    // Nobody is left to answer; a ClientRequestError keeps the departure out of the warnings.
    const onError = () => settle(new ClientRequestError(400, 'client_closed', 'the client closed the request before its body ended'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onError);
  });
}
