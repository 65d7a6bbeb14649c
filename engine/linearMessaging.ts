import { aggregatesFor, aggregatorOf } from '../guards/aggregator';
import type { RoundContext } from '../machines/round.types';
import type { RelayProvider } from '../providers/relay';
import type { TraceLogger } from '../providers/trace';
import type { Identity, Unique } from '../providers/unique';
import type { EngineSigning } from './signing/engineSigning';
import { lookup, slotKey } from '../machines/rankBook';

/** Broadcasts remembered before the oldest are forgotten: a few ranks of attempts, more than any window needs. */
const REMEMBERED = 4_096;

/**
 * Linear messaging (`messaging: 'linear'`): whom this node's votes and
 * confirmations go to, and, as an aggregator, the lock proof and commit
 * certificate it broadcasts once the signatures it was sent weigh a quorum.
 * Only the happy path is linear; what the engine sends without an audience
 * (nil votes and confirmations) and what the app re-sends goes to everyone,
 * so a silent or lying aggregator costs its attempt, never a quorum.
 */
export class LinearMessaging<StateT extends Unique> {
  /** `kind|rank|attempt` already broadcast: once each. */
  private readonly sent = new Set<string>();

  constructor(
    private readonly signing: EngineSigning,
    private readonly relay: RelayProvider<StateT, Unique, unknown>,
    private readonly logger: TraceLogger,
    private readonly context: () => RoundContext | null,
  ) {}

  /** The audience of this node's signed vote or confirmation for `valueId`; undefined: everyone. */
  audience(rank: number, attempt: number, valueId: Identity | null): { to?: Identity } {
    const context = this.context();
    if (valueId === null || context === null) return {};
    const to = aggregatorOf(context, rank, attempt, valueId);
    return to === null ? {} : { to };
  }

  /**
   * A signed vote or confirmation for `valueId` at (rank, attempt) joined the
   * signature book (a peer's, or this node's own): if this node aggregates
   * that value and now holds a quorum, it broadcasts what the quorum proves.
   */
  signed(kind: 'vote' | 'confirmation', rank: number, attempt: number, valueId: Identity): void {
    const context = this.context();
    if (context === null || !aggregatesFor(context, rank, attempt, valueId)) return;
    const key = `${kind}|${rank}|${attempt}`;
    if (this.sent.has(key)) return;
    if (kind === 'vote') {
      const proof = this.signing.lockProof(rank, attempt, valueId);
      if (proof === null) return;
      this.remember(key);
      this.send('broadcastLockProof', () => this.relay.broadcastLockProof!(proof));
      return;
    }
    const certificate = this.signing.certificate(rank, attempt, valueId);
    const proposal = lookup(context.proposals, slotKey(rank, attempt), context.selfId);
    if (certificate === null || proposal === undefined) return;
    this.remember(key);
    // The proposal is this node's own value: its clone is the app's code on the app's object.
    const state = proposal.value.clone() as StateT;
    this.send('broadcastCertificate', () => this.relay.broadcastCertificate!(state, certificate));
  }

  private remember(key: string): void {
    if (this.sent.size >= REMEMBERED) this.sent.clear();
    this.sent.add(key);
  }

  private send(call: string, run: () => void | Promise<void>): void {
    Promise.resolve()
      .then(run)
      .catch((error: unknown) => this.logger.error(`relay.${call} failed`, error));
  }
}
