import { barrierClient, type BarrierClient } from './barrierClient';
import { SYSTEM_CLOCK, type WaitClock } from './barrierWait';
import { kvClient, type KvClient } from './kvClient';
import { lockClient, type LockClient } from './lockClient';
import type { CoordinationPort } from './port';
import { PortCaller } from './portCaller';

/**
 * Typed clients of the coordination services over a `CoordinationPort`.
 *
 * Every method resolves with the service's answer and the log index it was
 * committed at or read as of, or rejects with a `CoordinationError` whose
 * `code` is the service's refusal (`not_holder`, `stale_fence_token`, ...),
 * `aborted`, or `expired` (it may still take effect). A refusal is thrown
 * rather than returned because a caller that ignores it must not carry on as
 * if it held a lock or had written a value. Malformed calls are refused
 * here, with the code the services would give, before anything is sent.
 */

export interface CoordinationClients {
  readonly kv: KvClient;
  readonly locks: LockClient;
  readonly barriers: BarrierClient;
}

export interface CoordinationClientOptions {
  /** What `barriers.wait` reads the time from and sleeps on; `Date.now()` and timers by default. */
  readonly clock?: WaitClock;
}

export function createCoordinationClients(port: CoordinationPort, options: CoordinationClientOptions = {}): CoordinationClients {
  const caller = new PortCaller(port);
  return Object.freeze({
    kv: kvClient(caller),
    locks: lockClient(caller),
    barriers: barrierClient(caller, options.clock ?? SYSTEM_CLOCK),
  });
}
