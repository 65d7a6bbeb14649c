import type { Command } from 'commander';
import { faultTolerance } from '../examples/ledger/rules';
import { SimulationOptionsError } from '../simulator/options';

/**
 * Bad input on the command line. `runCli` prints its message as one
 * `error:` line and exits 2; it never reaches the user as a stack trace.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Wraps a flag's parser so that its refusal reaches the user as written
 * (`--nodes must be a positive integer, got -3`). Commander would prefix its
 * own "option '-n, --nodes <n>' argument '-3' is invalid.", which says the
 * same twice. The visualizer's parsers refuse with a RangeError.
 */
export function argument<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (error) {
      if (error instanceof SimulationOptionsError || error instanceof RangeError) throw new UsageError(error.message);
      throw error;
    }
  };
}

/** `--a`, `--a and --b`, `--a, --b and --c` */
export function listFlags(flags: readonly string[]): string {
  return flags.length <= 1 ? flags.join('') : `${flags.slice(0, -1).join(', ')} and ${flags.at(-1)}`;
}

/** The flags of `command` typed on the command line (not defaults), as typed: `--drop`, `--no-reorder`. */
export function typedFlags(command: Command): string[] {
  return command.options
    .filter((option) => command.getOptionValueSource(option.attributeName()) === 'cli')
    .map((option) => option.long ?? option.short ?? option.flags);
}

/**
 * Refuses flags that would have no effect next to `context` (e.g. `--drop`
 * with `--sweep`): an option silently ignored looks like one that worked.
 * `allowed` lists the flags that do apply, as typed.
 */
export function refuseIgnored(command: Command, context: string, allowed: readonly string[], why: string): void {
  const ignored = typedFlags(command).filter((flag) => flag !== context && !allowed.includes(flag));
  if (ignored.length === 0) return;
  throw new UsageError(`${listFlags(ignored)} ${ignored.length === 1 ? 'has' : 'have'} no effect with ${context}: ${why}`);
}

/**
 * At most f = ⌊(n−1)/3⌋ Byzantine nodes. When `--byzantine` was not typed,
 * the message says that its default is what does not fit, rather than
 * quoting back a value the user never gave.
 */
export function checkByzantine(command: Command, nodes: number, byzantine: number): void {
  const f = faultTolerance(nodes);
  if (byzantine <= f) return;
  const tolerated = `${nodes} nodes tolerate at most f = ${f} Byzantine node${f === 1 ? '' : 's'}`;
  if (command.getOptionValueSource('byzantine') === 'default') {
    throw new UsageError(`--byzantine defaults to ${byzantine}, but ${tolerated}: give --byzantine ${f} (or more --nodes)`);
  }
  throw new UsageError(`--byzantine: ${tolerated}, got ${byzantine}`);
}
