import type { ClientBackend } from '../../node/clientApi';
import { CoordinationState, type CoordinationConfig } from '../../services';
import type { CoordinationPort, QueryOptions, QueryOutcome, SubmitOptions, SubmitOutcome, Unanswered } from '../../services/port';

/**
 * A port over one `CoordinationState`, as a one-member log would carry it:
 * each command applied at the next index, at the committed time the test
 * sets. A linearizable read takes a log position of its own; a stale one
 * reads the state as it is. Every call is recorded with its options, and a
 * test may make the next calls end unanswered.
 */
export class FakeCoordinationPort implements CoordinationPort {
  readonly state: CoordinationState;
  index = 0;
  time = 0;
  readonly submitted: Array<{ command: unknown; options: SubmitOptions | undefined }> = [];
  readonly queried: Array<{ query: unknown; options: QueryOptions | undefined }> = [];

  constructor(config: CoordinationConfig = {}) {
    this.state = new CoordinationState(config);
  }
  /** Outcomes the next submits end with instead of being applied (first first). */
  readonly unanswered: Unanswered[] = [];
  /** Called before each query is answered: a test's way to let the cluster move on between a wait's reads. */
  beforeQuery: (() => void) | undefined;

  async submit(command: unknown, options?: SubmitOptions): Promise<SubmitOutcome> {
    this.submitted.push({ command, options });
    const ending = this.unanswered.shift();
    if (ending !== undefined) return ending;
    return this.apply(command);
  }

  async query(query: unknown, options?: QueryOptions): Promise<QueryOutcome> {
    this.queried.push({ query, options });
    this.beforeQuery?.();
    if ((options?.consistency ?? 'linearizable') === 'linearizable') this.index += 1;
    return { outcome: 'answered', index: this.index, answer: this.state.query(query) };
  }

  /** Applies a command as a commit by someone else would, outside the calls recorded. */
  apply(command: unknown): { outcome: 'committed'; index: number; result: unknown } {
    this.index += 1;
    return { outcome: 'committed', index: this.index, result: this.state.apply(command, { index: this.index, time: this.time }) };
  }

  snapshotText(): string {
    return JSON.stringify(this.state.snapshot());
  }
}

/** A client API backend with no log of its own: only its coordination services, through `port` (none: without them). */
export function coordinationBackend(port: FakeCoordinationPort | undefined): ClientBackend {
  return {
    propose: async () => ({ outcome: 'expired' }),
    log: () => [],
    status: () => ({}),
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
    onEntry: () => () => undefined,
    ...(port === undefined ? {} : { coordination: port }),
  };
}
