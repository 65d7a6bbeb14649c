import type { CoordinationErrorCode } from './coordination';
import type { CommonErrorCode, QueryErrorCode } from './stateMachine';

/**
 * Why a call of the coordination clients did not get the answer it asked
 * for. Each code says whether the call may have taken effect:
 *
 * - a service's refusal (`not_holder`, `stale_fence_token`, `unknown_barrier`,
 *   `invalid_command`, ...): it was decided and changed nothing;
 * - `aborted`: refused before consensus, so it was never committed;
 * - `expired`: not committed by its deadline; it may still commit later, so
 *   its effect is unknown until read back;
 * - `barrier_failed`, `wait_timeout`, `outcome_unknown`: a barrier wait
 *   ended without its generation released (the arrival itself committed);
 * - `bad_answer`: the port answered with something that is not a service's
 *   answer, a fault of the port rather than of the call.
 */
export type CoordinationFailureCode =
  | CoordinationErrorCode
  | CommonErrorCode
  | QueryErrorCode
  | 'aborted'
  | 'expired'
  | 'barrier_failed'
  | 'wait_timeout'
  | 'outcome_unknown'
  | 'bad_answer';

/** Thrown by every client method whose call did not get its answer; `code` is for programs, `message` for people. */
export class CoordinationError extends Error {
  override readonly name = 'CoordinationError';

  constructor(
    readonly code: CoordinationFailureCode,
    message: string,
    /** Why: the node's reason for `aborted`, how the generation ended for `barrier_failed`. */
    readonly reason?: string,
    /** A service's refusal: the log index it was committed at, where a reader of the log finds it decided. */
    readonly index?: number,
  ) {
    super(message);
  }
}

/** Whether `error` is a CoordinationError, by shape: one thrown in another realm (a test runner's, a worker's) is one too. */
export function isCoordinationError(error: unknown): error is CoordinationError {
  const { name, code, message } = (error ?? {}) as { name?: unknown; code?: unknown; message?: unknown };
  return name === 'CoordinationError' && typeof code === 'string' && typeof message === 'string';
}
