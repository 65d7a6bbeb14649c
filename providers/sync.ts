import type { Unique } from './unique';

/** Brings a node's state up to date with the network. */
export interface SyncProvider<StateT extends Unique> {
  /**
   * Resolves with the synchronized state (the `existing` one when nothing
   * newer is known). A rejection is treated as transient: loading waits its
   * retry delay and tries again. Must stop work when `signal` aborts.
   */
  synchronize(existing: StateT, signal: AbortSignal): Promise<StateT>;
}
