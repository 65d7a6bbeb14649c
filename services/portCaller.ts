import { z } from 'zod';
import { CoordinationState } from './coordination';
import { CoordinationError, type CoordinationFailureCode } from './coordinationError';
import type { CoordinationPort, QueryOptions, QueryOutcome, SubmitOptions, SubmitOutcome } from './port';

/**
 * How every client method reaches the port: the command or query checked
 * here first, then sent, then its outcome turned into the service's value
 * or a thrown `CoordinationError`.
 */

/** A service's value with the log index it was committed at (a command) or is as of (a query). */
export type Committed<T> = T & { readonly index: number };

/**
 * Commands are parsed without reading any state, and an empty state refuses
 * as malformed exactly the queries any state would: checking with it here
 * keeps a malformed call from costing a log entry. It is never applied to.
 */
const CHECKER = new CoordinationState();

/** What the services answer; committed results also carry the events they set off, which a caller does not need. */
const AnswerSchema = z.union([
  z.looseObject({ ok: z.literal(true), value: z.record(z.string(), z.unknown()) }),
  z.looseObject({ ok: z.literal(false), error: z.looseObject({ code: z.string(), message: z.string() }) }),
]);

function valueOf<T>(answer: unknown, index: number): Committed<T> {
  const parsed = AnswerSchema.safeParse(answer);
  if (!parsed.success) throw new CoordinationError('bad_answer', 'the port answered with something that is not a coordination service\'s answer');
  const data = parsed.data;
  // A code the services may add later still reaches the caller as the service gave it.
  if (!data.ok) throw new CoordinationError(data.error.code as CoordinationFailureCode, data.error.message, undefined, index);
  return { ...(data.value as T), index };
}

function unanswered(outcome: Exclude<SubmitOutcome | QueryOutcome, { index: number }>, what: string): never {
  if (outcome.outcome === 'aborted') throw new CoordinationError('aborted', `the ${what} was aborted: ${outcome.reason}`, outcome.reason);
  throw new CoordinationError('expired', `the ${what} was not committed by its deadline; it may still take effect`);
}

export class PortCaller {
  constructor(private readonly port: CoordinationPort) {}

  /** Throws the refusal a malformed command would get, before it is sent. */
  check(command: unknown): void {
    const checked = CHECKER.validate(command);
    if (!checked.ok) throw new CoordinationError(checked.error.code, checked.error.message);
  }

  async submit<T>(command: unknown, options: SubmitOptions = {}): Promise<Committed<T>> {
    this.check(command);
    const outcome = await this.port.submit(command, deadlineOf(options));
    if (outcome.outcome !== 'committed') unanswered(outcome, 'command');
    return valueOf<T>(outcome.result, outcome.index);
  }

  async query<T>(query: unknown, options: QueryOptions = {}): Promise<Committed<T>> {
    const checked = CHECKER.query(query);
    if (!checked.ok && checked.error.code === 'invalid_query') throw new CoordinationError('invalid_query', checked.error.message);
    const outcome = await this.port.query(query, { ...deadlineOf(options), consistency: options.consistency ?? 'linearizable' });
    if (outcome.outcome !== 'answered') unanswered(outcome, 'query');
    return valueOf<T>(outcome.answer, outcome.index);
  }
}

/** Only the port's own options travel to it, never a method's others (a lock's `leaseMs`, a put's `writer`). */
function deadlineOf(options: SubmitOptions): SubmitOptions {
  return options.deadline === undefined ? {} : { deadline: options.deadline };
}
