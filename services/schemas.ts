import { z } from 'zod';
import { boundMessage } from './stateMachine';

/**
 * Schemas shared by every coordination service: names, log positions and
 * committed times. Each service's own commands are in its `*Commands.ts`.
 */

/**
 * Lock names, owners, barrier names, participants and writers appear in
 * every command and are kept in the state; 128 characters hold a UUID, a
 * host:port pair or a path-like name such as `jobs/2024/42`.
 */
export const MAX_NAME_LENGTH = 128;

/** Control characters are refused so that a name prints as what it is in logs and refusals. */
export const NameSchema = z
  .string()
  .min(1)
  .max(MAX_NAME_LENGTH)
  .regex(/^[^\u0000-\u001f\u007f]+$/, 'no control characters');

/**
 * Committed times are milliseconds; the bound is the last instant a JS Date
 * can hold (year 275760), low enough that a time plus the longest lease or
 * timeout stays an exact integer.
 */
export const MAX_TIME = 8_640_000_000_000_000;

/** Milliseconds of committed time. */
export const TimeSchema = z.int().min(0).max(MAX_TIME);

/** A time at which something will happen: a committed time plus a lease or a timeout. */
export const DeadlineSchema = z.int().min(0).max(Number.MAX_SAFE_INTEGER);

export const IndexSchema = z.int().min(0).max(Number.MAX_SAFE_INTEGER);

export const AppliedAtSchema = z.strictObject({ index: IndexSchema, time: TimeSchema });

/** A safe-integer counter that starts at 1: fencing tokens, generations, clock entries. */
export const CounterSchema = z.int().min(1).max(Number.MAX_SAFE_INTEGER);

/** A zod failure as one bounded line for a refusal's message. */
export function describeIssues(error: z.ZodError): string {
  const text = error.issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
  return boundMessage(text);
}
