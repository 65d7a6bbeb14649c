import type { ConsensusClock } from '../../providers/clock';
import type { RandomSource } from '../../providers/random';

export interface LatencyRange {
  min: number;
  max: number;
}

export interface ClusterNetworkStats {
  sent: number;
  delivered: number;
  /** Lost to a cut link or a node that was down, at send or at delivery. */
  dropped: number;
}

/**
 * The live view's network: every message a timer on the cluster's clock,
 * with a latency drawn from the cluster's seeded stream. Faults are set and
 * lifted by hand while it runs (the page's partition and crash buttons), so
 * unlike the simulator's scheduled partitions they have no end time: a node
 * is isolated until it is healed, and down until it is restarted.
 */
export class ClusterNetwork {
  private readonly isolated = new Set<string>();
  private readonly up = new Set<string>();
  private readonly counters: ClusterNetworkStats = { sent: 0, delivered: 0, dropped: 0 };

  constructor(
    private readonly clock: ConsensusClock,
    private readonly random: RandomSource,
    private readonly latency: LatencyRange,
  ) {}

  /** The node is running: messages to it are delivered. */
  attach(node: string): void {
    this.up.add(node);
  }

  /** The node crashed: what is in flight to it and whatever it sends is lost. */
  detach(node: string): void {
    this.up.delete(node);
  }

  /** Cuts every link of `node`, both ways. */
  isolate(node: string): void {
    this.isolated.add(node);
  }

  heal(node: string): void {
    this.isolated.delete(node);
  }

  isIsolated(node: string): boolean {
    return this.isolated.has(node);
  }

  /** Whether a message from `from` reaches `to` right now. */
  reaches(from: string, to: string): boolean {
    return this.up.has(from) && this.up.has(to) && !this.isolated.has(from) && !this.isolated.has(to);
  }

  get stats(): ClusterNetworkStats {
    return { ...this.counters };
  }

  /**
   * Delivers by calling `deliver` after the drawn latency, if the link is up
   * both when the message leaves and when it arrives.
   */
  send(from: string, to: string, deliver: () => void): void {
    this.counters.sent += 1;
    // Drawn for every message, delivered or not, so one fault does not shift
    // the latencies of every later message.
    const latency = this.random.integer(this.latency.min, this.latency.max);
    if (!this.reaches(from, to)) {
      this.counters.dropped += 1;
      return;
    }
    this.clock.setTimeout(() => {
      if (!this.reaches(from, to)) {
        this.counters.dropped += 1;
        return;
      }
      this.counters.delivered += 1;
      deliver();
    }, latency);
  }
}
