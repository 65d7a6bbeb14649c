import type { BarrierEndReason, BarrierEnding, BarrierStatus, BarrierView } from './barrierCommands';
import { CoordinationError } from './coordinationError';

/**
 * Waiting at a barrier: arrive, then read the barrier until the generation
 * arrived for has ended. Shared by the library client (over a port) and the
 * CLI (over HTTP), which differ only in how they arrive and read.
 */

/** The time a wait reads and sleeps on; tests pass one that only moves when they say. */
export interface WaitClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const SYSTEM_CLOCK: WaitClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export const DEFAULT_POLL_MS = 100;

export interface BarrierPassed {
  readonly barrier: string;
  readonly generation: number;
  readonly outcome: 'released';
  readonly reason: BarrierEndReason;
  /** The log index of the answer that showed the release. */
  readonly index: number;
}

export interface WaitSteps {
  arrive(): Promise<BarrierStatus & { readonly index: number }>;
  /** The barrier as a read shows it; only its generation and how its last one ended matter here. */
  read(): Promise<Pick<BarrierView, 'generation' | 'last'> & { readonly index: number }>;
}

export interface WaitOptions {
  /** On `clock`'s scale; the wait throws `wait_timeout` once it has passed. */
  readonly deadline: number;
  /** Between reads; default 100 ms. */
  readonly pollMs?: number;
  readonly clock?: WaitClock;
}

/**
 * How `generation` ended, as a view of its barrier shows it: null while it
 * has not (a view from a node still behind the arrival shows an earlier
 * generation, which is waiting too), 'unknown' once a later generation has
 * ended as well, since a barrier remembers only its last ending.
 */
export function generationEnding(view: Pick<BarrierView, 'generation' | 'last'>, generation: number): BarrierEnding | 'unknown' | null {
  if (view.generation <= generation) return null;
  return view.last?.generation === generation ? view.last : 'unknown';
}

/**
 * Resolves once the generation arrived for is released; throws
 * `barrier_failed` (reason: timeout or predecessor_failed) when it failed,
 * `wait_timeout` past the deadline, `outcome_unknown` when it was missed.
 * Reads are at most one per `pollMs` and bounded in number by the deadline,
 * even on a clock that does not move.
 */
export async function waitForRelease(barrier: string, steps: WaitSteps, options: WaitOptions): Promise<BarrierPassed> {
  const clock = options.clock ?? SYSTEM_CLOCK;
  const pollMs = Math.max(1, options.pollMs ?? DEFAULT_POLL_MS);
  const arrived = await steps.arrive();
  const { generation } = arrived;
  if (arrived.status === 'released') return { barrier, generation, outcome: 'released', reason: 'arrivals', index: arrived.index };
  const name = JSON.stringify(barrier);
  const reads = Math.ceil(Math.max(0, options.deadline - clock.now()) / pollMs) + 1;
  for (let read = 0; read < reads; read += 1) {
    const left = options.deadline - clock.now();
    if (left <= 0) break;
    await clock.sleep(Math.min(pollMs, left));
    const view = await steps.read();
    const ending = generationEnding(view, generation);
    if (ending === null) continue;
    if (ending === 'unknown') {
      throw new CoordinationError('outcome_unknown', `generation ${generation} of ${name} ended and a later one too before it was read; how it ended is no longer known`);
    }
    if (ending.outcome === 'failed') throw new CoordinationError('barrier_failed', `generation ${generation} of ${name} failed: ${ending.reason}`, ending.reason);
    return { barrier, generation, outcome: 'released', reason: ending.reason, index: view.index };
  }
  throw new CoordinationError('wait_timeout', `generation ${generation} of ${name} had not ended by the deadline; the arrival stands`);
}
