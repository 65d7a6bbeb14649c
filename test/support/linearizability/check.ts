import type { History, Operation } from './history';
import type { Model, Partition } from './models';
import { searchLinearization, type SearchOutcome } from './search';

/**
 * Whether a history is linearizable with respect to a model: whether its
 * operations can be put in one order that the model accepts, in which every
 * operation that returned before another was called comes first, and each
 * operation that never returned comes after its call or not at all.
 *
 * The search is exponential in the worst case, so it is bounded in states
 * and in time; past either bound the answer is `unknown`, never a guess.
 */

export interface CheckOptions {
  /** Wall time for the whole check, all partitions together. */
  readonly timeoutMs?: number;
  /** Distinct (linearized set, state) pairs remembered per partition: bounds memory. */
  readonly maxStates?: number;
}

/** Long enough for the thousands of operations a simulated run records; short enough to fail a test, not hang it. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** Each remembered pair keeps a copy of its bitset, some 300 bytes at a thousand operations: about 150 MB at the bound. */
export const DEFAULT_MAX_STATES = 500_000;

/** Where the search got furthest before every way on was refused: what to read when a history fails. */
export interface Witness<I, O> {
  /** The longest sequence of operations the search could linearize. */
  readonly linearized: readonly Operation<I, O>[];
  /** The model's state after them. */
  readonly state: string;
  /**
   * The operations free to come next there that the model refused in that
   * state. Usually all of them; any others led only to states the search had
   * already seen fail.
   */
  readonly refused: readonly Operation<I, O>[];
  /** The above as text, for a test's failure message. */
  readonly summary: string;
}

export type CheckResult<I, O> =
  | { readonly ok: true }
  | { readonly ok: false; readonly partition?: string; readonly witness: Witness<I, O> }
  | { readonly ok: 'unknown'; readonly reason: 'timeout' | 'too many states'; readonly partition?: string };

/** Linearized operations a summary shows before the refused ones: enough to see the state's last writers. */
const SUMMARY_TAIL = 5;

export function checkLinearizable<S, I, O>(history: History<I, O>, model: Model<S, I, O>, options: CheckOptions = {}): CheckResult<I, O> {
  history.forEach(checkTimes);
  const now = (): number => performance.now();
  const budget = {
    deadline: now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    maxStates: options.maxStates ?? DEFAULT_MAX_STATES,
    now,
  };
  const partitions: Array<Partition<I, O> | { key?: undefined; operations: History<I, O> }> = model.partition?.(history) ?? [
    { operations: history },
  ];
  let unknown: CheckResult<I, O> | null = null;
  for (const partition of partitions) {
    // A partition left unknown does not stop the others: a definite failure in a later one is worth more.
    if (now() > budget.deadline) return unknown ?? withPartition({ ok: 'unknown', reason: 'timeout' }, partition.key);
    const outcome: SearchOutcome<S, I, O> = searchLinearization(partition.operations, model, budget);
    switch (outcome.kind) {
      case 'linearizable':
        break;
      case 'not linearizable':
        return withPartition({ ok: false, witness: witnessOf(model, outcome.deadEnd, partition.key) }, partition.key);
      case 'timeout':
        return unknown ?? withPartition({ ok: 'unknown', reason: 'timeout' }, partition.key);
      case 'too many states':
        unknown ??= withPartition({ ok: 'unknown', reason: 'too many states' }, partition.key);
        break;
    }
  }
  return unknown ?? { ok: true };
}

function withPartition<R extends CheckResult<unknown, unknown>>(result: R, key: string | undefined): R {
  return key === undefined ? result : { ...result, partition: key };
}

function checkTimes(operation: Operation<unknown, unknown>, position: number): void {
  if (!Number.isFinite(operation.call)) throw new Error(`operation ${position} has call time ${operation.call}`);
  if (operation.return === undefined) return;
  if (!Number.isFinite(operation.return)) throw new Error(`operation ${position} has return time ${operation.return}`);
  if (operation.return < operation.call) {
    throw new Error(`operation ${position} returns at ${operation.return}, before its call at ${operation.call}`);
  }
}

function witnessOf<S, I, O>(
  model: Model<S, I, O>,
  deadEnd: { linearized: Operation<I, O>[]; state: S; refused: Operation<I, O>[] },
  partition: string | undefined,
): Witness<I, O> {
  const state = model.describeState?.(deadEnd.state) ?? String(model.key?.(deadEnd.state) ?? JSON.stringify(deadEnd.state));
  const line = (operation: Operation<I, O>): string => {
    const what =
      model.describe?.(operation.input, operation.output) ?? `${JSON.stringify(operation.input)} → ${JSON.stringify(operation.output)}`;
    return `  ${operation.client}: ${what} [${operation.call}, ${operation.return ?? 'never returned'}]`;
  };
  const shown = deadEnd.linearized.slice(-SUMMARY_TAIL);
  const summary = [
    `not linearizable${partition === undefined ? '' : ` (partition ${JSON.stringify(partition)})`}:`,
    `linearized ${deadEnd.linearized.length} operation(s)${shown.length < deadEnd.linearized.length ? `, the last ${shown.length}` : ''}:`,
    ...shown.map(line),
    deadEnd.refused.length === 0
      ? `leaving state ${state}, from which every operation free to come next led only to states already found to fail`
      : `leaving state ${state}, in which the model refused the operations free to come next:`,
    ...deadEnd.refused.map(line),
  ].join('\n');
  return { linearized: deadEnd.linearized, state, refused: deadEnd.refused, summary };
}
