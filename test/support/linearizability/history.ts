/**
 * Histories of operations on one shared object, as its clients saw them:
 * when each was sent, when (if ever) its answer came back, and what it was.
 * Times are whatever clock the recorder read (simulated milliseconds, or
 * `performance.now()` around real processes); only their order matters, and
 * only between a return and a later call.
 */

/**
 * One operation. An operation with no `return` never completed (its client
 * crashed or gave up): it may have taken effect at any point after its call,
 * or not at all, and `output` is then absent too. An `output` left out of a
 * completed operation means nothing was observed (a write's bare "done").
 */
export interface Operation<I, O> {
  readonly client: string;
  readonly input: I;
  readonly call: number;
  readonly output?: O;
  readonly return?: number;
}

export type History<I, O> = readonly Operation<I, O>[];

export function isIndeterminate(operation: Operation<unknown, unknown>): boolean {
  return operation.return === undefined;
}

/**
 * Jepsen's four kinds of history event. `fail` means the operation is known
 * not to have taken effect (refused before it changed anything), so it is
 * dropped; `info` means its effect is unknown, so it stays, indeterminate.
 * A `time` left out everywhere makes each event's position its time.
 */
export type HistoryEvent<I, O> =
  | { readonly type: 'invoke'; readonly client: string; readonly input: I; readonly time?: number }
  | { readonly type: 'ok'; readonly client: string; readonly output?: O; readonly time?: number }
  | { readonly type: 'fail'; readonly client: string; readonly time?: number }
  | { readonly type: 'info'; readonly client: string; readonly time?: number };

/**
 * The operations of an event list, in invocation order. A client has at most
 * one operation open; an invocation still open at the end is indeterminate,
 * like one closed by `info`.
 */
export function historyFromEvents<I, O>(events: readonly HistoryEvent<I, O>[]): Operation<I, O>[] {
  const timed = events.filter((event) => event.time !== undefined).length;
  if (timed !== 0 && timed !== events.length) {
    throw new Error(`${timed} of ${events.length} events have a time: give every event one, or none`);
  }
  const recorder = new HistoryRecorder<I, O>();
  const open = new Map<string, OpenOperation<O>>();
  events.forEach((event, position) => {
    const time = event.time ?? position;
    if (event.type === 'invoke') {
      if (open.has(event.client)) throw new Error(`event ${position}: client ${event.client} invoked while its last operation is open`);
      open.set(event.client, recorder.invokeAt(event.client, event.input, time));
      return;
    }
    const pending = open.get(event.client);
    if (pending === undefined) throw new Error(`event ${position}: ${event.type} from client ${event.client}, which has nothing open`);
    open.delete(event.client);
    if (event.type === 'ok') pending.ok(event.output, time);
    else if (event.type === 'fail') pending.fail();
    else pending.info();
  });
  return recorder.history();
}

/** An invoked operation, to be closed once with what its client heard. */
export interface OpenOperation<O> {
  /** It completed with `output`, at `time` if given, else at the recorder's clock. */
  ok(output?: O, time?: number): void;
  /** It certainly did not take effect: it leaves the history. */
  fail(): void;
  /** Its client will never know: it stays, indeterminate. */
  info(): void;
}

/**
 * Builds a history as a test runs: wrap each client request in `invoke` and
 * close the handle with what came back. The clock is the caller's, so a
 * simulated run records simulated time and a real one wall time.
 */
export class HistoryRecorder<I, O> {
  private readonly operations: Array<Operation<I, O> | null> = [];

  constructor(private readonly now: () => number = () => performance.now()) {}

  invoke(client: string, input: I): OpenOperation<O> {
    return this.invokeAt(client, input, this.now());
  }

  invokeAt(client: string, input: I, call: number): OpenOperation<O> {
    const slot = this.operations.length;
    this.operations.push({ client, input, call });
    let closed = false;
    const close = (how: () => void): void => {
      if (closed) throw new Error(`client ${client}'s operation at ${call} was closed twice`);
      closed = true;
      how();
    };
    return {
      ok: (output, time) =>
        close(() => {
          const returned = time ?? this.now();
          this.operations[slot] =
            output === undefined ? { client, input, call, return: returned } : { client, input, call, output, return: returned };
        }),
      fail: () => close(() => (this.operations[slot] = null)),
      info: () => close(() => {}),
    };
  }

  /** What was recorded so far; operations still open count as indeterminate. */
  history(): Operation<I, O>[] {
    return this.operations.filter((operation): operation is Operation<I, O> => operation !== null);
  }
}
