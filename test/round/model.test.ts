/**
 * Model-based test of the round machine against SPEC §2.2.
 *
 * The SPEC table (model/specTable.ts) becomes an abstract statechart
 * (model/abstractModel.ts); `xstate/graph` generates the shortest path to each
 * of its 39 transitions; each path is replayed on a real engine whose provider
 * calls are all held by the test (model/harness.ts), one driver per SPEC
 * event making the engine take that transition (model/drivers.ts). A second
 * part checks the machine definition itself: the same 39 transitions, the
 * re-entries, and each state's timeout.
 *
 * One model step is never alone on the real engine: `prover_signal` is raised
 * on entering liveness_check, and each liveness for the rank re-enters
 * liveness_check, so the step is taken as liveness_check_received re-entries
 * until the quorum, the last one followed by prover_signal in the same
 * macrostep. The driver predicts that exact sequence; the step's transition
 * must come last.
 */
import { getStateNodes } from 'xstate/graph';
import { ROUND_STATES, roundMachine, type RoundTimeouts } from '../../index';
import { flush } from '../support/time';
import { generateModelPaths, type ModelPath } from './model/abstractModel';
import { driverFor, hasDriver, waitOutFinalState, type DriverResult } from './model/drivers';
import { MODEL_TIMEOUTS, RoundHarness } from './model/harness';
import {
  SPEC_STATES,
  SPEC_TIMEOUT_EVENTS,
  SPEC_TRANSITIONS,
  SPEC_TRANSITION_COUNT,
  isReentry,
  transitionKey,
  type SpecTransition,
} from './model/specTable';

const sorted = (keys: Iterable<string>) => [...keys].sort();

describe('SPEC §2.2 transition table', () => {
  it('has 39 rows, one per (state, event), over the 11 round states', () => {
    expect(SPEC_TRANSITIONS).toHaveLength(SPEC_TRANSITION_COUNT);
    expect(new Set(SPEC_TRANSITIONS.map((t) => `${t.from}:${t.event}`)).size).toBe(SPEC_TRANSITION_COUNT);
    expect([...SPEC_STATES]).toEqual([...ROUND_STATES]);
    expect(sorted(Object.keys(roundMachine.root.states))).toEqual(sorted(SPEC_STATES));
    const touched = new Set(SPEC_TRANSITIONS.flatMap((t) => [t.from, t.to]));
    expect(sorted(touched)).toEqual(sorted(SPEC_STATES));
  });
});

describe('the round machine definition against SPEC §2.2 and §2.5', () => {
  const nodes = [roundMachine.root, ...getStateNodes(roundMachine.root)];

  /** Every transition, at any depth, that lands on a top-level state. */
  const topLevelTransitions = nodes.flatMap((node) =>
    [...node.transitions.values(), node.always ?? []].flat().flatMap((definition) =>
      (definition.target ?? [])
        .filter((target) => target.path.length === 1)
        .map((target) => ({
          from: node.path[0] ?? '(root)',
          event: definition.eventType,
          to: target.key,
          reenter: definition.reenter,
        })),
    ),
  );

  it('has exactly the SPEC transitions between top-level states, no more, no fewer', () => {
    expect(sorted(topLevelTransitions.map((t) => `${t.from} --${t.event}--> ${t.to}`))).toEqual(
      sorted(SPEC_TRANSITIONS.map(transitionKey)),
    );
  });

  it('re-enters (restarting invoked work and timers) on every row SPEC calls re-entered', () => {
    const selfLoops = topLevelTransitions.filter((t) => t.from === t.to);
    expect(sorted(selfLoops.map((t) => `${t.from} --${t.event}--> ${t.to}`))).toEqual(
      sorted(SPEC_TRANSITIONS.filter(isReentry).map(transitionKey)),
    );
    expect(selfLoops.filter((t) => !t.reenter)).toEqual([]);
  });

  it('turns each named delay into its state’s SPEC timeout event, reading that state’s timeout', () => {
    const delays = nodes.flatMap((node) =>
      node.after.map((definition) => ({
        node: node.path.join('.'),
        delay: String(definition.delay),
        raised: definition.actions.map((action) => (action as { event?: { type?: string } }).event?.type),
      })),
    );
    expect(delays).toEqual(
      SPEC_TIMEOUT_EVENTS.map(({ node, delay, event }) => ({ node, delay, raised: [event] })),
    );

    // Distinct values per key, so a delay reading the wrong timeout cannot pass.
    const probe = Object.fromEntries(Object.keys(MODEL_TIMEOUTS).map((key, i) => [key, 1_000 + i])) as unknown as RoundTimeouts;
    const implementations = roundMachine.implementations.delays as Record<string, (args: unknown) => number>;
    expect(SPEC_TIMEOUT_EVENTS.map(({ delay }) => [delay, implementations[delay]({ context: { timeouts: probe } })])).toEqual(
      SPEC_TIMEOUT_EVENTS.map(({ delay, timeout }) => [delay, probe[timeout as keyof RoundTimeouts]]),
    );
  });
});

interface Replay {
  /** What the engine did while the path's steps were driven. */
  steps: SpecTransition[];
  /** What it did when the final state's timeout was then let fire. */
  end: SpecTransition[];
}

/**
 * Replays one model path on a fresh engine: before each step the engine is in
 * the model's source state; the step's driver causes the SPEC event; after it
 * the engine reported exactly the transitions the driver predicted (ending in
 * the model's step) and is in the model's target state. At the end, the final
 * state's own timeout must fire on time.
 */
async function replay(path: ModelPath): Promise<Replay> {
  const h = new RoundHarness();
  const check = async (label: string, drive: () => Promise<DriverResult>) => {
    const stateBefore = h.state();
    const before = h.transitions.length;
    const errorsBefore = h.providerErrors.length;
    const inFlightBefore = h.inFlight();
    const result = await drive();
    await flush();
    expect({ label, took: h.transitions.slice(before).map(transitionKey) }).toEqual({
      label,
      took: result.transitions.map(transitionKey),
    });
    expect({ label, providerErrors: h.providerErrors.slice(errorsBefore) }).toEqual({
      label,
      providerErrors: result.providerErrors,
    });
    if (result.transitions.length > 0) {
      // The state was left or re-entered, so the calls of the state instance
      // that the test did not settle must have been aborted (SPEC §2.7).
      const notAborted = inFlightBefore.filter((c) => !c.settled && !c.signal.aborted).map((c) => c.method);
      expect({ label, notAborted }).toEqual({ label, notAborted: [] });
    }
    const target = result.transitions.at(-1)?.to ?? stateBefore;
    const value = h.engine.actor.getSnapshot().value;
    expect({ label, state: h.state(), snapshot: typeof value === 'string' ? value : Object.keys(value) }).toEqual({
      label,
      state: target,
      snapshot: typeof value === 'string' ? target : [target],
    });
  };
  try {
    for (const [index, step] of path.steps.entries()) {
      const label = `step ${index + 1}: ${transitionKey(step)}`;
      expect({ label, state: h.state() }).toEqual({ label, state: step.from });
      await check(label, async () => {
        const result = await driverFor(step)(h);
        expect({ label, last: result.transitions.at(-1) }).toEqual({ label, last: step });
        return result;
      });
    }
    const stepped = h.transitions.length;
    await check(`${h.state()}'s own timeout after the last step`, () => waitOutFinalState(h));
    return { steps: h.transitions.slice(0, stepped), end: h.transitions.slice(stepped) };
  } finally {
    h.dispose();
  }
}

describe('model-based test of the round machine (SPEC §2.2, paths from xstate/graph)', () => {
  const paths = generateModelPaths();
  const replays = new Map<number, Replay>();

  it('the generated paths take every SPEC transition, and each has a driver', () => {
    const planned = new Set(paths.flatMap((path) => path.steps.map(transitionKey)));
    expect(sorted(planned)).toEqual(sorted(SPEC_TRANSITIONS.map(transitionKey)));
    expect(SPEC_TRANSITIONS.filter((t) => !hasDriver(t)).map(transitionKey)).toEqual([]);
    // One path per leaf of the shortest-path tree over the 39 transitions.
    expect(paths).toHaveLength(29);
  });

  paths.forEach((path, i) => {
    it(`path ${i + 1}/${paths.length}: ${path.steps.map((s) => s.event).join(' → ')}`, async () => {
      replays.set(i, await replay(path));
    });
  });

  it(`the real engine took all ${SPEC_TRANSITION_COUNT} SPEC transitions and visited all 11 states`, async () => {
    // Replays what did not run in this process (e.g. under -t), so this test stands alone.
    for (const [i, path] of paths.entries()) if (!replays.has(i)) replays.set(i, await replay(path));
    const stepped = [...replays.values()].flatMap((r) => r.steps);
    const timedOut = [...replays.values()].flatMap((r) => r.end);
    const specKeys = new Set(SPEC_TRANSITIONS.map(transitionKey));
    expect([...stepped, ...timedOut].map(transitionKey).filter((key) => !specKeys.has(key))).toEqual([]);
    // Coverage counts only what the model's steps made the engine do.
    const covered = new Set(stepped.map(transitionKey));
    console.log(
      `covered ${covered.size}/${SPEC_TRANSITION_COUNT} SPEC §2.2 transitions on the real engine: ` +
        `${paths.length} paths, ${paths.reduce((n, p) => n + p.steps.length, 0)} model steps, ` +
        `${stepped.length} real transitions, then ${timedOut.length} end-of-path timeouts`,
    );
    expect(sorted(covered)).toEqual(sorted(specKeys));
    expect(covered.size).toBe(SPEC_TRANSITION_COUNT);
    const visited = new Set(stepped.flatMap((t) => [t.from, t.to]));
    expect(sorted(visited)).toEqual(sorted(SPEC_STATES));
  });
});
