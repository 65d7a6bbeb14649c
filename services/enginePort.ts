import type { CoordinationHost } from './host';
import type { CoordinationPort, QueryOutcome, SubmitOutcome } from './port';

/** What the port needs of a node: `engine.propose` (or a node's), resolving with the apply result. */
export interface ProposingNode<PayloadT> {
  propose(payload: PayloadT, options?: { deadline?: number }): Promise<ProposeOutcome>;
  /** `engine.readIndex`, for `read-index` reads. */
  readIndex?(options?: { deadline?: number }): Promise<number>;
}

/** `ProposalOutcome` as the port reads it. */
type ProposeOutcome = { outcome: 'committed'; index: number; result?: unknown } | { outcome: 'aborted'; reason: string } | { outcome: 'expired' };

export interface EnginePortOptions<StateT, PayloadT> {
  node: ProposingNode<PayloadT>;
  /** The node's state machine (config `stateMachine`): what stale reads read. */
  host: CoordinationHost<StateT>;
  /** A command or a read as the app's payload; throws (e.g. `ProposalError` `too_large`) when it cannot carry it. */
  encode(kind: 'command' | 'read', body: unknown): PayloadT;
}

/**
 * Refusals after which the payload may still commit: it was forwarded to the
 * other members before this node stopped, or it committed and only storing it
 * here failed. Its effect is unknown, which is what `expired` says.
 */
const UNKNOWN_EFFECT = new Set(['stopped', 'not_durable']);

/** The `code` of an engine error (`ProposalError`, `ReadIndexError`), or '' for anything else. */
function codeOf(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : '';
}

/**
 * A commit with this node's answer to it. One this node did not apply itself
 * (a snapshot covered it) has no answer here: its effect is unknown to the caller.
 */
function answered<T>(outcome: { index: number; result?: unknown }, answer: (index: number, result: unknown) => T): T | { outcome: 'expired' } {
  return 'result' in outcome ? answer(outcome.index, outcome.result) : { outcome: 'expired' };
}

/**
 * The coordination port of a node in this process: commands and linearizable
 * reads are proposed through the log and answered where they land in it
 * (`CoordinationHost`), stale reads read this node's applied state.
 */
export function enginePort<StateT, PayloadT>({ node, host, encode }: EnginePortOptions<StateT, PayloadT>): CoordinationPort {
  const through = async (kind: 'command' | 'read', body: unknown, deadline: number | undefined): Promise<ProposeOutcome> => {
    try {
      return await node.propose(encode(kind, body), deadline === undefined ? {} : { deadline });
    } catch (error) {
      const code = codeOf(error);
      if (UNKNOWN_EFFECT.has(code)) return { outcome: 'expired' };
      return { outcome: 'aborted', reason: error instanceof Error ? error.message : String(error) };
    }
  };
  return {
    async submit(command, options = {}): Promise<SubmitOutcome> {
      const outcome = await through('command', command, options.deadline);
      return outcome.outcome === 'committed' ? answered(outcome, (index, result) => ({ outcome: 'committed', index, result })) : outcome;
    },
    async query(query, options = {}): Promise<QueryOutcome> {
      if (options.consistency === 'stale') {
        const { index, answer } = host.readStale(query);
        return { outcome: 'answered', index, answer };
      }
      if (options.consistency === 'read-index') {
        if (node.readIndex === undefined) return { outcome: 'aborted', reason: 'this node cannot read by index' };
        try {
          await node.readIndex(options.deadline === undefined ? {} : { deadline: options.deadline });
        } catch (error) {
          const code = codeOf(error);
          // A read changes nothing: one that ran out of time simply has no answer.
          return code === 'expired' ? { outcome: 'expired' } : { outcome: 'aborted', reason: error instanceof Error ? error.message : String(error) };
        }
        // Applied at least as far as the quorum said: the state now read is no older than the read.
        const { index, answer } = host.readStale(query);
        return { outcome: 'answered', index, answer };
      }
      const outcome = await through('read', query, options.deadline);
      return outcome.outcome === 'committed' ? answered(outcome, (index, answer) => ({ outcome: 'answered', index, answer })) : outcome;
    },
  };
}
