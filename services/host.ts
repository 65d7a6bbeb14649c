import { commands } from './commandBuilders';
import { CoordinationState, type CoordinationConfig } from './coordination';

/**
 * The coordination services as the engine's state machine (config
 * `stateMachine`): every committed value is read for the service commands
 * and reads it carries, which are applied in log order at the value's
 * committed time. A proposer of one of them hears its answer from
 * `engine.propose` (the apply result), so a command's result and a read's
 * answer are those of its place in the log: reads committed this way are
 * linearizable.
 */

/** A command or a read as a committed value carries it, under the payload name `propose` knows it by. */
export interface CarriedCommand {
  readonly name: string;
  readonly kind: 'command' | 'read';
  readonly body: unknown;
}

export interface CoordinationHostOptions<StateT> {
  /** The commands and reads a committed value carries, in the order they are to apply. */
  commandsIn(value: StateT): Iterable<CarriedCommand>;
  /**
   * The value's committed time in ms: the services' only clock. It must be
   * agreed by consensus (part of the committed value), never read locally.
   */
  timeOf(value: StateT): number;
  /** `kv.merges` registers the application's merges; every replica must register the same ones. */
  config?: CoordinationConfig;
}

/**
 * Positions a service command takes inside one log entry. A service counts
 * positions, not entries, so each command of an entry gets its own: entry
 * `i`'s commands sit at `i × SLOTS_PER_ENTRY + k`. 2^20 is more than any
 * batch the engine takes, and leaves room for 2^33 entries in a safe integer.
 */
export const SLOTS_PER_ENTRY = 2 ** 20;

export class CoordinationHost<StateT> {
  readonly state: CoordinationState;
  /** The log index of the last entry applied; the initial state's rank (0) before any. */
  private appliedIndex = 0;

  constructor(private readonly options: CoordinationHostOptions<StateT>) {
    this.state = new CoordinationState(options.config);
  }

  /** The index of the last log entry applied. */
  get applied(): number {
    return this.appliedIndex;
  }

  apply(value: StateT, index: number): Array<readonly [string, unknown]> {
    const time = this.options.timeOf(value);
    const results: Array<readonly [string, unknown]> = [];
    let slot = index * SLOTS_PER_ENTRY;
    // The entry's time comes first, whatever it carries: leases and deadlines it has passed are over before
    // its commands and reads, and it moves the clock even when every command in it is refused.
    this.state.apply(commands.tick(), { index: slot++, time });
    for (const carried of this.options.commandsIn(value)) {
      results.push([carried.name, carried.kind === 'command' ? this.state.apply(carried.body, { index: slot++, time }) : this.state.query(carried.body)]);
    }
    this.appliedIndex = index;
    return results;
  }

  /** A read of this node's applied state as it is now: possibly behind the cluster (a stale read). */
  readStale(query: unknown): { index: number; answer: unknown } {
    return { index: this.appliedIndex, answer: this.state.query(query) };
  }

  /** The services' own snapshot: the engine keeps the index it was taken at beside it. */
  snapshot(): unknown {
    return this.state.snapshot();
  }

  restore(data: unknown, index: number): void {
    const restored = this.state.restore(data);
    if (restored.ok) {
      this.appliedIndex = index;
      return;
    }
    // A node cannot go on without its state: better stopped with the reason than apart from the other replicas.
    if (restored.error.code === 'unknown_merge') throw new Error(`the coordination snapshot cannot be restored here: ${restored.error.message}`);
    throw new Error(`not a coordination snapshot: ${restored.error.message}`);
  }
}
