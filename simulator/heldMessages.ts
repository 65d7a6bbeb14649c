import type { HonestNode } from './HonestNode';
import type { Finding, SafetyChecker } from './SafetyChecker';

/**
 * The held-message bound, checked for the honest nodes that were delivered
 * a ledger message in the instant being fired, in the order they first
 * were: once per instant per such node, after the instant's deliveries and before any
 * promise continuation (`EventClock.runInstantsUntil`), not after every
 * delivery: `getHeldMessageCount` recounts every book of the engine, and
 * at n = 64 an instant delivers hundreds of messages to each node.
 *
 * Nothing is lost where the count only grows: the engine holds a message
 * synchronously, in the delivery itself, so the count at the end of the
 * instant is at least the count after each of its deliveries, unless the
 * engine pruned (a rank left the window, an attempt moved on) later in the
 * same instant. Only such a peak, above the bound and pruned within the
 * very instant it was reached, would go unseen; `peakHeldMessages` is
 * likewise the highest count at the end of an instant. A node that
 * crashes is counted first, in case it received something at that instant.
 */
export class HeldMessageWatch {
  private readonly receivedThisInstant = new Set<string>();

  constructor(
    private readonly checker: SafetyChecker,
    private readonly honestNode: (name: string) => HonestNode | undefined,
    private readonly report: (finding: Finding) => void,
  ) {}

  /** `node` was delivered a ledger message in this instant. */
  received(node: string): void {
    this.receivedThisInstant.add(node);
  }

  /** `node` is about to crash: what it holds is counted first. */
  beforeCrash(node: string): void {
    if (this.receivedThisInstant.delete(node)) this.check(node);
  }

  /** The instant's deliveries are in. */
  endOfInstant(): void {
    for (const name of this.receivedThisInstant) this.check(name);
    this.receivedThisInstant.clear();
  }

  private check(name: string): void {
    const target = this.honestNode(name);
    if (target === undefined || target.down) return;
    const held = target.node.getHeldMessageCount();
    target.peakHeldMessages = Math.max(target.peakHeldMessages, held);
    const finding = this.checker.heldMessages(name, held, target.head().height + 1);
    if (finding) this.report(finding);
  }
}
