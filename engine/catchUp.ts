import type { ConsensusClock } from '../providers/clock';
import type { RelayProvider } from '../providers/relay';
import type { TraceLogger } from '../providers/trace';
import type { Identity, Unique } from '../providers/unique';
import type { ValueCodec } from '../providers/codec';
import type { CommitLog, LogEntry } from './commitLog';
import { adoptValue } from './door';
import { InvalidSignatureError, MalformedMessageError } from './errors';
import { commitCertificateSchema, verifySigned, type CommitCertificate } from './signing/certificate';
import type { EngineSigning } from './signing/engineSigning';
import { valueDigestOf } from './signing/statement';

/** Entries one request asks for, and one answer carries, at most. */
export const MAX_ENTRIES_PER_MESSAGE = 64;
/** Requests for one missing range before it is given up on. */
export const CATCH_UP_TRIES = 8;
/** Intervals between requests for a range given up on: a peer may have it later (one restarting, one reconnected). */
export const HOLE_RETRY_INTERVALS = 25;

/** A committed state with the certificate that proves it: what peers send a node filling its log. */
export interface CertifiedEntry<StateT> {
  state: StateT;
  certificate: CommitCertificate;
}

export interface CatchUpOptions<StateT extends Unique, PeerIDT extends Unique> {
  log: CommitLog<StateT, PeerIDT>;
  signing: EngineSigning;
  relay: RelayProvider<StateT, PeerIDT, unknown>;
  clock: ConsensusClock;
  logger: TraceLogger;
  codec: ValueCodec<StateT>;
  maxValueSize: number;
  peerOf: (id: Identity) => PeerIDT;
  /** Ms between requests for one range, and between answers to one peer. */
  interval: number;
  /** The highest rank whose membership this node knows: an entry past it cannot be verified yet. Default: every rank. */
  knownRank?: () => number;
  /**
   * The index up to which the engine has read its log for membership
   * changes, when they are read from it: a hole right after it stops that
   * reading, and with it this node's votes, so it is asked for at the usual
   * pace rather than the slow one.
   */
  readThrough?: () => number;
}

/**
 * Fills the ranks a node skipped by syncing: it asks the members for their
 * entries (`relay.requestEntries`), and appends each one only once its
 * certificate verifies with the members' keys and names the state it comes
 * with: no trust in the peer that sent it. A range no one answers for is
 * given up on after `CATCH_UP_TRIES` requests, so readers of the log move on;
 * it is still asked for, one range at a time every `HOLE_RETRY_INTERVALS`
 * intervals, and filled if an answer comes, so the log ends up whole.
 * It answers peers' requests from its own log, once per interval per peer.
 */
export class CatchUp<StateT extends Unique, PeerIDT extends Unique> {
  private timer: unknown = null;
  /** Requests made for each missing range, by its first index. */
  private readonly tries = new Map<number, number>();
  /** When each peer was last answered. */
  private readonly answered = new Map<Identity, number>();
  private stopped = false;
  /** Where the slow requests for ranges given up on go on from: each hole gets its turn. */
  private holeCursor = 0;
  /** Whether the timer armed is the slow one, for holes. */
  private slow = false;

  constructor(private readonly options: CatchUpOptions<StateT, PeerIDT>) {}

  /** The log changed: if something is missing, make sure a request is on its way. */
  check(): void {
    if (this.stopped || this.options.relay.requestEntries === undefined) return;
    if (this.timer !== null && !this.slow) return;
    const missing = this.options.log.missing().length > 0;
    if (this.timer !== null) {
      // Something newly missing does not wait behind a slow request for a hole.
      if (!missing) return;
      this.options.clock.clearTimeout(this.timer);
      this.timer = null;
    }
    if (missing) return this.request();
    if (this.options.log.holes().length > 0) this.requestHole();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.options.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  start(): void {
    this.stopped = false;
    this.check();
  }

  /** A member asks for entries `from`..`to`: what this node holds of them, certified, goes back to it. Returns how many. */
  answer(peer: Identity, from: number, to: number): number {
    const { relay, log, clock } = this.options;
    if (relay.sendEntries === undefined) return 0;
    const now = clock.now();
    const last = this.answered.get(peer);
    if (last !== undefined && now - last < this.options.interval) return 0;
    const entries = log
      .range(from, Math.min(to, from + MAX_ENTRIES_PER_MESSAGE - 1))
      .filter((entry): entry is LogEntry<StateT, PeerIDT> & { certificate: CommitCertificate } => entry.certificate !== null)
      .map((entry) => ({ state: (entry.payload as StateT).clone(), certificate: entry.certificate }));
    if (entries.length === 0) return 0;
    this.answered.set(peer, now);
    const to_ = this.options.peerOf(peer);
    Promise.resolve()
      .then(() => relay.sendEntries?.(to_, entries))
      .catch((error: unknown) => this.options.logger.error('relay.sendEntries failed', error));
    return entries.length;
  }

  /**
   * A member's entries: each must fill a missing place and carry a
   * certificate that verifies for its state. One that does not refuses the
   * whole answer (`InvalidSignatureError`, `MalformedMessageError`) and
   * nothing is filled. Returns how many were filled.
   *
   * When the membership changes through the log, an entry's certificate is
   * checked with its rank's membership, which the entries before it say:
   * the answer is taken in passes, each as far as the membership is known,
   * its entries filled (and read) before the next. A fault found in a later
   * pass refuses what is left; what was filled before it was proven.
   */
  receive(sender: Identity, raw: unknown): number {
    if (!Array.isArray(raw) || raw.length > MAX_ENTRIES_PER_MESSAGE) {
      throw new MalformedMessageError('confirmation', [`entries must be an array of at most ${MAX_ENTRIES_PER_MESSAGE}`]);
    }
    const { log, signing, codec, maxValueSize } = this.options;
    let pending: Array<{ label: string; rank: number; value: StateT; valueDigest: string; certificate: CommitCertificate }> = [];
    for (const [i, item] of raw.entries()) {
      const label = `entries[${i}]`;
      if (typeof item !== 'object' || item === null) throw new MalformedMessageError('confirmation', [`${label} must be { state, certificate }`]);
      const own = adoptValue(`${label}.state`, (item as { state?: unknown }).state, codec, maxValueSize);
      if (!own.ok) throw new MalformedMessageError('confirmation', [own.issue]);
      const parsed = commitCertificateSchema.safeParse((item as { certificate?: unknown }).certificate);
      if (!parsed.success) throw new MalformedMessageError('confirmation', [`${label}.certificate is not a certificate`]);
      const certificate = parsed.data;
      const { id, rank, value } = own.value;
      const valueDigest = valueDigestOf(id);
      if (certificate.rank !== rank || certificate.valueDigest !== valueDigest) {
        throw new InvalidSignatureError('confirmation', sender, `${label}: the certificate is for another rank or value than its state`);
      }
      pending.push({ label, rank, value: value as StateT, valueDigest, certificate });
    }
    let filled = 0;
    while (pending.length > 0) {
      const known = this.options.knownRank?.() ?? Number.POSITIVE_INFINITY;
      const now = pending.filter((entry) => entry.rank <= known);
      if (now.length === 0) break;
      pending = pending.filter((entry) => entry.rank > known);
      const checked: LogEntry<StateT, PeerIDT>[] = [];
      for (const { label, rank, value, valueDigest, certificate } of now) {
        // What fills nothing is not worth a signature check.
        if ((!log.isMissing(rank) && !log.isHole(rank)) || checked.some((entry) => entry.index === rank)) continue;
        const verdict = verifySigned({ kind: 'confirmation', ...certificate }, signing.membersAt(rank), signing.chainId, signing.verifier);
        if (!verdict.valid) throw new InvalidSignatureError('confirmation', verdict.signer ?? sender, `${label}: ${verdict.reason}`);
        checked.push({ index: rank, rank, attempt: certificate.attempt, term: null, valueDigest, proposer: null, certificate, payload: value });
      }
      for (const entry of checked) log.fill(entry);
      filled += checked.length;
      // Nothing filled, nothing more known.
      if (checked.length === 0) break;
    }
    if (filled > 0) this.options.logger.trace(`filled ${filled} log entries from ${sender}`);
    // What was left for later can be verified now: ask at once rather than an interval later.
    if (pending.length > 0 && filled > 0 && this.timer !== null && !this.slow && !this.stopped) {
      this.options.clock.clearTimeout(this.timer);
      this.timer = null;
      this.request();
    }
    return filled;
  }

  /** Asks for the lowest missing range, gives it up after enough tries, and comes back after the interval. */
  private request(): void {
    const { log, relay, interval } = this.options;
    const gap = log.missing()[0];
    if (gap === undefined || this.stopped) return;
    const [from, gapEnd] = gap;
    const to = Math.min(gapEnd, from + MAX_ENTRIES_PER_MESSAGE - 1);
    const tries = (this.tries.get(from) ?? 0) + 1;
    if (tries > CATCH_UP_TRIES) {
      this.tries.delete(from);
      this.options.logger.trace(`giving up on log entries ${from}..${to}: no member sent them`);
      log.skip(from, to);
    } else {
      this.tries.set(from, tries);
      // Bounded: only ranges still missing keep a count.
      for (const start of this.tries.keys()) if (!log.isMissing(start)) this.tries.delete(start);
      Promise.resolve()
        .then(() => relay.requestEntries?.(from, to))
        .catch((error: unknown) => this.options.logger.error('relay.requestEntries failed', error));
    }
    this.rearm(interval);
  }

  /**
   * Asks, at a slow pace, for the next range given up on after the one asked
   * last; at the usual pace for one the membership reading waits on.
   */
  private requestHole(): void {
    const { log, relay, interval } = this.options;
    const holes = log.holes();
    const readThrough = this.options.readThrough?.();
    const blocking = readThrough === undefined ? undefined : holes.find(([from]) => from === readThrough + 1);
    const hole = blocking ?? holes.find(([from]) => from > this.holeCursor) ?? holes[0];
    if (hole === undefined || this.stopped) return;
    const [from, holeEnd] = hole;
    if (blocking === undefined) this.holeCursor = from;
    const to = Math.min(holeEnd, from + MAX_ENTRIES_PER_MESSAGE - 1);
    Promise.resolve()
      .then(() => relay.requestEntries?.(from, to))
      .catch((error: unknown) => this.options.logger.error('relay.requestEntries failed', error));
    this.rearm(blocking === undefined ? HOLE_RETRY_INTERVALS * interval : interval);
  }

  private rearm(delay: number): void {
    this.slow = delay > this.options.interval;
    this.timer = this.options.clock.setTimeout(() => {
      this.timer = null;
      this.check();
    }, delay);
  }
}
