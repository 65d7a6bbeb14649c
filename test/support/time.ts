import type { SimulatedClock } from 'xstate';

/** Lets every pending promise settle (invoked provider results arrive in microtasks). */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Moves simulated time forward in small steps, settling promises after each,
 * so chained timers fire at their own instants rather than all at the end.
 */
export async function advance(clock: SimulatedClock, ms: number, step = 5): Promise<void> {
  for (let elapsed = 0; elapsed < ms; elapsed += step) {
    clock.increment(Math.min(step, ms - elapsed));
    await flush();
  }
}

/**
 * Advances until `done()` holds, failing after `limitMs` of simulated time.
 * `settle` runs after every step: real work the clock knows nothing of (a
 * disk's writes) finishes before simulated time moves on.
 */
export async function advanceUntil(
  clock: SimulatedClock,
  done: () => boolean,
  limitMs: number,
  step = 5,
  settle?: () => Promise<void>,
): Promise<number> {
  await flush();
  let elapsed = 0;
  while (!done()) {
    if (elapsed >= limitMs) throw new Error(`condition not reached within ${limitMs} ms of simulated time`);
    clock.increment(step);
    elapsed += step;
    await flush();
    await settle?.();
  }
  return elapsed;
}

/** A store whose writes a test can wait out. */
export interface Settling {
  readonly busy: boolean;
  settled(): Promise<void>;
}

/** Waits until none of `stores` is writing, and what each finished write set going has run too. */
export async function settleStores(stores: Iterable<Settling>): Promise<void> {
  const list = [...stores];
  while (list.some((store) => store.busy)) {
    await Promise.all(list.map((store) => store.settled()));
    await flush();
  }
}

/** A provider-side delay on the simulated clock that honours its AbortSignal. */
export function sleep(clock: SimulatedClock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const id = clock.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clock.clearTimeout(id);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
