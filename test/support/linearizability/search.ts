import type { Operation } from './history';
import type { Model } from './models';
import { END, HEAD, Timeline } from './timeline';
import { LinearizedSet, VisitedStates } from './visited';

/**
 * Wing and Gong's search for a linearization of one partition, with Lowe's
 * memoization, in the shape Horn and Kroening (and Porcupine) gave it.
 *
 * An operation may be linearized next exactly when its call comes before
 * the first return still on the timeline: every operation that returned
 * earlier is placed already, so real-time order holds. Placing one lifts it
 * off the timeline; reaching a return means every candidate from this state
 * failed, so the last choice is undone and the candidate after it is tried.
 * An operation that never returned has no return entry: it stays a
 * candidate after its call and is never required, so the search ends once
 * every completed operation is placed.
 *
 * Each state's candidates are tried in three passes:
 * 1. A read-only one (a read, a refused write: see `Model.readOnly`) that
 *    the model accepts is placed at once, with no alternative tried: it can
 *    move to the front of any linearization from here, since nothing still
 *    unplaced had to come before it and it changes no state anywhere. This
 *    keeps reads, half of most histories, from multiplying the orders
 *    searched.
 * 2. Completed operations, in call order.
 * 3. Operations that never returned, last: most took effect late or never,
 *    and trying them first would put their effects where no read saw them.
 */

export interface Budget {
  /** `now()` past this ends the search. */
  readonly deadline: number;
  readonly maxStates: number;
  readonly now: () => number;
}

/** The deepest point the search reached, and what could come next there. */
export interface DeadEnd<S, I, O> {
  readonly linearized: Operation<I, O>[];
  readonly state: S;
  /** The candidates the model refused in `state`; the others led only to states already found to fail. */
  readonly refused: Operation<I, O>[];
}

export type SearchOutcome<S, I, O> =
  | { readonly kind: 'linearizable'; readonly explored: number }
  | { readonly kind: 'not linearizable'; readonly explored: number; readonly deadEnd: DeadEnd<S, I, O> }
  | { readonly kind: 'timeout' | 'too many states'; readonly explored: number };

/** The passes over a state's candidates, in order. */
const READ_ONLY = 0;
const COMPLETED = 1;
const NEVER_RETURNED = 2;

/** How many steps pass between reads of the clock: often enough to stop within a millisecond or so of the deadline. */
const CLOCK_EVERY = 1024;

export function searchLinearization<S, I, O>(
  operations: readonly Operation<I, O>[],
  model: Model<S, I, O>,
  budget: Budget,
): SearchOutcome<S, I, O> {
  const keyOf = model.key ?? ((state: S) => String(JSON.stringify(state)));
  const timeline = new Timeline(operations);
  const linearized = new LinearizedSet(operations.length);
  const visited = new VisitedStates();
  // The path: at each depth the call entry placed, the pass that chose it, and the state (and key) before it.
  const chosen = new Int32Array(operations.length);
  const chosenIn = new Uint8Array(operations.length);
  const before: S[] = [];
  const keyBefore: string[] = [];
  const readOnly = operations.map((operation) => model.readOnly?.(operation.input, operation.output) ?? false);
  let depth = 0;
  let unplaced = operations.filter((operation) => operation.return !== undefined).length;
  let state = model.init();
  let key = keyOf(state);
  let deadEnd: DeadEnd<S, I, O> | null = null;
  let pass: number = READ_ONLY;
  let cursor = timeline.next[HEAD];
  let steps = 0;

  /** Undoes choices back to the last one with alternatives left; false when there is none. */
  const backtrack = (): boolean => {
    for (;;) {
      if (depth === 0) return false;
      depth -= 1;
      const undone = chosen[depth];
      const index = timeline.operationOf[undone];
      state = before[depth];
      key = keyBefore[depth];
      linearized.toggle(index);
      timeline.putBack(undone);
      if (operations[index].return !== undefined) unplaced += 1;
      // A placement made in the first pass had no alternatives: its failure is its state's.
      if (chosenIn[depth] !== READ_ONLY) {
        pass = chosenIn[depth];
        cursor = timeline.next[undone];
        return true;
      }
    }
  };

  while (unplaced > 0) {
    if (++steps % CLOCK_EVERY === 0 && budget.now() > budget.deadline) return { kind: 'timeout', explored: visited.size };
    if (cursor === END || !timeline.isCall(cursor)) {
      // The cursor stops only at a return while completed operations remain: this pass is over.
      if (pass !== NEVER_RETURNED) {
        pass += 1;
        cursor = timeline.next[HEAD];
        continue;
      }
      if (deadEnd === null || depth > deadEnd.linearized.length) {
        deadEnd = deadEndAt(timeline, operations, model, chosen, depth, state, cursor);
      }
      if (!backtrack()) return { kind: 'not linearizable', explored: visited.size, deadEnd };
      continue;
    }
    const index = timeline.operationOf[cursor];
    const operation = operations[index];
    const returned = operation.return !== undefined;
    const inThisPass = pass === READ_ONLY ? readOnly[index] : pass === COMPLETED ? returned : !returned;
    if (!inThisPass) {
      cursor = timeline.next[cursor];
      continue;
    }
    const after = model.step(state, operation.input, operation.output);
    if (!after.ok) {
      cursor = timeline.next[cursor];
      continue;
    }
    const afterKey = keyOf(after.state);
    if (readOnly[index] && afterKey !== key) {
      const what = model.describe?.(operation.input, operation.output) ?? JSON.stringify(operation.input);
      throw new Error(`the model calls ${what} read-only, but it changed the state`);
    }
    linearized.toggle(index);
    if (!visited.add(linearized, afterKey)) {
      linearized.toggle(index);
      if (pass !== READ_ONLY) {
        cursor = timeline.next[cursor];
        continue;
      }
      // Where this read-only placement, which needs no alternative, leads failed before: so does this state.
      if (backtrack()) continue;
      // Unreachable in practice: a state fails first at a dead end, which is recorded.
      deadEnd ??= deadEndAt(timeline, operations, model, chosen, depth, state, END);
      return { kind: 'not linearizable', explored: visited.size, deadEnd };
    }
    if (visited.size > budget.maxStates) return { kind: 'too many states', explored: visited.size };
    chosen[depth] = cursor;
    chosenIn[depth] = pass;
    before[depth] = state;
    keyBefore[depth] = key;
    depth += 1;
    state = after.state;
    key = afterKey;
    timeline.lift(cursor);
    if (returned) unplaced -= 1;
    pass = READ_ONLY;
    cursor = timeline.next[HEAD];
  }
  return { kind: 'linearizable', explored: visited.size };
}

/**
 * The operations placed so far, and which of the candidates before `stop`
 * the model refuses in `state`. Taken only when the search goes deeper than
 * before, so at most once per depth.
 */
function deadEndAt<S, I, O>(
  timeline: Timeline,
  operations: readonly Operation<I, O>[],
  model: Model<S, I, O>,
  chosen: Int32Array,
  depth: number,
  state: S,
  stop: number,
): DeadEnd<S, I, O> {
  const linearized: Operation<I, O>[] = [];
  for (let at = 0; at < depth; at += 1) linearized.push(operations[timeline.operationOf[chosen[at]]]);
  const refused: Operation<I, O>[] = [];
  for (let entry = timeline.next[HEAD]; entry !== END && entry !== stop && timeline.isCall(entry); entry = timeline.next[entry]) {
    const operation = operations[timeline.operationOf[entry]];
    if (!model.step(state, operation.input, operation.output).ok) refused.push(operation);
  }
  return { linearized, state, refused };
}
