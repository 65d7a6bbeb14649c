import type { AppliedAt, ReplicatedStateMachine } from '../../services';

/**
 * Feeds a service as a commit log would: each command at the next index, at
 * a committed time the test chooses (by default the previous one).
 */
export class LogDriver<R, A> {
  index = 0;
  time = 0;

  constructor(readonly machine: ReplicatedStateMachine<unknown, R, A>) {}

  apply(command: unknown, time: number = this.time): R {
    this.index += 1;
    this.time = time;
    return this.machine.apply(command, this.at());
  }

  at(): AppliedAt {
    return { index: this.index, time: this.time };
  }

  /** The snapshot as the text a replica would receive: key order matters, so it is compared as text. */
  snapshotText(): string {
    return JSON.stringify(this.machine.snapshot());
  }
}

interface RefusalLike {
  readonly ok: boolean;
  readonly error?: { readonly code: string; readonly message: string };
}

/**
 * Applies `command` and expects it refused with `code`, leaving the snapshot
 * (position included) exactly as it was.
 */
export function expectRefused<R, A>(driver: LogDriver<R, A>, command: unknown, code: string, time: number = driver.time): void {
  const before = driver.snapshotText();
  const result = driver.apply(command, time) as unknown as RefusalLike;
  expect(result.ok).toBe(false);
  expect(result.error?.code).toBe(code);
  expect(typeof result.error?.message).toBe('string');
  expect(driver.snapshotText()).toBe(before);
}

/** The value of a result that must have been taken. */
export function taken<V>(result: unknown): V {
  const accepted = result as { ok: boolean; value?: V; error?: unknown };
  if (!accepted.ok) throw new Error(`expected the command to be taken, got ${JSON.stringify(accepted.error)}`);
  return accepted.value as V;
}

/** The events of a result that must have been taken. */
export function eventsOf<E>(result: unknown): readonly E[] {
  const accepted = result as { ok: boolean; events?: readonly E[]; error?: unknown };
  if (!accepted.ok) throw new Error(`expected the command to be taken, got ${JSON.stringify(accepted.error)}`);
  return accepted.events ?? [];
}
