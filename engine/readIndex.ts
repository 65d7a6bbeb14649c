import type { ConsensusClock } from '../providers/clock';
import type { RelayProvider } from '../providers/relay';
import type { Identity, Unique } from '../providers/unique';
import { isMemberOf, weightOfSenders, type Membership } from '../guards/quorum';
import { ReadIndexError } from './errors';
import type { RoundContext } from '../machines/round.types';

/** Reads waiting for their quorum at once, at most: more are refused (`too_many_pending`). */
export const MAX_PENDING_READS = 256;

/**
 * A read without a deadline gives up after this long: a Byzantine member
 * may answer an index the cluster reaches late or never, and a read must
 * not hold its place for good.
 */
export const DEFAULT_READ_TIMEOUT_MS = 10_000;

/** A nonce is echoed back as it was sent; anything longer is not one of ours. */
export const MAX_READ_NONCE_LENGTH = 64;

export interface ReadIndexOptions<PeerIDT extends Unique> {
  self: Identity;
  relay: Pick<RelayProvider<Unique, PeerIDT, unknown>, 'requestReadIndex' | 'sendReadIndex'>;
  clock: ConsensusClock;
  /** The members deciding the next rank: whose answers make the quorum. */
  membership: () => Membership;
  /**
   * How far this node has committed, plus one if it has already sent a
   * confirmation for the rank it is deciding; null while it cannot tell
   * (stopped, or its safety data not read back yet after a restart).
   */
  report: () => number | null;
  /** The index everything up to which is committed and applied here. */
  applied: () => number;
  /** Ms between requests while the quorum is short (lost messages, a member restarting). */
  retryMs: number;
}

interface PendingRead {
  readonly answers: Map<Identity, number>;
  readonly settle: (outcome: { index: number } | { error: ReadIndexError }) => void;
}

/**
 * Linearizable reads without a commit (Raft's ReadIndex, over a quorum of
 * members instead of a leader's word). Any value whose commit completed
 * before the read began was confirmed by a quorum; the read's quorum of
 * answers meets that one in more than the faulty weight, so in at least
 * one honest member, which confirmed before it heard the request and so
 * answers at least that rank. Waiting until the highest answer is applied
 * here therefore serves a state that includes every such commit. A
 * Byzantine member answering too high only delays the read, until its
 * deadline. No clock is trusted: nothing here depends on how fast time runs
 * anywhere.
 */
export class ReadIndex<PeerIDT extends Unique> {
  private sequence = 0;
  private readonly pending = new Map<string, PendingRead>();
  /** Reads with their index, waiting for it to be applied here. */
  private readonly applying = new Set<{ index: number; done: () => void }>();

  constructor(private readonly options: ReadIndexOptions<PeerIDT>) {}

  /** Reads not yet served: waiting for their quorum or for their index to be applied. */
  get waiting(): number {
    return this.pending.size + this.applying.size;
  }

  /** Reads that have their index and wait for it to be applied: all a commit may serve (none, most of the time). */
  get applyingCount(): number {
    return this.applying.size;
  }

  /** The index a read started now may be served at, once it is applied here; rejects with `ReadIndexError`. */
  read(deadline?: number): Promise<number> {
    const { relay, clock } = this.options;
    if (relay.requestReadIndex === undefined || relay.sendReadIndex === undefined) {
      return Promise.reject(new ReadIndexError('not_configured', 'reading by index needs relay.requestReadIndex and relay.sendReadIndex'));
    }
    if (this.waiting >= MAX_PENDING_READS) {
      return Promise.reject(new ReadIndexError('too_many_pending', `${MAX_PENDING_READS} reads are already waiting for their quorum`));
    }
    // The time the read began makes the nonce unique across restarts: an answer to an earlier
    // incarnation's request, computed before this read began, must never count for it.
    const nonce = `${clock.now()}-${(this.sequence += 1)}`;
    // Aborted at the deadline, whichever phase the read is in.
    const controller = new AbortController();
    let retry: unknown = null;
    const until = deadline ?? clock.now() + DEFAULT_READ_TIMEOUT_MS;
    const deadlineTimer = clock.setTimeout(() => controller.abort(), Math.max(0, until - clock.now()));
    return new Promise<number>((resolve, reject) => {
      const fail = (error: ReadIndexError) => {
        clock.clearTimeout(deadlineTimer);
        reject(error);
      };
      const settle = (outcome: { index: number } | { error: ReadIndexError }) => {
        if (!this.pending.delete(nonce)) return;
        if (retry !== null) clock.clearTimeout(retry);
        if ('error' in outcome) return fail(outcome.error);
        this.reached(outcome.index, controller.signal).then(
          () => {
            clock.clearTimeout(deadlineTimer);
            resolve(outcome.index);
          },
          () => fail(new ReadIndexError('expired', `the state as of index ${outcome.index} was not applied here by the deadline`)),
        );
      };
      controller.signal.addEventListener('abort', () => settle({ error: new ReadIndexError('expired', 'no quorum of members answered by the deadline') }));
      const read: PendingRead = { answers: new Map(), settle };
      this.pending.set(nonce, read);
      const own = this.options.report();
      if (own !== null) read.answers.set(this.options.self, own);
      const ask = () => {
        if (!this.pending.has(nonce)) return;
        Promise.resolve()
          .then(() => relay.requestReadIndex?.(nonce))
          .catch(() => undefined);
        retry = clock.setTimeout(ask, this.options.retryMs);
      };
      if (!this.complete(read)) ask();
    });
  }

  /** A member's request: this node's report goes back to it, unless it cannot tell yet. */
  answer(to: PeerIDT, nonce: string): boolean {
    const index = this.options.report();
    if (index === null) return false;
    Promise.resolve()
      .then(() => this.options.relay.sendReadIndex?.(to, nonce, index))
      .catch(() => undefined);
    return true;
  }

  /** A member's answer to one of this node's reads: 'accepted', or 'ignored' (not a read waiting here, or already answered). */
  receive(sender: Identity, nonce: string, index: number): 'accepted' | 'ignored' {
    const read = this.pending.get(nonce);
    if (read === undefined || read.answers.has(sender)) return 'ignored';
    read.answers.set(sender, index);
    this.complete(read);
    return 'accepted';
  }

  /** The log moved on: reads whose index is now applied are served. */
  progressed(): void {
    const applied = this.options.applied();
    for (const waiter of [...this.applying]) if (waiter.index <= applied) waiter.done();
  }

  /** Settles every read waiting (the engine stopped). */
  abandon(): void {
    for (const read of [...this.pending.values()]) read.settle({ error: new ReadIndexError('stopped', 'the engine stopped') });
    for (const waiter of [...this.applying]) waiter.done();
  }

  /**
   * Resolves once `index` is applied here; rejects when `signal` aborts. Not
   * a promise per index kept by the log: an index a Byzantine member made up
   * may never come, and what waits for it must go at the deadline.
   */
  private reached(index: number, signal: AbortSignal): Promise<void> {
    if (this.options.applied() >= index) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        index,
        done: () => {
          this.applying.delete(waiter);
          signal.removeEventListener('abort', aborted);
          if (this.options.applied() >= index) resolve();
          else reject(new Error('not applied'));
        },
      };
      const aborted = () => waiter.done();
      this.applying.add(waiter);
      signal.addEventListener('abort', aborted);
    });
  }

  private complete(read: PendingRead): boolean {
    const membership = this.options.membership();
    if (weightOfSenders(membership, read.answers.keys()) < membership.quorum) return false;
    let highest = 0;
    for (const [member, index] of read.answers) if (isMemberOf(membership, member)) highest = Math.max(highest, index);
    read.settle({ index: highest });
    return true;
  }
}

/** What a member answers a read: see `ReadIndexOptions.report`. */
export function reportOf(snapshot: { value: unknown; context: Pick<RoundContext, 'activeRank' | 'confirmedAttempt' | 'confirmationSentAttempt' | 'lock' | 'restored'> }): number | null {
  const { value, context } = snapshot;
  // Before its safety data is read back, a restarted member cannot tell whether it confirmed.
  if (value === 'stopped' || (typeof value === 'object' && value !== null && 'starting' in value)) return null;
  const next = context.activeRank + 1;
  const restored = context.restored?.rank === next ? context.restored : null;
  const confirmed =
    context.confirmedAttempt >= 0 || context.confirmationSentAttempt >= 0 || context.lock !== null || (restored !== null && (restored.confirmedAttempt >= 0 || restored.lock != null));
  return confirmed ? next : context.activeRank;
}
