import type { ConsensusClock } from '../providers/clock';
import type { RelayProvider } from '../providers/relay';
import type { TraceLogger } from '../providers/trace';
import type { Identity, Unique } from '../providers/unique';
import type { CommitLog } from './commitLog';

export interface CertificateRelayOptions<StateT extends Unique, PeerIDT extends Unique> {
  self: Identity;
  log: CommitLog<StateT, PeerIDT>;
  relay: RelayProvider<StateT, PeerIDT, unknown>;
  clock: ConsensusClock;
  logger: TraceLogger;
  peerOf: (id: Identity) => PeerIDT;
  /** Ms after a commit before its certificate is sent anyone. */
  delay: number;
  /** Ms between two sendings of one rank's certificate to one peer. */
  interval: number;
  /** How many `peer|rank` sendings to remember before forgetting the stale ones: members × rank window. */
  bound: () => number;
  /**
   * Also relay what the log held before this engine started (a restart), as
   * if committed then. Linear messaging needs it: a node's confirmations went
   * to the aggregator alone, so a peer left without the certificate may have
   * no one else to get it from than a member that committed before it crashed.
   */
  relaysLogged?: boolean;
}

/**
 * Sends a commit's certificate to a member still deciding that rank. If a
 * Byzantine member confirmed to some only, such a member may never gather a
 * quorum of confirmations itself: the certificate carries them. Not at once
 * (what arrives just after a commit is mostly the rank's late traffic from
 * peers about to commit), and once per interval per peer and rank.
 */
export class CertificateRelay<StateT extends Unique, PeerIDT extends Unique> {
  /** When this node committed each rank it may still relay. */
  private readonly committedAt = new Map<number, number>();
  /** When each peer was last sent the certificate of a rank (`peer|rank`). */
  private readonly relayed = new Map<string, number>();

  /** When this engine started, and the last rank its log held then: for `relaysLogged`. */
  private readonly startedAt: number;
  private readonly heldAtStart: number;

  constructor(private readonly options: CertificateRelayOptions<StateT, PeerIDT>) {
    this.startedAt = options.clock.now();
    this.heldAtStart = options.relaysLogged === true ? (options.log.tail()?.index ?? -1) : -1;
  }

  /** This node committed `rank`; ranks a rank window below it are past relaying. */
  committed(rank: number, rankWindow: number): void {
    this.committedAt.set(rank, this.options.clock.now());
    for (const old of this.committedAt.keys()) {
      if (old > rank - rankWindow) break;
      this.committedAt.delete(old);
    }
  }

  /** `peer` sent something about `rank`, which this node committed. */
  stillDeciding(peer: Identity, rank: number): void {
    const { log, relay, clock, delay, interval, self } = this.options;
    const at = this.committedAt.get(rank) ?? (rank <= this.heldAtStart ? this.startedAt : undefined);
    const entry = log.get(rank);
    if (at === undefined || entry?.certificate == null || peer === self) return;
    const now = clock.now();
    if (now - at < delay) return;
    const key = `${peer}|${rank}`;
    const last = this.relayed.get(key);
    if (last !== undefined && now - last < interval) return;
    this.relayed.set(key, now);
    if (this.relayed.size > this.options.bound()) {
      for (const [old, when] of this.relayed) if (now - when >= interval) this.relayed.delete(old);
    }
    const { certificate, payload } = entry;
    Promise.resolve()
      .then(() => relay.sendCertificate(this.options.peerOf(peer), payload.clone(), certificate))
      .catch((error: unknown) => this.options.logger.error('relay.sendCertificate failed', error));
  }
}
