import { copyTransportStats, emptyTransportStats, type PeerTransport } from '../net/transport';
import type { ConsensusClock } from '../providers/clock';
import type { RandomSource } from '../providers/random';

/** One-way delay of a message, drawn uniformly from [min, max] ms per message. */
export interface LatencyRange {
  min: number;
  max: number;
}

/** How one directed link (from → to) treats the messages it carries. */
export interface LinkConditions {
  latency: LatencyRange;
  /** Probability in [0, 1] that a message is lost. */
  dropRate: number;
  /** Probability in [0, 1] that a delivered message is delivered a second time. */
  duplicateRate: number;
}

/**
 * The cluster split into groups from `from` until `to` (ms, simulated); only
 * nodes in the same group reach each other. Nodes named in no group form one
 * more group together, so `{ groups: [['n0']] }` isolates n0 from the rest.
 */
export interface Partition {
  from: number;
  /** When the partition heals; `Infinity` for never. */
  to: number;
  groups: string[][];
}

export type DropReason = 'loss' | 'partition' | 'detached';

export type NetworkEvent<M> =
  | { type: 'send'; id: number; at: number; from: string; to: string; message: M; deliverAt: number }
  | { type: 'duplicate'; id: number; at: number; from: string; to: string; message: M; deliverAt: number }
  | { type: 'drop'; id: number; at: number; from: string; to: string; message: M; reason: DropReason }
  | { type: 'deliver'; id: number; at: number; from: string; to: string; message: M };

export interface NetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
  duplicated: number;
}

export interface SimulatedNetworkOptions<M> {
  /** Every delivery is a timer on this clock: the one clock the whole simulation shares. */
  clock: ConsensusClock;
  /** Every latency, loss and duplicate is drawn from here, in send order. */
  random: RandomSource;
  /** Default for every link. Default { min: 1, max: 1 }. */
  latency?: LatencyRange;
  dropRate?: number;
  duplicateRate?: number;
  /**
   * Whether a message may overtake an earlier one on the same link (it does
   * when its drawn latency is shorter). Default true; false makes every link FIFO.
   */
  reorder?: boolean;
  partitions?: Partition[];
  /** Sees every send, duplicate, drop and delivery, e.g. to record a trace. */
  observer?: (event: NetworkEvent<M>) => void;
}

export type MessageHandler<M> = (from: string, message: M) => void;

function checkProbability(name: string, value: number): number {
  if (!(value >= 0 && value <= 1)) throw new RangeError(`${name} must be within [0, 1], got ${value}`);
  return value;
}

function checkLatency(latency: LatencyRange): LatencyRange {
  const { min, max } = latency;
  if (!Number.isFinite(min) || !Number.isFinite(max) || min < 0 || max < min) {
    throw new RangeError(`latency must satisfy 0 <= min <= max, got ${min}-${max}`);
  }
  return { min, max };
}

function checkPartition(partition: Partition): Partition {
  if (!(partition.from >= 0) || !(partition.to > partition.from)) {
    throw new RangeError(`a partition needs 0 <= from < to, got ${partition.from}-${partition.to}`);
  }
  const seen = new Set<string>();
  for (const node of partition.groups.flat()) {
    if (seen.has(node)) throw new RangeError(`node ${node} is in two groups of one partition`);
    seen.add(node);
  }
  return { from: partition.from, to: partition.to, groups: partition.groups.map((group) => [...group]) };
}

/**
 * An in-process transport with the faults of a real network: per-link latency
 * ranges, loss, duplication, reordering and scheduled partitions that heal.
 * Nodes attach a handler; a detached node (crashed) loses what is sent to it.
 * Deterministic: all time comes from the injected clock and all chance from
 * the injected random source, so one seed replays the same deliveries.
 */
export class SimulatedNetwork<M> {
  private readonly clock: ConsensusClock;
  private readonly random: RandomSource;
  private readonly defaults: LinkConditions;
  private readonly reorder: boolean;
  private readonly links = new Map<string, LinkConditions>();
  private readonly handlers = new Map<string, MessageHandler<M>>();
  private readonly partitions: Partition[];
  /** Per link, the latest delivery time handed out, to keep links FIFO when asked. */
  private readonly lastDelivery = new Map<string, number>();
  private readonly observer: ((event: NetworkEvent<M>) => void) | undefined;
  private nextId = 0;
  private readonly counters: NetworkStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0 };

  constructor(options: SimulatedNetworkOptions<M>) {
    this.clock = options.clock;
    this.random = options.random;
    this.defaults = {
      latency: checkLatency(options.latency ?? { min: 1, max: 1 }),
      dropRate: checkProbability('dropRate', options.dropRate ?? 0),
      duplicateRate: checkProbability('duplicateRate', options.duplicateRate ?? 0),
    };
    this.reorder = options.reorder ?? true;
    this.partitions = (options.partitions ?? []).map(checkPartition);
    this.observer = options.observer;
  }

  /** Starts delivering to `node`. Replaces a previous handler (a restart). */
  attach(node: string, handler: MessageHandler<M>): void {
    this.handlers.set(node, handler);
  }

  /** Stops delivering to `node`: messages in flight to it, and later ones, are lost. */
  detach(node: string): void {
    this.handlers.delete(node);
  }

  isAttached(node: string): boolean {
    return this.handlers.has(node);
  }

  /** Overrides the defaults for one directed link. */
  setLink(from: string, to: string, conditions: Partial<LinkConditions>): void {
    const current = this.conditions(from, to);
    this.links.set(`${from}\u0000${to}`, {
      latency: checkLatency(conditions.latency ?? current.latency),
      dropRate: checkProbability('dropRate', conditions.dropRate ?? current.dropRate),
      duplicateRate: checkProbability('duplicateRate', conditions.duplicateRate ?? current.duplicateRate),
    });
  }

  addPartition(partition: Partition): void {
    this.partitions.push(checkPartition(partition));
  }

  /** Whether a partition separates `a` and `b` at time `at`. */
  isCut(a: string, b: string, at = this.clock.now()): boolean {
    if (a === b) return false;
    for (const { from, to, groups } of this.partitions) {
      if (at < from || at >= to) continue;
      const groupOf = (node: string) => groups.findIndex((group) => group.includes(node));
      if (groupOf(a) !== groupOf(b)) return true;
    }
    return false;
  }

  get stats(): NetworkStats {
    return { ...this.counters };
  }

  /**
   * Queues `message` from `from` to `to`. A message is lost if the link drops
   * it, if a partition separates the two at send or at delivery time, or if
   * either end is detached.
   */
  send(from: string, to: string, message: M): void {
    const id = ++this.nextId;
    const at = this.clock.now();
    this.counters.sent += 1;
    const link = this.conditions(from, to);
    // Draw every random value for this message up front, so a message's fate
    // never changes how many draws later messages see.
    const lost = link.dropRate > 0 && this.random.fraction() < link.dropRate;
    const latency = this.drawLatency(link.latency);
    const duplicated = link.duplicateRate > 0 && this.random.fraction() < link.duplicateRate;
    const duplicateLatency = duplicated ? this.drawLatency(link.latency) : 0;

    const reason: DropReason | null = !this.handlers.has(from)
      ? 'detached'
      : this.isCut(from, to, at)
        ? 'partition'
        : lost
          ? 'loss'
          : null;
    if (reason !== null) {
      this.counters.dropped += 1;
      this.observer?.({ type: 'drop', id, at, from, to, message, reason });
      return;
    }
    const deliverAt = this.deliveryTime(from, to, at + latency);
    this.observer?.({ type: 'send', id, at, from, to, message, deliverAt });
    this.schedule(id, from, to, message, deliverAt);
    if (duplicated) {
      this.counters.duplicated += 1;
      const copyAt = this.deliveryTime(from, to, at + duplicateLatency);
      this.observer?.({ type: 'duplicate', id, at, from, to, message, deliverAt: copyAt });
      this.schedule(id, from, to, message, copyAt);
    }
  }

  /** Sends to every attached-or-not node in `nodes` except `from` itself. */
  broadcast(from: string, nodes: readonly string[], message: M): void {
    for (const to of nodes) if (to !== from) this.send(from, to, message);
  }

  private conditions(from: string, to: string): LinkConditions {
    return this.links.get(`${from}\u0000${to}`) ?? this.defaults;
  }

  private drawLatency({ min, max }: LatencyRange): number {
    if (min === max) return min;
    if (Number.isInteger(min) && Number.isInteger(max)) return this.random.integer(min, max);
    return min + (max - min) * this.random.fraction();
  }

  private deliveryTime(from: string, to: string, proposed: number): number {
    if (this.reorder) return proposed;
    const key = `${from}\u0000${to}`;
    const time = Math.max(proposed, this.lastDelivery.get(key) ?? 0);
    this.lastDelivery.set(key, time);
    return time;
  }

  private schedule(id: number, from: string, to: string, message: M, deliverAt: number): void {
    this.clock.setTimeout(() => this.deliver(id, from, to, message), deliverAt - this.clock.now());
  }

  private deliver(id: number, from: string, to: string, message: M): void {
    const at = this.clock.now();
    const handler = this.handlers.get(to);
    const reason: DropReason | null = handler === undefined ? 'detached' : this.isCut(from, to, at) ? 'partition' : null;
    if (reason !== null) {
      this.counters.dropped += 1;
      this.observer?.({ type: 'drop', id, at, from, to, message, reason });
      return;
    }
    this.counters.delivered += 1;
    this.observer?.({ type: 'deliver', id, at, from, to, message });
    handler!(from, message);
  }
}

/**
 * One member's view of a simulated network as a `PeerTransport`, the
 * interface a node process's sockets implement too: a node built on it
 * cannot tell the simulation from a real network. A peer counts as
 * connected while both are attached and no partition separates them.
 * Nothing is queued: what the network loses is lost, as a real link's
 * in-flight messages are when it breaks.
 */
export function networkEndpoint<M>(network: SimulatedNetwork<M>, self: string, members: readonly string[]): PeerTransport<M> {
  const stats = emptyTransportStats();
  let closed = false;
  return {
    send(to, message) {
      if (closed) {
        stats.dropped.closed += 1;
        return false;
      }
      if (to === self || !members.includes(to)) {
        stats.dropped.unknown_peer += 1;
        return false;
      }
      stats.messagesSent += 1;
      network.send(self, to, message);
      return true;
    },
    onMessage(handler) {
      network.attach(self, (from, message) => {
        if (closed) return;
        stats.messagesReceived += 1;
        try {
          handler(from, message);
        } catch {
          stats.handlerErrors += 1;
        }
      });
    },
    connectedPeers: () => members.filter((peer) => peer !== self && network.isAttached(self) && network.isAttached(peer) && !network.isCut(self, peer)),
    stats: () => copyTransportStats(stats),
    async close() {
      closed = true;
      network.detach(self);
    },
  };
}
