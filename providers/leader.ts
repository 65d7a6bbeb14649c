import type { Unique } from './unique';

/** Chooses who proves the next state, and proves it. */
export interface LeaderProvider<StateT extends Unique, PeerIDT extends Unique, CollectedT extends Unique> {
  /**
   * The provers of rank `prior.rank() + 1`, highest priority first. Must be
   * non-empty when it resolves. A list shorter than `minimumProvers` makes
   * liveness_check ask again.
   */
  getNextLeaders(prior: StateT, signal: AbortSignal): Promise<PeerIDT[]>;
  /**
   * Builds this node's proposal for rank `prior.rank() + 1` from the collected
   * mutations. Called only on provers. Long-running: must stop when `signal`
   * aborts (the proving timeout, a stop, or a sync all abort it).
   */
  proveNextState(prior: StateT, collected: CollectedT, signal: AbortSignal): Promise<StateT>;
}
