import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { ArriveSchema, CreateBarrierSchema, JoinSchema, LeaveSchema } from '../services/barrierCommands';
import { DeleteSchema, MAX_KEY_LENGTH, MAX_LIST_LIMIT, PutSchema, SetKeySpaceSchema } from '../services/kvCommands';
import { AcquireSchema, CancelSchema, ReleaseSchema, RenewSchema } from '../services/lockCommands';
import { describeIssues, MAX_NAME_LENGTH, NameSchema } from '../services/schemas';
import type { Consistency } from '../services/port';
import { ClientRequestError, MAX_TIMEOUT_MS, readJsonBody } from './clientHttp';

/**
 * What the coordination routes read from a request: the key or name in the
 * path, the query string and the JSON body, each checked before anything is
 * sent to the services. Bodies are the services' own command schemas less
 * the fields the path gives, so a body is held to exactly the rules its
 * command is.
 */

/** A path segment as sent, percent-decoded; `%2F` keeps a slash inside one name. */
function decoded(raw: string, what: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ClientRequestError(400, `bad_${what}`, `the ${what} in the path is not valid percent-encoded UTF-8`);
  }
}

export function keyFromPath(raw: string): string {
  const key = decoded(raw, 'key');
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new ClientRequestError(400, 'bad_key', `the key in the path must take 1 to ${MAX_KEY_LENGTH} characters, not ${key.length}`);
  }
  return key;
}

/** A key space's prefix: empty (the path ends in a slash) or as long as a key may be. */
export function prefixFromPath(raw: string): string {
  const prefix = decoded(raw, 'prefix');
  if (prefix.length > MAX_KEY_LENGTH) {
    throw new ClientRequestError(400, 'bad_prefix', `the prefix in the path may take at most ${MAX_KEY_LENGTH} characters, not ${prefix.length}`);
  }
  return prefix;
}

export function nameFromPath(raw: string): string {
  const name = decoded(raw, 'name');
  const parsed = NameSchema.safeParse(name);
  if (!parsed.success) {
    throw new ClientRequestError(400, 'bad_name', `the name in the path must take 1 to ${MAX_NAME_LENGTH} characters, none of them control characters`);
  }
  return parsed.data;
}

const WholeParam = (max: number) =>
  z
    .string()
    .regex(/^\d{1,16}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.int().min(1).max(max));

/** `timeoutMs`: how long the node waits for the commit (or the read) before it answers 504. */
const WriteQuery = z.strictObject({ timeoutMs: WholeParam(MAX_TIMEOUT_MS).optional() });
const ReadQuery = WriteQuery.extend({ consistency: z.enum(['linearizable', 'read-index', 'stale']).optional() });
const KeysQuery = ReadQuery.extend({
  prefix: z.string().max(MAX_KEY_LENGTH).optional(),
  after: z.string().min(1).max(MAX_KEY_LENGTH).optional(),
  limit: WholeParam(MAX_LIST_LIMIT).optional(),
});

function parseQuery<T>(schema: z.ZodType<T>, query: URLSearchParams): T {
  const names = [...query.keys()];
  const repeated = names.find((name, at) => names.indexOf(name) !== at);
  if (repeated !== undefined) throw new ClientRequestError(400, 'bad_query', `${repeated} is given more than once`);
  const parsed = schema.safeParse(Object.fromEntries(query));
  if (!parsed.success) throw new ClientRequestError(400, 'bad_query', describeIssues(parsed.error));
  return parsed.data;
}

/** The deadline, on `Date.now()`'s scale, as the port's backend reads it. */
function deadlineOf(timeoutMs: number | undefined): { deadline?: number } {
  return timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs };
}

export function writeQuery(query: URLSearchParams): { deadline?: number } {
  return deadlineOf(parseQuery(WriteQuery, query).timeoutMs);
}

export function readQuery(query: URLSearchParams): { deadline?: number; consistency?: Consistency } {
  const { timeoutMs, consistency } = parseQuery(ReadQuery, query);
  return { ...deadlineOf(timeoutMs), ...(consistency === undefined ? {} : { consistency }) };
}

export function keysQuery(query: URLSearchParams): { deadline?: number; consistency?: Consistency; prefix?: string; after?: string; limit?: number } {
  const { timeoutMs, ...rest } = parseQuery(KeysQuery, query);
  return { ...deadlineOf(timeoutMs), ...rest };
}

const PATH_FIELDS = { service: true, op: true } as const;

export const BODIES = {
  // Optional here only so that a missing value is refused in words of its own rather than zod's.
  put: PutSchema.omit({ ...PATH_FIELDS, key: true })
    .extend({ value: z.unknown().optional() })
    .refine((body) => body.value !== undefined, { message: 'the body has no "value"', path: ['value'] }),
  delete: DeleteSchema.omit({ ...PATH_FIELDS, key: true }),
  keySpace: SetKeySpaceSchema.omit({ ...PATH_FIELDS, prefix: true }),
  acquire: AcquireSchema.omit({ ...PATH_FIELDS, lock: true }),
  release: ReleaseSchema.omit({ ...PATH_FIELDS, lock: true }),
  renew: RenewSchema.omit({ ...PATH_FIELDS, lock: true }),
  cancel: CancelSchema.omit({ ...PATH_FIELDS, lock: true }),
  create: CreateBarrierSchema.omit({ ...PATH_FIELDS, barrier: true }),
  join: JoinSchema.omit({ ...PATH_FIELDS, barrier: true }),
  leave: LeaveSchema.omit({ ...PATH_FIELDS, barrier: true }),
  arrive: ArriveSchema.omit({ ...PATH_FIELDS, barrier: true }),
  empty: z.strictObject({}),
};

/** A request with no body at all: no length, or length 0, and not chunked. */
function bodiless(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0');
}

/**
 * The body read within `maxBytes` and checked against `schema`. A DELETE may
 * come without one (`optional`), and is then read as `{}`.
 */
export async function readBody<T>(req: IncomingMessage, schema: z.ZodType<T>, maxBytes: number, optional = false): Promise<T> {
  const body = optional && bodiless(req) ? {} : await readJsonBody(req, maxBytes);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ClientRequestError(400, 'bad_request', 'the body must be a JSON object');
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new ClientRequestError(400, 'bad_request', describeIssues(parsed.error));
  return parsed.data;
}
