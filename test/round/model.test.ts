/**
 * Model-based test of the round machine against SPEC §2.2 and the round
 * change of SPEC §2.8.
 *
 * The SPEC table (model/specTable.ts) becomes an abstract statechart
 * (model/abstractModel.ts); `xstate/graph` generates the shortest path to each
 * of its transitions; each path is replayed on a real engine whose provider
 * and storage calls are all held by the test (model/harness.ts), one driver
 * per SPEC row making the engine take that transition (model/drivers.ts). A
 * second part checks the machine definition itself: the same transitions,
 * the re-entries, each state's timeout and the attempt's.
 *
 * A model step is not always alone on the real engine. `prover_signal` is
 * raised on entering liveness_check, and each liveness for the rank re-enters
 * liveness_check, so the step is taken as liveness_check_received re-entries
 * until the quorum, the last one followed by prover_signal in the same
 * macrostep; confirmations re-enter verifying on their way to a commit; a
 * state's own timer keeps re-entering it while the attempt's runs out. The
 * driver predicts that exact sequence, and the step comes last. Some steps
 * also have follow-ups SPEC makes the engine take at once (a new attempt's
 * proving, declined; a commit found in voting, made at once): the model
 * includes them in the step.
 */
import { getStateNodes } from 'xstate/graph';
import { ROUND_STATES, roundMachine, type RoundTimeouts } from '../../index';
import { flush } from '../support/time';
import { generateModelPaths, stepName, type ModelPath } from './model/abstractModel';
import { driverFor, hasDriver, waitOutFinalState, type DriverResult } from './model/drivers';
import { MODEL_TIMEOUTS, RoundHarness } from './model/harness';
import {
  REFERENCE_TRANSITIONS,
  REFERENCE_TRANSITION_COUNT,
  SPEC_ATTEMPT_TIMEOUT,
  SPEC_STATES,
  SPEC_TIMEOUT_EVENTS,
  SPEC_TRANSITIONS,
  SPEC_TRANSITION_COUNT,
  attemptTimeoutFor,
  isReentry,
  transitionKey,
  type SpecTransition,
} from './model/specTable';

const sorted = (keys: Iterable<string>) => [...new Set(keys)].sort();
/** Leaves of the shortest-path tree: one path ends at each transition no shorter path passes through. */
const PATH_COUNT = 56;

describe('SPEC §2.2 and §2.8 transition table', () => {
  it(`has ${SPEC_TRANSITION_COUNT} distinct rows (${REFERENCE_TRANSITION_COUNT} of §2.2) over the 11 round states`, () => {
    expect(REFERENCE_TRANSITIONS).toHaveLength(REFERENCE_TRANSITION_COUNT);
    expect(SPEC_TRANSITIONS).toHaveLength(SPEC_TRANSITION_COUNT);
    expect(new Set(SPEC_TRANSITIONS.map(transitionKey)).size).toBe(SPEC_TRANSITION_COUNT);
    expect([...SPEC_STATES]).toEqual([...ROUND_STATES]);
    expect(sorted(Object.keys(roundMachine.root.states))).toEqual(sorted(SPEC_STATES));
    const touched = new Set(SPEC_TRANSITIONS.flatMap((t) => [t.from, t.to]));
    expect(sorted(touched)).toEqual(sorted(SPEC_STATES));
  });

  it('lets one event lead two ways only where a guard must choose', () => {
    const outcomes = new Map<string, string[]>();
    for (const t of SPEC_TRANSITIONS) outcomes.set(`${t.from}:${t.event}`, [...(outcomes.get(`${t.from}:${t.event}`) ?? []), t.to]);
    const forks = [...outcomes.entries()].filter(([, to]) => to.length > 1).map(([key, to]) => `${key} -> ${to.join(' | ')}`);
    expect(forks.sort()).toEqual([
      // Safety data read yet, or not.
      'starting:init_complete -> loading | starting',
      // News for the state, or the message that completes f + 1 at a higher attempt.
      'verifying:confirmation_received -> verifying | proving',
      'voting:confirmation_received -> voting | proving',
      'voting:proposal_received -> voting | proving',
      'voting:vote_received -> voting | proving',
    ]);
  });
});

describe('the round machine definition against SPEC §2.2, §2.5 and §2.8', () => {
  const nodes = [roundMachine.root, ...getStateNodes(roundMachine.root)];

  /**
   * Every transition, at any depth, that lands on a top-level state. One row
   * may be declared at several depths (voting's vote-in-progress steps keep
   * the skip-ahead rule of voting), so rows are compared as sets.
   */
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

  it('gives each attempt a timer that grows with the attempt, up to attemptMax (SPEC §2.8)', () => {
    const implementations = roundMachine.implementations.delays as Record<string, (args: unknown) => number>;
    const timeouts = { ...MODEL_TIMEOUTS, attempt: 1_000, attemptGrowth: 3, attemptMax: 20_000 };
    const waits = [0, 1, 2, 3, 4].map((attempt) => implementations[SPEC_ATTEMPT_TIMEOUT.delay]({ context: { timeouts, attempt } }));
    expect(waits).toEqual([1_000, 3_000, 9_000, 20_000, 20_000]);
    expect(waits).toEqual([0, 1, 2, 3, 4].map((attempt) => attemptTimeoutFor(timeouts, attempt)));
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
      const label = `step ${index + 1}: ${transitionKey(step.row)}`;
      expect({ label, state: h.state() }).toEqual({ label, state: step.row.from });
      await check(label, async () => {
        const result = await driverFor(step.row)(h, step.transitions);
        expect({ label, ends: result.transitions.slice(-step.transitions.length) }).toEqual({ label, ends: step.transitions });
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

describe('model-based test of the round machine (SPEC §2.2 and §2.8, paths from xstate/graph)', () => {
  const paths = generateModelPaths();
  const replays = new Map<number, Replay>();
  const total = SPEC_TRANSITIONS.length;

  it('the generated paths take every SPEC transition, and each has a driver', () => {
    const planned = new Set(paths.flatMap((path) => path.steps.flatMap((step) => step.transitions.map(transitionKey))));
    expect(sorted(planned)).toEqual(sorted(SPEC_TRANSITIONS.map(transitionKey)));
    expect(SPEC_TRANSITIONS.filter((t) => !hasDriver(t)).map(transitionKey)).toEqual([]);
    // One path per leaf of the shortest-path tree over the transitions.
    expect(paths).toHaveLength(PATH_COUNT);
  });

  paths.forEach((path, i) => {
    it(`path ${i + 1}/${paths.length}: ${path.steps.map((s) => stepName(s.row)).join(' → ')}`, async () => {
      replays.set(i, await replay(path));
    });
  });

  it(`the real engine took all ${total} SPEC transitions and visited all 11 states`, async () => {
    // Replays what did not run in this process (e.g. under -t), so this test stands alone.
    for (const [i, path] of paths.entries()) if (!replays.has(i)) replays.set(i, await replay(path));
    const stepped = [...replays.values()].flatMap((r) => r.steps);
    const timedOut = [...replays.values()].flatMap((r) => r.end);
    const specKeys = new Set(SPEC_TRANSITIONS.map(transitionKey));
    expect([...stepped, ...timedOut].map(transitionKey).filter((key) => !specKeys.has(key))).toEqual([]);
    // Coverage counts only what the model's steps made the engine do.
    const covered = new Set(stepped.map(transitionKey));
    console.log(
      `covered ${covered.size}/${total} SPEC §2.2 + §2.8 + §2.10 transitions on the real engine: ` +
        `${paths.length} paths, ${paths.reduce((n, p) => n + p.steps.length, 0)} model steps, ` +
        `${stepped.length} real transitions, then ${timedOut.length} end-of-path timeouts`,
    );
    expect(sorted(covered)).toEqual(sorted(specKeys));
    expect(covered.size).toBe(SPEC_TRANSITION_COUNT);
    const visited = new Set(stepped.flatMap((t) => [t.from, t.to]));
    expect(sorted(visited)).toEqual(sorted(SPEC_STATES));
  });
});
