import type { ConsensusClock } from '../providers/clock';
import { enginePort, type ProposingNode } from '../services/enginePort';
import type { CoordinationHost } from '../services/host';
import type { CoordinationPort, QueryOptions, QueryOutcome, SubmitOptions, SubmitOutcome, Unanswered } from '../services/port';
import { serviceEntry } from '../examples/ledger/serviceEntries';
import type { LedgerFrame } from '../examples/ledger/types';

/** A node's incarnation as a client reaches it: null while it is down. */
export interface ServingNode {
  node: ProposingNode<string>;
  host: CoordinationHost<LedgerFrame>;
}

/**
 * A client's connection to one simulated node, across its crashes: a request
 * made while the node is down is refused at once (nothing reached it), and
 * one the node held when it crashed, or that is still undecided at its
 * deadline, ends `expired` (it may yet commit: its effect is unknown), as a
 * client's request to a real process would.
 */
export class SimulatedServicePort implements CoordinationPort {
  /** Names of this node's service entries, over every incarnation: unique in the run, the same in every replay. */
  private named = 0;

  constructor(
    private readonly name: string,
    private readonly clock: ConsensusClock,
    private readonly serving: () => ServingNode | null,
  ) {}

  submit(command: unknown, options: SubmitOptions = {}): Promise<SubmitOutcome> {
    return this.request(options.deadline, (port) => port.submit(command, options));
  }

  query(query: unknown, options: QueryOptions = {}): Promise<QueryOutcome> {
    return this.request(options.deadline, (port) => port.query(query, options));
  }

  private request<T extends { outcome: string }>(deadline: number | undefined, ask: (port: CoordinationPort) => Promise<T>): Promise<T | Unanswered> {
    const serving = this.serving();
    if (serving === null) return Promise.resolve({ outcome: 'aborted', reason: `${this.name} is down` });
    const port = enginePort({ node: serving.node, host: serving.host, encode: (kind, body) => serviceEntry(kind, body, `${this.name}-${(this.named += 1)}`) });
    const answer = ask(port);
    if (deadline === undefined) return answer;
    return new Promise((resolve) => {
      let settled = false;
      // The first of the answer and the deadline decides; a promise that rejects (the node stopped) has unknown effect.
      const settle = (outcome: T | Unanswered) => {
        if (settled) return;
        settled = true;
        this.clock.clearTimeout(timer);
        resolve(outcome);
      };
      const timer = this.clock.setTimeout(() => settle({ outcome: 'expired' }), Math.max(0, deadline - this.clock.now()));
      answer.then(settle, () => settle({ outcome: 'expired' }));
    });
  }
}
