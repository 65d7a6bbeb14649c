import { commands, queries } from './commandBuilders';
import type { AcquireOutcome, LockView, ReleaseOutcome, RenewOutcome } from './lockCommands';
import type { QueryOptions, SubmitOptions } from './port';
import type { Committed, PortCaller } from './portCaller';

export interface LeaseOptions extends SubmitOptions {
  /** The lease in committed time; default 10 s, at most a day. */
  readonly leaseMs?: number;
}

export interface LockClient {
  /**
   * Grants the lock with a fencing token (`status: 'granted'`), or queues
   * the owner behind its holder (`status: 'queued'`, `position` from 1): a
   * queued owner is granted the lock when its turn comes, and learns of it
   * by reading the lock or acquiring again.
   */
  acquire(lock: string, owner: string, options?: LeaseOptions): Promise<Committed<AcquireOutcome>>;
  /** With the token of the hold being released, so that an owner's expired hold cannot release its later one. */
  release(lock: string, owner: string, token: number, options?: SubmitOptions): Promise<Committed<ReleaseOutcome>>;
  /** Without `leaseMs`, for the length it was granted for, from the entry's committed time. */
  renew(lock: string, owner: string, token: number, options?: LeaseOptions): Promise<Committed<RenewOutcome>>;
  /** Leaves the queue. */
  cancel(lock: string, owner: string, options?: SubmitOptions): Promise<Committed<{ readonly status: 'cancelled' }>>;
  /** The holder (null when free) and the waiters in order. */
  get(lock: string, options?: QueryOptions): Promise<Committed<LockView>>;
  /** Every held lock, by name. */
  list(options?: QueryOptions): Promise<Committed<{ readonly locks: readonly LockView[] }>>;
  /** Answers when `token` is the current holder's; else throws the refusal a fenced write with it would get. */
  checkFence(lock: string, token: number, options?: QueryOptions): Promise<Committed<{ readonly lock: string; readonly token: number }>>;
}

export function lockClient(caller: PortCaller): LockClient {
  return {
    async acquire(lock, owner, { leaseMs, deadline } = {}) {
      return caller.submit(commands.acquire(lock, owner, { leaseMs }), { deadline });
    },
    async release(lock, owner, token, options = {}) {
      return caller.submit(commands.release(lock, owner, token), options);
    },
    async renew(lock, owner, token, { leaseMs, deadline } = {}) {
      return caller.submit(commands.renew(lock, owner, token, { leaseMs }), { deadline });
    },
    async cancel(lock, owner, options = {}) {
      return caller.submit(commands.cancel(lock, owner), options);
    },
    async get(lock, options = {}) {
      return caller.query(queries.lock(lock), options);
    },
    async list(options = {}) {
      return caller.query(queries.locks(), options);
    },
    async checkFence(lock, token, options = {}) {
      return caller.query(queries.checkFence(lock, token), options);
    },
  };
}
