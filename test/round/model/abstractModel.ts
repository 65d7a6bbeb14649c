import { setup } from 'xstate';
import { createTestModel } from 'xstate/graph';
import {
  ROUND_CHANGE_TRANSITIONS,
  SPEC_STATES,
  SPEC_TRANSITIONS,
  transitionKey,
  type SpecState,
  type SpecTransition,
} from './specTable';

/**
 * One step of the model: the SPEC row a driver causes, followed by what SPEC
 * makes the engine do at once, in the same step, in the model's cluster.
 */
export interface ModelStep {
  row: SpecTransition;
  /** `row` first, then its follow-ups. */
  transitions: SpecTransition[];
}

const t = (from: SpecState, event: SpecTransition['event'], to: SpecState): SpecTransition => ({ from, event, to });

/**
 * What follows a row at once, so the model's next state is where the engine
 * comes to rest:
 * - a move to a later attempt enters proving, which this node leaves at once
 *   for voting: it is not the proposer of attempts 1–3 (harness.PROVERS), and
 *   "a node that is not a prover … moves on to voting as soon as it knows it
 *   will not prove" (SPEC §2.4);
 * - a commit found outside verifying is one: verifying makes the confirmed
 *   state active at once and starts the next round (SPEC §2.8).
 */
export function followUps(row: SpecTransition): SpecTransition[] {
  const changesAttempt = row.to === 'proving' && ROUND_CHANGE_TRANSITIONS.some((r) => transitionKey(r) === transitionKey(row));
  if (changesAttempt) return [t('proving', 'publish_timeout', 'voting')];
  if (row.event === 'commit_quorum') return [t('verifying', 'verification_done', 'collecting')];
  return [];
}

/** Where a step leaves the engine. */
function restsIn(row: SpecTransition): SpecState {
  return [row, ...followUps(row)].at(-1)!.to;
}

/**
 * A row's event in the abstract model: the row itself, since one event may
 * lead from one state to two (a guard chooses on the engine: voting re-enters
 * on a vote, or skips ahead on the one that completes f + 1).
 */
const abstractEvent = (row: SpecTransition) => transitionKey(row);

/**
 * The SPEC table as a plain statechart: no invoke, no after, no guards, so
 * `xstate/graph` can traverse it. It is the model the real round machine is
 * checked against, not a second implementation. `rows` are the transitions
 * to reach (by default all of SPEC).
 */
export function createSpecModel(rows: readonly SpecTransition[] = SPEC_TRANSITIONS) {
  const states = Object.fromEntries(
    SPEC_STATES.map((state) => [
      state,
      {
        on: Object.fromEntries(
          rows
            .filter((row) => row.from === state)
            .map((row) => [abstractEvent(row), { target: restsIn(row), reenter: restsIn(row) === row.from }]),
        ),
      },
    ]),
  );
  return setup({ types: { events: {} as { type: string } } }).createMachine({
    id: 'spec_round',
    initial: 'stopped',
    states,
  });
}

export interface ModelPath {
  /** `xstate/graph`'s own description of the path. */
  description: string;
  steps: ModelStep[];
}

/**
 * One vertex per SPEC transition (not per state), so the shortest path to
 * every vertex takes every transition, self-loops included; `xstate/graph`'s
 * default serialization folds self-loops into their state and would skip them.
 */
function serializeAsTransition(state: { value: unknown }, event?: { type: string }, previous?: { value: unknown }) {
  return event && previous ? `${String(previous.value)} | ${event.type} | ${String(state.value)}` : String(state.value);
}

/**
 * An attempt that times out before the node voted in it: the quickest way
 * into a later attempt, but one that needs the whole attempt waited out.
 * Shortest paths would take it everywhere, so such rows end paths of their
 * own and never lead anywhere else.
 */
function isDetour(row: SpecTransition): boolean {
  return row.event === 'attempt_timeout' && row.from === 'liveness_check';
}

/**
 * Shortest path to each of `rows`, with paths that are prefixes of longer
 * ones dropped (TestModel's deduplication); each detour row then gets a path
 * of its own: the way some path first reaches its state, then the row.
 */
export function generateModelPaths(rows: readonly SpecTransition[] = SPEC_TRANSITIONS): ModelPath[] {
  const main = rows.filter((row) => !isDetour(row));
  const paths = shortestPaths(main);
  for (const detour of rows.filter(isDetour)) {
    const prefix = paths
      .map((path) => path.steps.slice(0, path.steps.findIndex((step) => step.transitions.at(-1)!.to === detour.from) + 1))
      .filter((steps) => steps.length > 0)
      .sort((a, b) => a.length - b.length)[0];
    if (prefix === undefined) throw new Error(`no path reaches ${detour.from}`);
    const steps = [...prefix, { row: detour, transitions: [detour, ...followUps(detour)] }];
    paths.push({ description: `Detour: ${steps.map((step) => transitionKey(step.row)).join(' → ')}`, steps });
  }
  return paths;
}

function shortestPaths(rows: readonly SpecTransition[]): ModelPath[] {
  const byEvent = new Map(rows.map((row) => [abstractEvent(row), row]));
  const model = createTestModel(createSpecModel(rows), { serializeState: serializeAsTransition });
  return model.getShortestPaths().map((path) => ({
    description: path.description,
    // TestModel's steps start with the initial state under `xstate.init`;
    // each later step holds the event taken.
    steps: path.steps.slice(1).map((step) => {
      const row = byEvent.get(step.event.type)!;
      return { row, transitions: [row, ...followUps(row)] };
    }),
  }));
}

/** How a test title names a step: its event, and where it goes when the event can lead to two states. */
export function stepName(row: SpecTransition): string {
  const alternatives = SPEC_TRANSITIONS.filter((other) => other.from === row.from && other.event === row.event);
  return alternatives.length > 1 ? `${row.event}→${row.to}` : row.event;
}
