import type { Unique } from './unique';

/** Announces, ahead of proving, that a prover is alive and what it collected. */
export interface LivenessProvider<StateT extends Unique, CollectedT extends Unique, PayloadT = never> {
  /**
   * The mutations for the next round; `collected.rank()` is the rank they are
   * for. `batch` holds the proposed payloads the engine drew for that rank
   * (empty without `proposals` configured): what `collected` should carry.
   */
  collect(signal: AbortSignal, batch: readonly PayloadT[]): Promise<CollectedT>;
  /** Tells the other nodes this prover is alive for `collected.rank()`. */
  sendLiveness(prior: StateT, collected: CollectedT, signal: AbortSignal): Promise<void>;
}
