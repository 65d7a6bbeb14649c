import { z } from 'zod';
import { CounterSchema, NameSchema, TimeSchema } from './schemas';

/**
 * The language of the barrier service: its commands, queries, events and
 * snapshot, with the bounds each one is held to.
 */

/** The seed's operator limit; every apply looks at each barrier's deadline. */
export const MAX_BARRIERS = 64;
/** Participants per barrier, the same bound as the members a vector clock tracks. */
export const MAX_PARTICIPANTS = 64;
/** The seed's barrier timeout: a barrier nobody completes ends within it rather than waiting forever. */
export const DEFAULT_BARRIER_TIMEOUT_MS = 30_000;
/** A day, as for leases; `timeoutMs: null` is the way to wait without limit. */
export const MAX_BARRIER_TIMEOUT_MS = 86_400_000;

const service = z.literal('barriers').optional();

const ParticipantsSchema = z
  .array(NameSchema)
  .min(1)
  .max(MAX_PARTICIPANTS)
  .refine((names) => new Set(names).size === names.length, 'participants must be distinct');

/**
 * `threshold` is the fraction of participants whose arrival releases a
 * generation: 1 (the default) is a full barrier, 0.75 a partial one.
 * `timeoutMs` (default 30 s, null for none) bounds how long a generation
 * stays open; when it passes, `onTimeout` decides: `fail` (the default)
 * ends the generation as failed, `release` releases it with whoever arrived.
 * `after` makes this barrier the next stage of another: each generation
 * opens only once that stage has released the same generation.
 */
export const CreateBarrierSchema = z.strictObject({
  service,
  op: z.literal('create'),
  barrier: NameSchema,
  participants: ParticipantsSchema,
  threshold: z.number().gt(0).lte(1).optional(),
  timeoutMs: z.int().min(1).max(MAX_BARRIER_TIMEOUT_MS).nullable().optional(),
  onTimeout: z.enum(['fail', 'release']).optional(),
  after: NameSchema.optional(),
});

export const DeleteBarrierSchema = z.strictObject({ service, op: z.literal('delete'), barrier: NameSchema });

export const JoinSchema = z.strictObject({ service, op: z.literal('join'), barrier: NameSchema, participant: NameSchema });

export const LeaveSchema = z.strictObject({ service, op: z.literal('leave'), barrier: NameSchema, participant: NameSchema });

/** With `generation`, an arrival meant for a generation that already ended is refused instead of counting toward the next one. */
export const ArriveSchema = z.strictObject({
  service,
  op: z.literal('arrive'),
  barrier: NameSchema,
  participant: NameSchema,
  generation: CounterSchema.optional(),
});

export const BarrierTickSchema = z.strictObject({ service, op: z.literal('tick') });

export const BarrierCommandSchema = z.discriminatedUnion('op', [
  CreateBarrierSchema,
  DeleteBarrierSchema,
  JoinSchema,
  LeaveSchema,
  ArriveSchema,
  BarrierTickSchema,
]);
export type BarrierCommand = z.infer<typeof BarrierCommandSchema>;

export const BarrierQuerySchema = z.discriminatedUnion('op', [
  z.strictObject({ service, op: z.literal('get'), barrier: NameSchema }),
  z.strictObject({ service, op: z.literal('list') }),
]);
export type BarrierQuery = z.infer<typeof BarrierQuerySchema>;

export type BarrierErrorCode =
  /** A new barrier would exceed `MAX_BARRIERS`. */
  | 'too_many_barriers'
  | 'barrier_exists'
  /** The barrier named (or the stage named by `after`) does not exist. */
  | 'unknown_barrier'
  /** A barrier that other stages follow cannot be deleted before them. */
  | 'has_successors'
  | 'not_participant'
  /** A barrier keeps at least one participant. */
  | 'last_participant'
  /** A join would exceed `MAX_PARTICIPANTS`. */
  | 'too_many_participants'
  /** The barrier's current generation waits for its previous stage, or for its next stage to catch up. */
  | 'barrier_not_open'
  /** The arrival names a generation other than the current one. */
  | 'wrong_generation';

export type BarrierOutcome = 'released' | 'failed';

export type BarrierEndReason =
  /** Enough participants arrived (or enough of those missing left). */
  | 'arrivals'
  | 'timeout'
  /** The previous stage failed this generation, so this stage fails it too. */
  | 'predecessor_failed';

export interface BarrierEnding {
  readonly generation: number;
  readonly outcome: BarrierOutcome;
  readonly reason: BarrierEndReason;
  readonly at: number;
}

export type BarrierEvent =
  | {
      readonly type: 'barrier_released' | 'barrier_failed';
      readonly barrier: string;
      readonly generation: number;
      readonly reason: BarrierEndReason;
      readonly arrived: readonly string[];
    }
  | { readonly type: 'barrier_opened'; readonly barrier: string; readonly generation: number; readonly deadline: number | null }
  | { readonly type: 'barrier_deleted'; readonly barrier: string; readonly generation: number };

/** Where a participant's generation stands after an arrive, join or leave. */
export interface BarrierStatus {
  readonly status: 'waiting' | 'released';
  readonly generation: number;
  readonly arrived: number;
  readonly required: number;
}

export interface BarrierView {
  readonly barrier: string;
  readonly participants: readonly string[];
  readonly threshold: number;
  readonly required: number;
  readonly timeoutMs: number | null;
  readonly onTimeout: 'fail' | 'release';
  readonly after: string | null;
  readonly generation: number;
  readonly open: boolean;
  /** In order of arrival. */
  readonly arrived: readonly string[];
  readonly deadline: number | null;
  /** How the previous generation ended. */
  readonly last: BarrierEnding | null;
}

const EndingSchema = z.strictObject({
  generation: CounterSchema,
  outcome: z.enum(['released', 'failed']),
  reason: z.enum(['arrivals', 'timeout', 'predecessor_failed']),
  at: TimeSchema,
});

export const BarrierSnapshotSchema = z.strictObject({
  barriers: z
    .array(
      z.strictObject({
        barrier: NameSchema,
        participants: ParticipantsSchema,
        threshold: z.number().gt(0).lte(1),
        timeoutMs: z.int().min(1).max(MAX_BARRIER_TIMEOUT_MS).nullable(),
        onTimeout: z.enum(['fail', 'release']),
        after: NameSchema.nullable(),
        generation: CounterSchema,
        arrived: z.array(NameSchema).max(MAX_PARTICIPANTS),
        openedAt: TimeSchema.nullable(),
        last: EndingSchema.nullable(),
      }),
    )
    .max(MAX_BARRIERS),
});
export type BarrierSnapshot = z.infer<typeof BarrierSnapshotSchema>;

/**
 * Arrivals that release a generation: the least whole number of
 * participants at or above the fraction, and at least one. The small
 * tolerance keeps 0.7 × 10 (7.000000000000001 in binary floating point) at 7.
 */
export function requiredArrivals(threshold: number, participants: number): number {
  return Math.max(1, Math.ceil(threshold * participants - 1e-9));
}
