import { commands, CoordinationState, type CoordinationConfig } from '../../../services';
import { SLOTS_PER_ENTRY } from '../../../services/host';

/**
 * The commit log as the checkers read it: every command the services
 * applied, in the order they applied them, with what they answered.
 * Refusals are answers too (`{ ok: false, error }`); they changed nothing.
 */
export interface CommittedEntry {
  /**
   * The log index a client was told for it. One log entry may carry several
   * commands, so several entries may share an index; their order is the
   * array's.
   */
  readonly index: number;
  readonly time: number;
  /** The command as its client submitted it. */
  readonly command: unknown;
  /** What `apply` returned: `{ ok: true, value, events }` or a refusal. */
  readonly result: unknown;
}

/** A log entry as a node's commit log holds it: the service commands it carries, in order, at its committed time. */
export interface LoggedCommands {
  readonly index: number;
  readonly time: number;
  readonly commands: readonly unknown[];
}

/**
 * The results a correct node gave a log, for a host that keeps only the
 * commands. Applied as `CoordinationHost` applies them: each entry's time
 * first, as a tick of its own (its result carries the leases that time
 * ended and the waiters they went to, which the lock checker needs), then
 * its commands, at the same positions. The services are deterministic, so
 * these are every honest node's results; a host that may have applied the
 * log by other rules (a test's broken cluster) hands over its own instead.
 */
export function replayLog(entries: Iterable<LoggedCommands>, config: CoordinationConfig = {}): CommittedEntry[] {
  return replay(entries, config).committed;
}

/** `replayLog`'s results and the state they leave: what a node that applied the same entries holds. */
export function replay(entries: Iterable<LoggedCommands>, config: CoordinationConfig = {}): { committed: CommittedEntry[]; state: CoordinationState } {
  const state = new CoordinationState(config);
  const replayed: CommittedEntry[] = [];
  for (const { index, time, commands: carried } of entries) {
    let slot = index * SLOTS_PER_ENTRY;
    for (const command of [commands.tick(), ...carried]) {
      replayed.push({ index, time, command, result: state.apply(command, { index: slot++, time }) });
    }
  }
  return { committed: replayed, state };
}
