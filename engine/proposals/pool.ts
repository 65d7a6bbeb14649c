import type { ConsensusClock } from '../../providers/clock';
import type { TraceLogger } from '../../providers/trace';
import { ProposalError } from '../errors';
import {
  DEFAULT_MAX_BATCH,
  DEFAULT_MAX_BATCH_BYTES,
  DEFAULT_MAX_PENDING_PROPOSALS,
  DEFAULT_PROPOSAL_TIMEOUT,
  type ProposalOptions,
  type ProposalOutcome,
  type ProposeOptions,
} from './options';

/** Names of payloads committed lately, so a copy arriving after its commit is known for one. */
const RECENTLY_COMMITTED = 4096;

interface Held<PayloadT> {
  id: string;
  payload: PayloadT;
  bytes: number;
  /** Who proposed it: this node, or the member that forwarded it. */
  origin: string;
  expiresAt: number;
  /** This node's own proposal: how its caller learns the outcome. */
  settle?: (outcome: ProposalOutcome) => void;
  fail?: (error: ProposalError) => void;
  proposedAt: number;
  timer?: unknown;
  /** Past its deadline while a batch holding it is still being decided: settled by that rank's commit. */
  overdue: boolean;
}

export interface ProposalPoolHooks<PayloadT> {
  /** A proposal of this node settled, `latency` ms after it was made. */
  settled?(outcome: ProposalOutcome['outcome'], latency: number): void;
  /** A new proposal of this node, to hand to the other members. */
  forward?(payload: PayloadT): void;
  /**
   * Whether this node knows every committed state below `rank`: until it
   * does, a payload committed in a rank it skipped by syncing could be
   * batched a second time, so it batches nothing.
   */
  mayBatch?(rank: number): boolean;
}

/**
 * Payloads waiting to commit: this node's own proposals and the copies other
 * members forwarded. Each rank's collect step draws one batch from it (the
 * same batch if asked again for that rank); each commit settles the
 * payloads the committed state carries. Bounded: `maxPending` of this
 * node's own and as many per forwarding member, so a faulty member cannot
 * grow it without end.
 */
export class ProposalPool<StateT, PayloadT> {
  private readonly held = new Map<string, Held<PayloadT>>();
  private readonly perOrigin = new Map<string, number>();
  /** Bytes held per forwarding member: a faulty one may not fill memory with large payloads either. */
  private readonly bytesPerOrigin = new Map<string, number>();
  private readonly batches = new Map<number, Held<PayloadT>[]>();
  private readonly recentlyCommitted = new Set<string>();
  private readonly maxPending: number;
  private readonly maxBatch: number;
  private readonly maxBatchBytes: number;
  private readonly timeout: number;

  constructor(
    private readonly self: string,
    private readonly options: ProposalOptions<StateT, PayloadT>,
    private readonly clock: ConsensusClock,
    private readonly logger: TraceLogger,
    /** Set by whoever observes the pool (metrics, the relay). */
    readonly hooks: ProposalPoolHooks<PayloadT> = {},
  ) {
    this.maxPending = options.maxPending ?? DEFAULT_MAX_PENDING_PROPOSALS;
    this.maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
    this.maxBatchBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    this.timeout = options.timeout ?? DEFAULT_PROPOSAL_TIMEOUT;
  }

  /** This node's proposals not yet settled. */
  get pending(): number {
    return this.perOrigin.get(this.self) ?? 0;
  }

  /** Every payload held, forwarded copies included. */
  get size(): number {
    return this.held.size;
  }

  /**
   * Queues this node's payload for a coming batch. Resolves when it settles;
   * rejects with `ProposalError` when it cannot be queued (nothing is then
   * held) or the engine stops first.
   */
  propose(payload: PayloadT, active: StateT, { deadline }: ProposeOptions = {}): Promise<ProposalOutcome> {
    if (deadline !== undefined && !Number.isFinite(deadline)) return Promise.reject(new ProposalError('malformed', 'deadline must be a finite time'));
    let read: { id: string; bytes: number };
    try {
      read = this.read(payload);
    } catch (error) {
      return Promise.reject(error);
    }
    const { id, bytes } = read;
    const known = this.held.get(id);
    if (known?.origin === this.self || this.recentlyCommitted.has(id)) {
      return Promise.reject(new ProposalError('duplicate', `a payload named ${id} is already ${known ? 'pending' : 'committed'}`));
    }
    if (this.pending >= this.maxPending) {
      return Promise.reject(new ProposalError('too_many_pending', `${this.pending} proposals are pending, the most this node takes`));
    }
    const verdict = this.validate(payload, active);
    if (verdict !== true) return Promise.resolve(this.told({ outcome: 'aborted', reason: verdict }, 0));
    const now = this.clock.now();
    const expiresAt = deadline ?? now + this.timeout;
    if (expiresAt <= now) return Promise.resolve(this.told({ outcome: 'expired' }, 0));
    if (known !== undefined) this.forget(known);
    return new Promise<ProposalOutcome>((resolve, reject) => {
      const entry: Held<PayloadT> = {
        id,
        payload,
        bytes,
        origin: this.self,
        expiresAt,
        proposedAt: now,
        overdue: false,
        settle: resolve,
        fail: reject,
      };
      this.keep(entry);
      entry.timer = this.clock.setTimeout(() => this.expire(entry), expiresAt - now);
      try {
        this.hooks.forward?.(payload);
      } catch (error) {
        this.logger.error('forwarding a proposal failed', error);
      }
    });
  }

  /**
   * A member forwarded a payload proposed on it. Throws `ProposalError`
   * (nothing kept) when it is unreadable, too large, refused by validation,
   * or past that member's share of the pool.
   */
  receive(from: string, payload: PayloadT, active: StateT): 'accepted' | 'duplicate' {
    const { id, bytes } = this.read(payload);
    if (this.held.has(id) || this.recentlyCommitted.has(id)) return 'duplicate';
    if ((this.perOrigin.get(from) ?? 0) >= this.maxPending) {
      throw new ProposalError('too_many_pending', `${from} already has ${this.maxPending} payloads held here`);
    }
    // Four batches' worth per member: a member's share, whatever its payloads' size.
    if ((this.bytesPerOrigin.get(from) ?? 0) + bytes > 4 * this.maxBatchBytes) {
      throw new ProposalError('too_many_pending', `${from}'s payloads held here would pass ${4 * this.maxBatchBytes} bytes`);
    }
    const verdict = this.validate(payload, active);
    if (verdict !== true) throw new ProposalError('invalid', verdict);
    const now = this.clock.now();
    this.keep({ id, payload, bytes, origin: from, expiresAt: now + this.timeout, proposedAt: now, overdue: false });
    return 'accepted';
  }

  /**
   * The payloads for `rank`'s proposal, oldest first, within the batch
   * bounds; asked again for the same rank, the same ones. Payloads that no
   * longer validate on `active` are settled `aborted` (this node's) or dropped.
   */
  batchFor(rank: number, active: StateT): PayloadT[] {
    const drawn = this.batches.get(rank);
    if (drawn !== undefined) return drawn.map((entry) => entry.payload);
    if (this.hooks.mayBatch?.(rank) === false) return [];
    const now = this.clock.now();
    const batch: Held<PayloadT>[] = [];
    let bytes = 0;
    // Map order is arrival order: an entry is only ever added at the end.
    for (const entry of [...this.held.values()]) {
      if (batch.length >= this.maxBatch) break;
      if (entry.origin !== this.self && entry.expiresAt <= now && !this.inFlight(entry.id)) {
        this.forget(entry);
        continue;
      }
      if (entry.overdue) continue;
      const verdict = this.validate(entry.payload, active);
      if (verdict !== true) {
        this.finish(entry, { outcome: 'aborted', reason: verdict });
        continue;
      }
      if (bytes + entry.bytes > this.maxBatchBytes) break;
      bytes += entry.bytes;
      batch.push(entry);
    }
    this.batches.set(rank, batch);
    return batch.map((entry) => entry.payload);
  }

  /**
   * `state` committed at `rank`: the payloads it carries are settled, and
   * batches up to `rank` are spent. Given `ready` (the commit being stored
   * and applied), a proposer hears of its commit only once it resolves, with
   * its payload's result if the app's state machine answered one; if it
   * rejects, with `not_durable`.
   */
  committed(rank: number, state: StateT, ready?: Promise<ReadonlyMap<string, unknown> | undefined | void>): void {
    let names: Iterable<string>;
    try {
      names = this.options.payloadsIn(state);
    } catch (error) {
      this.logger.error(`payloadsIn threw for the state committed at ${rank}`, error);
      names = [];
    }
    for (const id of names) {
      this.remember(id);
      const entry = this.held.get(id);
      if (entry !== undefined) this.finish(entry, { outcome: 'committed', index: rank }, ready);
    }
    for (const drawn of this.batches.keys()) if (drawn <= rank) this.batches.delete(drawn);
    for (const entry of [...this.held.values()]) {
      if (entry.overdue && !this.inFlight(entry.id)) this.finish(entry, { outcome: 'expired' });
    }
  }

  /** Every pending proposal of this node fails with `stopped`; nothing is held after. */
  abandon(): void {
    for (const entry of [...this.held.values()]) {
      this.forget(entry);
      entry.fail?.(new ProposalError('stopped', 'the engine stopped before the proposal settled'));
    }
    this.batches.clear();
  }

  private read(payload: PayloadT): { id: string; bytes: number } {
    let id: unknown;
    let bytes: unknown;
    try {
      id = this.options.identify(payload);
      bytes = this.options.sizeOf ? this.options.sizeOf(payload) : (JSON.stringify(payload)?.length ?? 0);
    } catch (error) {
      throw new ProposalError('malformed', `the payload cannot be read: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (typeof id !== 'string' || id === '') throw new ProposalError('malformed', 'identify must return a non-empty string');
    if (typeof bytes !== 'number' || !Number.isFinite(bytes) || bytes < 0) throw new ProposalError('malformed', 'sizeOf must return a size in bytes');
    if (bytes > this.maxBatchBytes) throw new ProposalError('too_large', `the payload takes ${bytes} bytes, more than a batch holds (${this.maxBatchBytes})`);
    return { id, bytes };
  }

  private validate(payload: PayloadT, active: StateT): true | string {
    if (this.options.validate === undefined) return true;
    try {
      const verdict = this.options.validate(payload, active);
      return verdict === true ? true : typeof verdict === 'string' && verdict !== '' ? verdict : 'refused by validation';
    } catch (error) {
      return `validation threw: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  private inFlight(id: string): boolean {
    for (const batch of this.batches.values()) if (batch.some((entry) => entry.id === id)) return true;
    return false;
  }

  private expire(entry: Held<PayloadT>): void {
    if (this.held.get(entry.id) !== entry) return;
    // A batch holding it may yet commit: its rank decides, so the outcome told is the true one.
    if (this.inFlight(entry.id)) entry.overdue = true;
    else this.finish(entry, { outcome: 'expired' });
  }

  private keep(entry: Held<PayloadT>): void {
    this.held.set(entry.id, entry);
    this.perOrigin.set(entry.origin, (this.perOrigin.get(entry.origin) ?? 0) + 1);
    this.bytesPerOrigin.set(entry.origin, (this.bytesPerOrigin.get(entry.origin) ?? 0) + entry.bytes);
  }

  private forget(entry: Held<PayloadT>): void {
    if (this.held.get(entry.id) !== entry) return;
    this.held.delete(entry.id);
    const left = (this.perOrigin.get(entry.origin) ?? 1) - 1;
    if (left > 0) this.perOrigin.set(entry.origin, left);
    else this.perOrigin.delete(entry.origin);
    const bytes = (this.bytesPerOrigin.get(entry.origin) ?? entry.bytes) - entry.bytes;
    if (left > 0) this.bytesPerOrigin.set(entry.origin, bytes);
    else this.bytesPerOrigin.delete(entry.origin);
    if (entry.timer !== undefined) this.clock.clearTimeout(entry.timer);
  }

  private finish(entry: Held<PayloadT>, outcome: ProposalOutcome, ready?: Promise<ReadonlyMap<string, unknown> | undefined | void>): void {
    this.forget(entry);
    if (entry.settle === undefined) return;
    const settle = entry.settle;
    const tell = (results?: ReadonlyMap<string, unknown> | void) => {
      const told = outcome.outcome === 'committed' && results?.has(entry.id) ? { ...outcome, result: results.get(entry.id) } : outcome;
      settle(this.told(told, this.clock.now() - entry.proposedAt));
    };
    if (ready === undefined) return tell();
    ready.then(tell, (error: unknown) =>
      entry.fail?.(new ProposalError('not_durable', `committed at ${rank(outcome)}, but this node could not store it: ${error instanceof Error ? error.message : String(error)}`)),
    );
  }

  /** Reports an outcome to the hook (metrics), and gives it back. */
  private told(outcome: ProposalOutcome, latency: number): ProposalOutcome {
    try {
      this.hooks.settled?.(outcome.outcome, latency);
    } catch (error) {
      this.logger.error('a proposal hook threw', error);
    }
    return outcome;
  }

  private remember(id: string): void {
    this.recentlyCommitted.delete(id);
    this.recentlyCommitted.add(id);
    if (this.recentlyCommitted.size > RECENTLY_COMMITTED) this.recentlyCommitted.delete(this.recentlyCommitted.values().next().value as string);
  }
}

const rank = (outcome: ProposalOutcome) => ('index' in outcome ? outcome.index : '?');
