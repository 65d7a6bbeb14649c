/**
 * XState's clock (which schedules every `after` delay) plus a reading of the
 * current time. XState's `SimulatedClock` satisfies it, so tests and the
 * simulator drive time by hand and never sleep.
 */
export interface ConsensusClock {
  setTimeout(fn: (...args: any[]) => void, timeout: number): any;
  clearTimeout(id: any): void;
  now(): number;
}

/** Wall-clock time, for production use; machines themselves never read it. */
export const systemClock: ConsensusClock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id),
  now: () => Date.now(),
};
