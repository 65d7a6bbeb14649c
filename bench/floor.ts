import { assign, createActor, fromPromise, setup, toPromise } from 'xstate';

/**
 * The XState floor: what XState itself costs on this machine, with no engine
 * around it, so the engine's cost per round can be set against it.
 *
 * - `usPerSend`: wall-clock µs per plain `actor.send` of an event that takes a
 *   transition with one `assign` (a machine of one state and one counter);
 * - `usPerInvoke`: wall-clock µs per invoked `fromPromise` actor: the state is
 *   entered, the actor spawned and started, its promise resolves, the done
 *   event comes back and its transition (one `assign`) re-enters the state for
 *   the next one. That includes the done event's own delivery: a done event
 *   is one of the sends the rounds bench counts, so a floor that adds invokes
 *   to sends takes `usPerInvoke − usPerSend` per invoke.
 *
 * Each is measured after a warm-up of the same loop (as many iterations as
 * timed), so V8 has compiled XState's paths for this machine, then timed
 * three times; the median is kept, which a neighbour's burst of CPU on a
 * shared machine moves less than a single reading. They are best cases (one
 * machine, one event type, nothing else running in it), which is what a
 * floor is.
 */
export interface XStateFloor {
  usPerSend: number;
  usPerInvoke: number;
}

export interface FloorOptions {
  /** Sends per timing (default 20 000); one warm-up and three timings. */
  sends?: number;
  /** Invokes per timing (default 5 000); one warm-up and three timings. */
  invokes?: number;
}

const counter = setup({ types: { context: {} as { n: number }, events: {} as { type: 'inc' } } }).createMachine({
  context: { n: 0 },
  on: { inc: { actions: assign({ n: ({ context }) => context.n + 1 }) } },
});

function invoker(count: number) {
  return setup({
    types: { context: {} as { n: number; count: number }, input: {} as { count: number } },
    actors: { work: fromPromise<number, number>(async ({ input }) => input) },
  }).createMachine({
    context: ({ input }) => ({ n: 0, count: input.count }),
    initial: 'running',
    states: {
      running: {
        invoke: {
          src: 'work',
          input: ({ context }) => context.n,
          onDone: [
            { guard: ({ context }) => context.n + 1 >= context.count, target: 'done', actions: assign({ n: ({ context }) => context.n + 1 }) },
            { target: 'running', reenter: true, actions: assign({ n: ({ context }) => context.n + 1 }) },
          ],
        },
      },
      done: { type: 'final' },
    },
  });
}

function timeSends(count: number): number {
  const actor = createActor(counter).start();
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i += 1) actor.send({ type: 'inc' });
  const elapsed = process.hrtime.bigint() - start;
  if (actor.getSnapshot().context.n !== count) throw new Error(`floor bench: ${actor.getSnapshot().context.n} transitions for ${count} sends`);
  actor.stop();
  return Number(elapsed) / 1_000 / count;
}

async function timeInvokes(count: number): Promise<number> {
  const actor = createActor(invoker(count), { input: { count } });
  const start = process.hrtime.bigint();
  actor.start();
  await toPromise(actor);
  const elapsed = process.hrtime.bigint() - start;
  if (actor.getSnapshot().context.n !== count) throw new Error(`floor bench: ${actor.getSnapshot().context.n} done events for ${count} invokes`);
  return Number(elapsed) / 1_000 / count;
}

const round3 = (value: number) => Math.round(value * 1_000) / 1_000;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const TIMINGS = 3;

/** The XState floor on this machine (see `XStateFloor`); about a second at the defaults. */
export async function measureXStateFloor(options: FloorOptions = {}): Promise<XStateFloor> {
  const { sends = 20_000, invokes = 5_000 } = options;
  if (!Number.isSafeInteger(sends) || sends < 1) throw new RangeError(`sends must be a positive integer, got ${sends}`);
  if (!Number.isSafeInteger(invokes) || invokes < 1) throw new RangeError(`invokes must be a positive integer, got ${invokes}`);
  timeSends(sends);
  const send: number[] = [];
  for (let i = 0; i < TIMINGS; i += 1) send.push(timeSends(sends));
  await timeInvokes(invokes);
  const invoke: number[] = [];
  for (let i = 0; i < TIMINGS; i += 1) invoke.push(await timeInvokes(invokes));
  return { usPerSend: round3(median(send)), usPerInvoke: round3(median(invoke)) };
}
