import { serviceEntry } from '../../examples/ledger/serviceEntries';
import type { LedgerFrame } from '../../examples/ledger/types';
import type { ConsensusClock } from '../../providers/clock';
import type { RandomSource } from '../../providers/random';
import type { BarrierView } from '../../services/barrierCommands';
import { commands, queries } from '../../services/commandBuilders';
import { DEMO_BARRIERS, DEMO_DEADLINE_MS as DEADLINE_MS, DEMO_LEASE_MS as LEASE_MS, DEMO_LOCKS, DEMO_PERIOD_MS as PERIOD_MS } from '../../simulator/lockBarrierWorkload';
import { enginePort, type ProposingNode } from '../../services/enginePort';
import type { CoordinationHost } from '../../services/host';
import type { LockView } from '../../services/lockCommands';

/**
 * A small workload for the live view's coordination services, so that its
 * panel has lock holders and barrier generations to show: every few hundred
 * simulated ms one running honest node, drawn from the seed, acts as a client
 * named after itself. It takes, renews and releases locks, and creates and
 * arrives at two barriers, the second a stage after the first. It decides
 * from its own node's applied state, so it asks for what makes sense
 * there (a release with the token it holds, an arrival for the open
 * generation) and everything goes through the node's engine into the log.
 * The draws happen on the cluster's clock, so a seed replays the same
 * commands at the same simulated times.
 */

export interface WorkloadClient {
  readonly name: string;
  readonly node: ProposingNode<string>;
  readonly host: CoordinationHost<LedgerFrame>;
}

export class ServiceWorkload {
  private timer: unknown = null;
  /** Per node incarnation: a crashed one's pending command never settles, and must not hold back its successor. */
  private readonly busy = new WeakSet<ProposingNode<string>>();
  /** Entry names, unique in the run (the log tells proposals apart by them). */
  private named = 0;

  constructor(
    private readonly clock: ConsensusClock,
    private readonly random: RandomSource,
    /** The clients that may act now: running honest nodes with their services. */
    private readonly clients: () => readonly WorkloadClient[],
    /** Every barrier's participants. */
    private readonly participants: readonly string[],
  ) {}

  start(): void {
    if (this.timer === null) this.schedule();
  }

  stop(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    this.timer = this.clock.setTimeout(() => {
      this.tick();
      this.schedule();
    }, this.random.integer(PERIOD_MS.min, PERIOD_MS.max));
  }

  private tick(): void {
    // One command in flight per client: it decides from its applied state, which would not show the first yet.
    const ready = this.clients().filter((client) => !this.busy.has(client.node));
    if (ready.length === 0) return;
    const client = ready[this.random.integer(0, ready.length - 1)]!;
    const wantsBarrier = this.random.fraction() < 0.5;
    const command = (wantsBarrier ? this.barrierCommand(client) : null) ?? this.lockCommand(client);
    this.submit(client, command);
  }

  private lockCommand({ name, host }: WorkloadClient): unknown {
    const locks = stale<{ locks: LockView[] }>(host, queries.locks())?.locks ?? [];
    const held = locks.find((view) => view.holder?.owner === name);
    if (held !== undefined) {
      const { token } = held.holder!;
      return this.random.fraction() < 0.6
        ? commands.renew(held.lock, name, token, { leaseMs: this.lease() })
        : commands.release(held.lock, name, token);
    }
    const waiting = new Set(locks.filter((view) => view.waiters.some((waiter) => waiter.owner === name)).map((view) => view.lock));
    const free = DEMO_LOCKS.filter((lock) => !waiting.has(lock));
    // Queued behind every lock: leaving one queue keeps the waiters moving.
    if (free.length === 0) return commands.cancel(DEMO_LOCKS[this.random.integer(0, DEMO_LOCKS.length - 1)]!, name);
    return commands.acquire(free[this.random.integer(0, free.length - 1)]!, name, { leaseMs: this.lease() });
  }

  private barrierCommand({ name, host }: WorkloadClient): unknown {
    for (const { name: barrier, options } of DEMO_BARRIERS) {
      const view = stale<BarrierView>(host, queries.barrier(barrier));
      if (view === null) return commands.createBarrier(barrier, this.participants, options);
      if (view.open && !view.arrived.includes(name)) return commands.arrive(barrier, name, view.generation);
    }
    return null;
  }

  private lease(): number {
    return this.random.integer(LEASE_MS.min, LEASE_MS.max);
  }

  private submit(client: WorkloadClient, command: unknown): void {
    const entryName = `${client.name}-w${(this.named += 1)}`;
    const port = enginePort({ node: client.node, host: client.host, encode: (kind, body) => serviceEntry(kind, body, entryName) });
    this.busy.add(client.node);
    // Refusals (a lock someone else just took) are part of the show: the client decides again from what it applied.
    void port.submit(command, { deadline: this.clock.now() + DEADLINE_MS }).finally(() => this.busy.delete(client.node));
  }
}

function stale<T>(host: CoordinationHost<LedgerFrame>, query: unknown): T | null {
  const { answer } = host.readStale(query);
  return typeof answer === 'object' && answer !== null && 'ok' in answer && answer.ok === true ? (answer as unknown as { value: T }).value : null;
}
