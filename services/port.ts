/**
 * How a client reaches the coordination services of a cluster, whatever
 * carries it: a node in the same process, the client HTTP API, or a test's
 * simulated cluster. Commands change state and are committed through the log;
 * queries read it.
 */

/**
 * How fresh a read must be. `linearizable`: no older than the moment the read
 * began (the read is committed through the log and answered where it lands
 * in it). `read-index`: just as fresh, without a commit: a quorum of members
 * says how far it committed, and the node answers once it applied that far
 * (`engine.readIndex`). `stale`: this node's applied state as it is,
 * possibly behind the cluster; cheap, and allowed only when asked for.
 */
export type Consistency = 'linearizable' | 'read-index' | 'stale';

/** How a command or a query ended when it did not get an answer. */
export type Unanswered =
  /** The node refused it before consensus (the reason says why): nothing was committed. */
  | { readonly outcome: 'aborted'; readonly reason: string }
  /** Not committed by its deadline: it may still commit later, so its effect is unknown. */
  | { readonly outcome: 'expired' };

/** A command's outcome: committed at `index`, with what the services answered (a refusal is an answer too). */
export type SubmitOutcome = { readonly outcome: 'committed'; readonly index: number; readonly result: unknown } | Unanswered;

/** A query's outcome: the state as of the entry at `index` answered it. */
export type QueryOutcome = { readonly outcome: 'answered'; readonly index: number; readonly answer: unknown } | Unanswered;

export interface SubmitOptions {
  /** Milliseconds on the node's clock after which it is given up. */
  readonly deadline?: number;
}

export interface QueryOptions extends SubmitOptions {
  /** Default `linearizable`. */
  readonly consistency?: Consistency;
}

export interface CoordinationPort {
  submit(command: unknown, options?: SubmitOptions): Promise<SubmitOutcome>;
  query(query: unknown, options?: QueryOptions): Promise<QueryOutcome>;
}
