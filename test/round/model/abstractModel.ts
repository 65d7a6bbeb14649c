import { setup } from 'xstate';
import { createTestModel } from 'xstate/graph';
import { SPEC_STATES, SPEC_TRANSITIONS, isReentry, type SpecEvent, type SpecState, type SpecTransition } from './specTable';

/**
 * The SPEC §2.2 table as a plain statechart: no invoke, no after, no guards,
 * so `xstate/graph` can traverse it. It is the model the real round machine is
 * checked against, not a second implementation.
 */
export function createSpecModel() {
  const states = Object.fromEntries(
    SPEC_STATES.map((state) => [
      state,
      {
        on: Object.fromEntries(
          SPEC_TRANSITIONS.filter((t) => t.from === state).map((t) => [t.event, { target: t.to, reenter: isReentry(t) }]),
        ),
      },
    ]),
  );
  return setup({ types: { events: {} as { type: SpecEvent } } }).createMachine({
    id: 'spec_round',
    initial: 'stopped',
    states,
  });
}

export interface ModelPath {
  /** `xstate/graph`'s own description of the path. */
  description: string;
  steps: SpecTransition[];
}

/**
 * One vertex per SPEC transition (not per state), so the shortest path to
 * every vertex takes every transition, self-loops included; `xstate/graph`'s
 * default serialization folds self-loops into their state and would skip them.
 */
function serializeAsTransition(state: { value: unknown }, event?: { type: string }, previous?: { value: unknown }) {
  return event && previous ? `${String(previous.value)} --${event.type}--> ${String(state.value)}` : String(state.value);
}

/**
 * Shortest path to each SPEC transition, with paths that are prefixes of
 * longer ones dropped (TestModel's deduplication).
 */
export function generateModelPaths(): ModelPath[] {
  const model = createTestModel(createSpecModel(), { serializeState: serializeAsTransition });
  return model.getShortestPaths().map((path) => {
    // TestModel's steps start with the initial state under `xstate.init`; each
    // later step holds the event taken and the state it led to.
    const states = path.steps.map((step) => step.state.value as SpecState);
    const steps = path.steps.slice(1).map((step, i) => ({
      from: states[i],
      event: step.event.type as SpecEvent,
      to: states[i + 1],
    }));
    return { description: path.description, steps };
  });
}
