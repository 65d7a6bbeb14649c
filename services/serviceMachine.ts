import { z } from 'zod';
import { readPlainJson, type JsonValue, type PlainLimits } from './plainJson';
import { AppliedAtSchema, describeIssues } from './schemas';
import {
  refuse,
  type AppliedAt,
  type AppliedPosition,
  type CommonErrorCode,
  type QueryErrorCode,
  type Refusal,
  type ReplicatedStateMachine,
  type RestoreErrorCode,
  type RestoreResult,
  type Validated,
} from './stateMachine';

/**
 * What every service shares: reading input as plain data, the applied
 * position and its clock, the snapshot envelope, and the rule that a refusal
 * changes nothing. A service supplies only a core that decides a command
 * against its state without touching it (`prepare`) and hands back the change
 * to make (`commit`), which this class makes only when the command is taken.
 */

/** A command decided but not yet made: `commit` changes the state, and is called only once the answer is final. */
export type Prepared<A, Code extends string> = Refusal<Code> | { readonly ok: true; readonly result: A; commit(): void };

export type Restoring = Refusal<RestoreErrorCode> | { readonly ok: true; commit(): void };

export interface ServiceCore<C, A, Code extends string, Answer> {
  /** Names the snapshot format, so that one service's snapshot is never restored into another. */
  readonly format: string;
  /** How large and deep a command may be before it is even parsed. */
  readonly commandLimits: PlainLimits;
  /** How deep a snapshot's state may nest. */
  readonly snapshotDepth: number;
  parse(command: JsonValue): Validated<C>;
  /** Decides `command` at `at`, whose time never goes below the last applied one. Must not change the state. */
  prepare(command: C, at: AppliedAt): Prepared<A, Code>;
  answer(query: JsonValue): Answer | Refusal<QueryErrorCode>;
  snapshotState(): JsonValue;
  prepareRestore(state: JsonValue): Restoring;
}

export type ApplyResult<A, Code extends string> = A | Refusal<Code | CommonErrorCode>;

/** Queries name one thing and carry no values. */
const QUERY_LIMITS: PlainLimits = { maxDepth: 2, maxChars: 2_048 };
const POSITION_LIMITS: PlainLimits = { maxDepth: 1, maxChars: 128 };

export class ServiceMachine<C, A, Code extends string, Answer>
  implements ReplicatedStateMachine<C, ApplyResult<A, Code>, Answer | Refusal<QueryErrorCode>>
{
  private applied: AppliedPosition = null;
  private readonly envelope: z.ZodType<{ format: string; applied: AppliedAt | null; state: unknown }>;

  constructor(private readonly core: ServiceCore<C, A, Code, Answer>) {
    this.envelope = z.strictObject({
      format: z.literal(core.format),
      applied: AppliedAtSchema.nullable(),
      state: z.unknown(),
    });
  }

  /** The index and committed time of the last applied command; null before the first. */
  get position(): AppliedPosition {
    return this.applied;
  }

  validate(command: unknown): Validated<C> {
    const plain = readPlainJson(command, this.core.commandLimits);
    if (!plain.ok) return refuse(plain.tooLarge ? 'command_too_large' : 'invalid_command', plain.message);
    try {
      return this.core.parse(plain.value);
    } catch {
      return refuse('invalid_command', 'the command could not be parsed');
    }
  }

  apply(command: unknown, at: AppliedAt): ApplyResult<A, Code> {
    const position = this.checkPosition(at);
    if (!position.ok) return position;
    const parsed = this.validate(command);
    if (!parsed.ok) return parsed;
    let prepared: Prepared<A, Code>;
    try {
      prepared = this.core.prepare(parsed.command, position.at);
    } catch {
      // Nothing was changed: a core decides before it changes anything.
      return refuse('invalid_command', 'the command could not be decided');
    }
    if (!prepared.ok) return prepared;
    prepared.commit();
    this.applied = position.at;
    return prepared.result;
  }

  query(query: unknown): Answer | Refusal<QueryErrorCode> {
    const plain = readPlainJson(query, QUERY_LIMITS);
    if (!plain.ok) return refuse('invalid_query', plain.message);
    try {
      return this.core.answer(plain.value);
    } catch {
      return refuse('invalid_query', 'the query could not be answered');
    }
  }

  snapshot(): { readonly format: string; readonly applied: AppliedPosition; readonly state: JsonValue } {
    return { format: this.core.format, applied: this.applied, state: this.core.snapshotState() };
  }

  restore(snapshot: unknown): RestoreResult {
    // A snapshot is bounded by the state's own bounds, checked after reading; only its depth is capped before.
    const plain = readPlainJson(snapshot, { maxDepth: this.core.snapshotDepth + 1, maxChars: Number.MAX_SAFE_INTEGER });
    if (!plain.ok) return refuse('invalid_snapshot', plain.message);
    const envelope = this.envelope.safeParse(plain.value);
    if (!envelope.success) return refuse('invalid_snapshot', describeIssues(envelope.error));
    let restoring: Restoring;
    try {
      restoring = this.core.prepareRestore(envelope.data.state as JsonValue);
    } catch {
      return refuse('invalid_snapshot', 'the snapshot could not be read');
    }
    if (!restoring.ok) return restoring;
    restoring.commit();
    const { applied } = envelope.data;
    this.applied = applied === null ? null : Object.freeze({ ...applied });
    return { ok: true };
  }

  /**
   * The position to apply at. Time never goes backwards: entries proposed by
   * different leaders may carry clocks that disagree, and a lease or a
   * barrier's deadline must not come back to life because a later entry
   * carries an earlier time.
   */
  private checkPosition(raw: AppliedAt): { ok: true; at: AppliedAt } | Refusal<'invalid_position' | 'already_applied'> {
    const plain = readPlainJson(raw, POSITION_LIMITS);
    if (!plain.ok) return refuse('invalid_position', plain.message);
    const parsed = AppliedAtSchema.safeParse(plain.value);
    if (!parsed.success) return refuse('invalid_position', describeIssues(parsed.error));
    const { index, time } = parsed.data;
    // Frozen: the position is handed out by `position` and `snapshot` as it is kept.
    if (this.applied === null) return { ok: true, at: Object.freeze({ index, time }) };
    if (index <= this.applied.index) {
      return refuse('already_applied', `index ${index} is not after the last applied index ${this.applied.index}`);
    }
    return { ok: true, at: Object.freeze({ index, time: Math.max(time, this.applied.time) }) };
  }
}
