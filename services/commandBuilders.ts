import type { VectorClock } from './vectorClock';
import type { ConflictStrategy } from './kvCommands';
import type { CoordinationCommand } from './coordination';

/**
 * Builders for the plain commands and queries of the coordination state,
 * for clients that propose them to the log. They only assemble objects; the
 * services validate everything when the entry is applied.
 */

type Command<S extends CoordinationCommand['service'], O extends string> = Extract<CoordinationCommand, { service: S; op: O }>;

export interface PutOptions {
  readonly writer: string;
  /** The clock from the `get` the write is based on; without it the write is blind. */
  readonly context?: VectorClock;
  readonly fence?: { readonly lock: string; readonly token: number };
}

export interface DeleteOptions {
  readonly context?: VectorClock;
  readonly fence?: { readonly lock: string; readonly token: number };
}

export interface BarrierOptions {
  readonly threshold?: number;
  readonly timeoutMs?: number | null;
  readonly onTimeout?: 'fail' | 'release';
  readonly after?: string;
}

/** Leaves out options that were not given, so that a command carries no `undefined` (which is not JSON). */
function given<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}

export const commands = {
  put(key: string, value: unknown, options: PutOptions): Command<'kv', 'put'> {
    return { service: 'kv', op: 'put', key, value, ...given(options), writer: options.writer };
  },
  delete(key: string, options: DeleteOptions = {}): Command<'kv', 'delete'> {
    return { service: 'kv', op: 'delete', key, ...given(options) };
  },
  setKeySpace(prefix: string, strategy: ConflictStrategy): Command<'kv', 'setKeySpace'> {
    return { service: 'kv', op: 'setKeySpace', prefix, strategy };
  },
  clearKeySpace(prefix: string): Command<'kv', 'clearKeySpace'> {
    return { service: 'kv', op: 'clearKeySpace', prefix };
  },
  acquire(lock: string, owner: string, options: { readonly leaseMs?: number } = {}): Command<'locks', 'acquire'> {
    return { service: 'locks', op: 'acquire', lock, owner, ...given(options) };
  },
  release(lock: string, owner: string, token: number): Command<'locks', 'release'> {
    return { service: 'locks', op: 'release', lock, owner, token };
  },
  renew(lock: string, owner: string, token: number, options: { readonly leaseMs?: number } = {}): Command<'locks', 'renew'> {
    return { service: 'locks', op: 'renew', lock, owner, token, ...given(options) };
  },
  cancel(lock: string, owner: string): Command<'locks', 'cancel'> {
    return { service: 'locks', op: 'cancel', lock, owner };
  },
  createBarrier(barrier: string, participants: readonly string[], options: BarrierOptions = {}): Command<'barriers', 'create'> {
    return { service: 'barriers', op: 'create', barrier, participants: [...participants], ...given(options) };
  },
  deleteBarrier(barrier: string): Command<'barriers', 'delete'> {
    return { service: 'barriers', op: 'delete', barrier };
  },
  join(barrier: string, participant: string): Command<'barriers', 'join'> {
    return { service: 'barriers', op: 'join', barrier, participant };
  },
  leave(barrier: string, participant: string): Command<'barriers', 'leave'> {
    return { service: 'barriers', op: 'leave', barrier, participant };
  },
  arrive(barrier: string, participant: string, generation?: number): Command<'barriers', 'arrive'> {
    return { service: 'barriers', op: 'arrive', barrier, participant, ...given({ generation }) };
  },
  /** An entry with no command of its own, so that its committed time expires leases and deadlines. */
  tick(): Command<'locks', 'tick'> {
    return { service: 'locks', op: 'tick' };
  },
};

export const queries = {
  get: (key: string) => ({ service: 'kv', op: 'get', key }) as const,
  keys: (options: { readonly prefix?: string; readonly after?: string; readonly limit?: number } = {}) =>
    ({ service: 'kv', op: 'keys', ...given(options) }) as const,
  /** The KV store's settings: its key spaces, default strategy and key limit. */
  kvConfig: () => ({ service: 'kv', op: 'config' }) as const,
  lock: (lock: string) => ({ service: 'locks', op: 'get', lock }) as const,
  locks: () => ({ service: 'locks', op: 'list' }) as const,
  checkFence: (lock: string, token: number) => ({ service: 'locks', op: 'checkFence', lock, token }) as const,
  barrier: (barrier: string) => ({ service: 'barriers', op: 'get', barrier }) as const,
  barriers: () => ({ service: 'barriers', op: 'list' }) as const,
};
