import type { ConsensusClock } from '../providers/clock';

/**
 * Keeps an engine whose rounds need nothing from outside (a single member
 * with providers that answer at once) from committing rank after rank in
 * one turn of the event loop, which would starve timers, I/O and every other
 * actor: once two commits fall on the same clock time, the next round's
 * collect step waits for a zero-delay timer of the engine's clock. Rounds
 * that wait on peers' messages never meet that condition.
 */
export class CommitPacer {
  private last = Number.NEGATIVE_INFINITY;
  private beforeLast = Number.NEGATIVE_INFINITY;

  constructor(private readonly clock: ConsensusClock) {}

  committed(): void {
    this.beforeLast = this.last;
    this.last = this.clock.now();
  }

  /** Resolves at once, or after a zero-delay timer when the last two commits came at this very time; an abort resolves it too. */
  wait(signal: AbortSignal): Promise<void> {
    const now = this.clock.now();
    if (this.last !== now || this.beforeLast !== now) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.clock.clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = this.clock.setTimeout(done, 0);
      signal.addEventListener('abort', done);
    });
  }
}
