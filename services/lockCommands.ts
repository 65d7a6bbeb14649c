import { z } from 'zod';
import { CounterSchema, DeadlineSchema, NameSchema, TimeSchema } from './schemas';

/**
 * The language of the fenced-lock service: its commands, queries, events and
 * snapshot, with the bounds each one is held to.
 */

/** The seed's operator limit; a lock table is read in full on every apply, so it stays small. */
export const MAX_LOCKS = 256;
/** Waiters per lock, as in the seed; beyond it an acquire is refused rather than queued. */
export const MAX_WAITERS = 64;
export const DEFAULT_LEASE_MS = 10_000;
/** A day: a holder that crashed blocks its waiters at most this long. */
export const MAX_LEASE_MS = 86_400_000;
/** Re-entrant holds by one owner; only an owner that never releases runs this up. */
export const MAX_HOLDS = 1_024;

const LeaseSchema = z.int().min(1).max(MAX_LEASE_MS);
/** Present when a command is routed by the coordination state; optional so that one command fits both. */
const service = z.literal('locks').optional();

export const AcquireSchema = z.strictObject({
  service,
  op: z.literal('acquire'),
  lock: NameSchema,
  owner: NameSchema,
  leaseMs: LeaseSchema.optional(),
});

/** The token makes a release safe: an owner's earlier, expired hold cannot release its later one. */
export const ReleaseSchema = z.strictObject({
  service,
  op: z.literal('release'),
  lock: NameSchema,
  owner: NameSchema,
  token: CounterSchema,
});

/** Without `leaseMs` the lease is renewed for the length it was granted for. */
export const RenewSchema = z.strictObject({
  service,
  op: z.literal('renew'),
  lock: NameSchema,
  owner: NameSchema,
  token: CounterSchema,
  leaseMs: LeaseSchema.optional(),
});

/** A waiter that gives up leaves the queue instead of being granted a lease it would let expire. */
export const CancelSchema = z.strictObject({ service, op: z.literal('cancel'), lock: NameSchema, owner: NameSchema });

/** Carries only its entry's time, so that leases expire when nothing else is applied. */
export const LockTickSchema = z.strictObject({ service, op: z.literal('tick') });

export const LockCommandSchema = z.discriminatedUnion('op', [AcquireSchema, ReleaseSchema, RenewSchema, CancelSchema, LockTickSchema]);
export type LockCommand = z.infer<typeof LockCommandSchema>;

export const LockQuerySchema = z.discriminatedUnion('op', [
  z.strictObject({ service, op: z.literal('get'), lock: NameSchema }),
  z.strictObject({ service, op: z.literal('list') }),
  z.strictObject({ service, op: z.literal('checkFence'), lock: NameSchema, token: CounterSchema }),
]);
export type LockQuery = z.infer<typeof LockQuerySchema>;

export type LockErrorCode =
  /** A new lock would exceed `MAX_LOCKS` live locks. */
  | 'too_many_locks'
  /** The lock's wait queue holds `MAX_WAITERS` already. */
  | 'queue_full'
  /** The owner holds the lock `MAX_HOLDS` times already. */
  | 'too_many_holds'
  /** Release or renew by someone who does not hold the lock (or the lock is free). */
  | 'not_holder'
  /** Release or renew by the holder with a token of an earlier hold. */
  | 'token_mismatch'
  /** Cancel by an owner that is not waiting for the lock. */
  | 'not_waiting';

/** Why a fenced write is refused. */
export type FenceErrorCode =
  /** The lock has no holder: the hold the token was issued for was released or expired. */
  | 'fence_holder_gone'
  /** The lock's holder has a newer token than the one presented. */
  | 'stale_fence_token'
  /** The token is newer than the holder's: it was never issued to this lock's holder. */
  | 'unknown_fence_token';

export interface LockHolder {
  readonly owner: string;
  readonly token: number;
  /** Re-entrant holds still to release. */
  readonly count: number;
  readonly leaseMs: number;
  readonly grantedAt: number;
  /** The committed time at which the lease ends: from then on the hold is gone. */
  readonly expiresAt: number;
}

export interface LockWaiter {
  readonly owner: string;
  readonly leaseMs: number;
  readonly queuedAt: number;
}

export type LockEvent =
  | { readonly type: 'lock_granted'; readonly lock: string; readonly owner: string; readonly token: number; readonly expiresAt: number }
  | { readonly type: 'lock_released'; readonly lock: string; readonly owner: string; readonly token: number }
  | { readonly type: 'lock_expired'; readonly lock: string; readonly owner: string; readonly token: number };

export type AcquireOutcome =
  | { readonly status: 'granted'; readonly token: number; readonly count: number; readonly expiresAt: number }
  /** `position` counts from 1, the next to be granted. */
  | { readonly status: 'queued'; readonly position: number };

export type ReleaseOutcome = { readonly status: 'held'; readonly count: number } | { readonly status: 'released' };

export interface RenewOutcome {
  readonly token: number;
  readonly expiresAt: number;
}

export interface LockView {
  readonly lock: string;
  readonly holder: LockHolder | null;
  readonly waiters: readonly LockWaiter[];
}

const HolderSchema = z.strictObject({
  owner: NameSchema,
  token: CounterSchema,
  count: z.int().min(1).max(MAX_HOLDS),
  leaseMs: LeaseSchema,
  grantedAt: TimeSchema,
  expiresAt: DeadlineSchema,
});

const WaiterSchema = z.strictObject({ owner: NameSchema, leaseMs: LeaseSchema, queuedAt: TimeSchema });

/** Only held locks are kept: a free lock with nobody waiting has nothing to remember, its tokens come from a table-wide counter. */
export const LockSnapshotSchema = z.strictObject({
  lastToken: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
  locks: z
    .array(z.strictObject({ lock: NameSchema, holder: HolderSchema, waiters: z.array(WaiterSchema).max(MAX_WAITERS) }))
    .max(MAX_LOCKS),
});
export type LockSnapshot = z.infer<typeof LockSnapshotSchema>;
