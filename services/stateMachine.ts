/**
 * The contract every coordination service keeps with the commit log that will
 * feed it. A service is a pure function of the commands it has applied: no
 * wall clock, no randomness, no I/O. Time is the committed time of the entry
 * that carries a command, so every replica that applies the same entries in
 * the same order, from the same snapshot, ends in the same state.
 */

/** Where a command sits in the commit log. */
export interface AppliedAt {
  /** The entry's index in the log; each applied command's index is greater than the last one's. */
  readonly index: number;
  /** The entry's committed time in milliseconds: the only clock a service reads. */
  readonly time: number;
}

export interface ServiceError<Code extends string = string> {
  readonly code: Code;
  readonly message: string;
}

/** A command, query or snapshot that was not taken. Nothing in the service changed. */
export interface Refusal<Code extends string = string> {
  readonly ok: false;
  readonly error: ServiceError<Code>;
}

/** Refusals any service can give, whatever its commands. */
export type CommonErrorCode =
  /** The command is not plain JSON or does not match any of the service's command schemas. */
  | 'invalid_command'
  /** The command is larger than any the service takes; it was not read in full. */
  | 'command_too_large'
  /** `at` is not a non-negative integer index and time. */
  | 'invalid_position'
  /** The index is not after the last applied one: the entry was applied already (a replay). */
  | 'already_applied';

export type QueryErrorCode = 'invalid_query';

/**
 * A command that was taken: its answer, and what it set off for others
 * (a lock handed to a waiter, a barrier released), in the order it happened.
 */
export interface Accepted<V, E = never> {
  readonly ok: true;
  readonly value: V;
  readonly events: readonly E[];
}

/** A query's answer. */
export interface Answered<V> {
  readonly ok: true;
  readonly value: V;
}

export type Validated<C> = { readonly ok: true; readonly command: C } | Refusal<'invalid_command' | 'command_too_large'>;

/**
 * `unknown_merge`: the snapshot is well formed but names an application merge
 * (KV `merge:app:<name>`) this replica has not registered.
 */
export type RestoreErrorCode = 'invalid_snapshot' | 'unknown_merge';
export type RestoreResult = { readonly ok: true } | Refusal<RestoreErrorCode>;

/**
 * `C` is a valid command, `R` what `apply` answers (refusals included), `A`
 * what `query` answers.
 */
export interface ReplicatedStateMachine<C, R, A = unknown> {
  /**
   * Checks a command without applying it, e.g. before a client pays for
   * consensus on it. A command that passes may still be refused by `apply`,
   * whose decision depends on the state at the entry's time.
   */
  validate(command: unknown): Validated<C>;
  /**
   * Applies one committed command. Never throws: bad input and commands the
   * state does not allow are refusals, which change nothing at all, not even
   * the applied position or the service's clock.
   */
  apply(command: unknown, at: AppliedAt): R;
  /** Reads the state as of the last applied command; changes nothing. */
  query(query: unknown): A;
  /** The whole state as plain JSON, position included; restoring it on any replica gives the same machine. */
  snapshot(): unknown;
  /** Replaces the state with a snapshot after validating all of it; a refused snapshot changes nothing. */
  restore(snapshot: unknown): RestoreResult;
}

/** The position and clock of a service: where its last applied command sat, or null before any. */
export type AppliedPosition = AppliedAt | null;

export function refuse<Code extends string>(code: Code, message: string): Refusal<Code> {
  return { ok: false, error: { code, message } };
}

/** Bounds a message built from input, so that a hostile key or value cannot make a refusal huge. */
const MAX_MESSAGE_LENGTH = 400;

export function boundMessage(message: string): string {
  return message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : message;
}
