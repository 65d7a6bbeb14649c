import { z } from 'zod';

export const DEFAULT_MAX_PENDING_PROPOSALS = 128;
export const DEFAULT_MAX_BATCH = 256;
export const DEFAULT_MAX_BATCH_BYTES = 256 * 1024;
export const DEFAULT_PROPOSAL_TIMEOUT = 30_000;

/**
 * What the engine needs to know about an app's payloads to batch them into
 * proposals and to tell their proposers when they commit. Nothing here is
 * about quorums or signatures: those stay the engine's.
 */
export interface ProposalOptions<StateT, PayloadT> {
  /** A payload's stable name: one name, one payload (a second with the same name is a duplicate). */
  identify(payload: PayloadT): string;
  /** The names of the payloads a committed state carries: how the engine learns which committed. */
  payloadsIn(state: StateT): Iterable<string>;
  /**
   * Whether a payload may go into a proposal on top of `active` (the last
   * committed state): `true`, or why not. Asked when it is proposed and again
   * each time it is batched; a refusal settles it as `aborted`.
   */
  validate?(payload: PayloadT, active: StateT): true | string;
  /** Bytes a payload counts for the batch bound. Default: its JSON length. */
  sizeOf?(payload: PayloadT): number;
  /** This node's proposals pending at once; past it `propose` refuses (`too_many_pending`). Default 128. */
  maxPending?: number;
  /** Payloads in one batch. Default 256. */
  maxBatch?: number;
  /** Bytes in one batch; a single payload larger than this is refused (`too_large`). Default 256 KiB. */
  maxBatchBytes?: number;
  /** Time in ms a proposal without a deadline may wait to commit. Default 30 s. */
  timeout?: number;
}

const isFunction = (value: unknown) => typeof value === 'function';
const fn = (name: string) => z.custom<unknown>(isFunction, { message: `${name} must be a function` });

export const proposalOptionsSchema = z
  .object({
    identify: fn('identify'),
    payloadsIn: fn('payloadsIn'),
    validate: fn('validate').optional(),
    sizeOf: fn('sizeOf').optional(),
    maxPending: z.number().int().min(1).max(1 << 20).optional(),
    maxBatch: z.number().int().min(1).max(1 << 20).optional(),
    maxBatchBytes: z.number().int().min(1).optional(),
    timeout: z.number().finite().positive().optional(),
  })
  .strict();

/** How a proposal ended. */
export type ProposalOutcome =
  /**
   * Committed in the log entry at `index` (its rank). `result`: what the
   * app's state machine (config `stateMachine`) answered for this payload
   * when it applied the entry; absent when it answered nothing for it, or
   * when this node did not apply the entry itself (a snapshot covered it).
   */
  | { outcome: 'committed'; index: number; result?: unknown }
  /** The app's validation refused it, when proposed or when batched. */
  | { outcome: 'aborted'; reason: string }
  /** Not committed by its deadline (see the README on what a forwarded copy may still do). */
  | { outcome: 'expired' };

export interface ProposeOptions {
  /** Time on the engine's clock after which it is given up. Default: now plus `proposals.timeout`. */
  deadline?: number;
}
