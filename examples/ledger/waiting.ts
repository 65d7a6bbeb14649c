import type { ConsensusClock } from '../../providers/clock';

/**
 * Where a ledger node's providers wait, on its clock: for the next change to
 * what they wait on (a proposal, a skip, a sync answer: whoever sees one calls
 * `wake`), for a deadline, or for a proof's time; an abort ends any wait.
 */
export class Waiting {
  private readonly waiters = new Set<() => void>();

  constructor(private readonly clock: ConsensusClock) {}

  /** Every waiter looks again. */
  wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Resolves on the next change to proposals, skips or sync answers, or at `wakeAt`. */
  waitForChange(wakeAt: number | null, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      let timer: unknown = null;
      const cleanup = () => {
        this.waiters.delete(done);
        signal.removeEventListener('abort', onAbort);
        if (timer !== null) this.clock.clearTimeout(timer);
      };
      const done = () => {
        cleanup();
        resolve();
      };
      const onAbort = () => {
        cleanup();
        reject(signal.reason);
      };
      this.waiters.add(done);
      signal.addEventListener('abort', onAbort, { once: true });
      if (wakeAt !== null) timer = this.clock.setTimeout(done, Math.max(0, wakeAt - this.clock.now()));
    });
  }

  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const onAbort = () => {
        this.clock.clearTimeout(timer);
        reject(signal.reason);
      };
      const timer = this.clock.setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
