import type { IncomingMessage, ServerResponse } from 'node:http';
import { createCoordinationClients, type CoordinationClients } from '../services/clients';
import { isCoordinationError } from '../services/coordinationError';
import type { CoordinationPort } from '../services/port';
import { ClientRequestError, engineRefusal, sendJson } from './clientHttp';
import { BODIES, keyFromPath, keysQuery, nameFromPath, prefixFromPath, readBody, readQuery, writeQuery } from './coordinationRequests';

/**
 * The coordination services over the client API: `/v1/kv`, `/v1/kv-spaces`,
 * `/v1/locks` and `/v1/barriers`. Each route checks its request, calls the library clients
 * over the node's `CoordinationPort`, and answers 200 with the service's
 * answer and the log index, or with the error the call ended in.
 *
 * Names and keys may hold slashes (`jobs/2024/42`): a name is everything
 * between the route's prefix and its action, so `/v1/locks/jobs/2024/acquire`
 * acquires `jobs/2024`. A name whose last part is an action word is sent
 * with that slash as `%2F`.
 */

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => Promise<void>;

export interface CoordinationRoutes {
  /** The handler of a coordination path, or null for a path that is none. Throws 405 for a method the path does not take. */
  route(pathname: string, method: string): RouteHandler | null;
}

const PATH = /^\/v1\/(kv-spaces|kv|locks|barriers)(?:\/(.*))?$/s;
const LOCK_ACTIONS = ['acquire', 'release', 'renew', 'cancel'] as const;
const BARRIER_ACTIONS = ['join', 'leave', 'arrive'] as const;

/** Malformed input, in the services' words or ours; answered 400 so that a client does not retry it unchanged. */
const INVALID = new Set(['invalid_command', 'invalid_query', 'command_too_large', 'key_too_long', 'value_too_large']);

/** The HTTP answer for a call that ended without its answer, mirroring what `/v1/propose` answers for the same ending. */
function failure(error: unknown): unknown {
  if (!isCoordinationError(error)) return engineRefusal(error) ?? error;
  const { code, message, reason, index } = error;
  if (code === 'aborted') return new ClientRequestError(422, 'aborted', message, reason === undefined ? {} : { reason });
  if (code === 'expired') return new ClientRequestError(504, 'expired', message);
  // The port answered with something no service gives: a fault of this node, logged and answered 500.
  if (code === 'bad_answer') return error;
  // A committed refusal names its entry, as an answer does: a client can find where it was decided.
  const at = index === undefined ? {} : { index };
  if (INVALID.has(code)) return new ClientRequestError(400, code, message, at);
  if (code === 'unknown_barrier') return new ClientRequestError(404, code, message, at);
  return new ClientRequestError(409, code, message, at);
}

async function answer(res: ServerResponse, call: () => Promise<object>): Promise<void> {
  let result: object;
  try {
    result = await call();
  } catch (error) {
    throw failure(error);
  }
  // A command stands whether or not its client is still there; sendJson writes nothing to a closed socket.
  sendJson(res, 200, result);
}

function notAllowed(pathname: string, allow: string): never {
  throw new ClientRequestError(405, 'method_not_allowed', `${pathname} takes ${allow}`, {}, { allow });
}

/** The action ending `rest` and the name before it, or null when `rest` names no action of `actions`. */
function splitAction<A extends string>(rest: string, actions: readonly A[]): { name: string; action: A } | null {
  const slash = rest.lastIndexOf('/');
  if (slash <= 0) return null;
  const action = rest.slice(slash + 1) as A;
  return actions.includes(action) ? { name: rest.slice(0, slash), action } : null;
}

export interface CoordinationRoutesOptions {
  /** A port, or the clients of one (a node's own); none: the routes answer 501. */
  services: CoordinationPort | CoordinationClients | undefined;
  maxBodyBytes: number;
}

export function coordinationRoutes(options: CoordinationRoutesOptions): CoordinationRoutes {
  const { services, maxBodyBytes } = options;
  const clients = services === undefined ? null : 'submit' in services ? createCoordinationClients(services) : services;

  function kvRoute(pathname: string, method: string, rest: string | undefined): RouteHandler {
    const { kv } = clients!;
    if (rest === undefined) {
      if (method !== 'GET') notAllowed(pathname, 'GET');
      return (_req, res, query) => answer(res, () => kv.keys(keysQuery(query)));
    }
    const key = keyFromPath(rest);
    switch (method) {
      case 'GET':
        return (_req, res, query) => answer(res, () => kv.get(key, readQuery(query)));
      case 'PUT':
        return async (req, res, query) => {
          const at = writeQuery(query);
          const { value, ...put } = await readBody(req, BODIES.put, maxBodyBytes);
          return answer(res, () => kv.put(key, value, { ...put, ...at }));
        };
      case 'DELETE':
        return async (req, res, query) => {
          const at = writeQuery(query);
          const body = await readBody(req, BODIES.delete, maxBodyBytes, true);
          return answer(res, () => kv.delete(key, { ...body, ...at }));
        };
      default:
        return notAllowed(pathname, 'GET, PUT, DELETE');
    }
  }

  /** Key spaces by prefix; the prefix may be empty (`/v1/kv-spaces/`), a space every key is in. */
  function keySpaceRoute(pathname: string, method: string, rest: string | undefined): RouteHandler {
    const { kv } = clients!;
    if (rest === undefined) {
      if (method !== 'GET') notAllowed(pathname, 'GET');
      return (_req, res, query) => answer(res, () => kv.config(readQuery(query)));
    }
    const prefix = prefixFromPath(rest);
    switch (method) {
      case 'PUT':
        return async (req, res, query) => {
          const at = writeQuery(query);
          const { strategy } = await readBody(req, BODIES.keySpace, maxBodyBytes);
          return answer(res, () => kv.setKeySpace(prefix, strategy, at));
        };
      case 'DELETE':
        return async (req, res, query) => {
          const at = writeQuery(query);
          await readBody(req, BODIES.empty, maxBodyBytes, true);
          return answer(res, () => kv.clearKeySpace(prefix, at));
        };
      default:
        return notAllowed(pathname, 'PUT, DELETE');
    }
  }

  function lockRoute(pathname: string, method: string, rest: string | undefined): RouteHandler {
    const { locks } = clients!;
    if (rest === undefined) {
      if (method !== 'GET') notAllowed(pathname, 'GET');
      return (_req, res, query) => answer(res, () => locks.list(readQuery(query)));
    }
    const acting = method === 'POST' ? splitAction(rest, LOCK_ACTIONS) : null;
    if (acting === null) {
      if (method === 'POST') throw new ClientRequestError(405, 'method_not_allowed', `POST goes to /v1/locks/<name>/${LOCK_ACTIONS.join('|')}`, {}, { allow: 'GET' });
      if (method !== 'GET') notAllowed(pathname, 'GET');
      const lock = nameFromPath(rest);
      return (_req, res, query) => answer(res, () => locks.get(lock, readQuery(query)));
    }
    const lock = nameFromPath(acting.name);
    return async (req, res, query) => {
      const at = writeQuery(query);
      switch (acting.action) {
        case 'acquire': {
          const { owner, leaseMs } = await readBody(req, BODIES.acquire, maxBodyBytes);
          return answer(res, () => locks.acquire(lock, owner, { leaseMs, ...at }));
        }
        case 'release': {
          const { owner, token } = await readBody(req, BODIES.release, maxBodyBytes);
          return answer(res, () => locks.release(lock, owner, token, at));
        }
        case 'renew': {
          const { owner, token, leaseMs } = await readBody(req, BODIES.renew, maxBodyBytes);
          return answer(res, () => locks.renew(lock, owner, token, { leaseMs, ...at }));
        }
        case 'cancel': {
          const { owner } = await readBody(req, BODIES.cancel, maxBodyBytes);
          return answer(res, () => locks.cancel(lock, owner, at));
        }
      }
    };
  }

  function barrierRoute(pathname: string, method: string, rest: string | undefined): RouteHandler {
    const { barriers } = clients!;
    if (rest === undefined) {
      if (method !== 'GET') notAllowed(pathname, 'GET');
      return (_req, res, query) => answer(res, () => barriers.list(readQuery(query)));
    }
    const acting = method === 'POST' ? splitAction(rest, BARRIER_ACTIONS) : null;
    if (acting !== null) {
      const barrier = nameFromPath(acting.name);
      return async (req, res, query) => {
        const at = writeQuery(query);
        if (acting.action === 'arrive') {
          const { participant, generation } = await readBody(req, BODIES.arrive, maxBodyBytes);
          return answer(res, () => barriers.arrive(barrier, participant, { generation, ...at }));
        }
        const { participant } = await readBody(req, acting.action === 'join' ? BODIES.join : BODIES.leave, maxBodyBytes);
        return answer(res, () => barriers[acting.action as 'join' | 'leave'](barrier, participant, at));
      };
    }
    const barrier = nameFromPath(rest);
    switch (method) {
      case 'GET':
        return (_req, res, query) => answer(res, () => barriers.get(barrier, readQuery(query)));
      case 'POST':
        return async (req, res, query) => {
          const at = writeQuery(query);
          const { participants, ...create } = await readBody(req, BODIES.create, maxBodyBytes);
          return answer(res, () => barriers.create(barrier, participants, { ...create, ...at }));
        };
      case 'DELETE':
        return async (req, res, query) => {
          const at = writeQuery(query);
          await readBody(req, BODIES.empty, maxBodyBytes, true);
          return answer(res, () => barriers.delete(barrier, at));
        };
      default:
        return notAllowed(pathname, 'GET, POST, DELETE');
    }
  }

  return {
    route(pathname, method) {
      const match = PATH.exec(pathname);
      if (match === null) return null;
      if (clients === null) {
        return async () => {
          throw new ClientRequestError(501, 'coordination_unavailable', 'this node does not serve the coordination services');
        };
      }
      const [, service, rest] = match;
      if (service === 'kv') return kvRoute(pathname, method, rest);
      if (service === 'kv-spaces') return keySpaceRoute(pathname, method, rest);
      if (service === 'locks') return lockRoute(pathname, method, rest);
      return barrierRoute(pathname, method, rest);
    },
  };
}
