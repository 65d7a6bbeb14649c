import type { CommitCertificate, LockProof } from '../engine/signing/certificate';
import type { Unique } from './unique';

/**
 * How an engine with keys passes on what it can prove, so peers that missed
 * messages (a Byzantine member may have sent them to some only) still follow:
 * the app only carries these; the engine decides what and to whom, and checks
 * every signature of what arrives (`receiveLockProof`,
 * `receiveCommitCertificate`). Optional: without it peers wait for their own
 * timeouts and syncs.
 */
export interface RelayProvider<StateT extends Unique, PeerIDT extends Unique, PayloadT = never> {
  /**
   * This node locked on a value: the quorum of signed votes behind the lock,
   * for every peer still deciding `proof.rank`. Called once per lock; peers
   * need it only when the rank stays undecided, so sending it with the
   * rank's re-sends is enough.
   */
  sendLockProof(proof: LockProof): void | Promise<void>;
  /**
   * Linear messaging only (then required): this node aggregated a quorum of
   * signed votes for the value it proposed in an attempt. Send the proof to
   * every other member now: it stands for the votes they were not sent.
   */
  broadcastLockProof?(proof: LockProof): void | Promise<void>;
  /**
   * Linear messaging only (then required): this node aggregated a quorum of
   * signed confirmations of the value it proposed in an attempt. Send the
   * state and its certificate to every other member now, for their
   * `receiveCommitCertificate`.
   */
  broadcastCertificate?(state: StateT, certificate: CommitCertificate): void | Promise<void>;
  /** `to` is still deciding a rank this node committed: the committed state and its certificate. */
  sendCertificate(to: PeerIDT, state: StateT, certificate: CommitCertificate): void | Promise<void>;
  /**
   * A payload proposed on this node (`engine.propose`), for every other
   * member's `receivePayload`: whoever proves next batches it. Without it a
   * payload waits until this node proves.
   */
  forwardPayload?(payload: PayloadT): void | Promise<void>;
  /**
   * This node skipped ranks by syncing and wants their entries `from`..`to`
   * (at most 64): for every other member's `receiveEntriesRequest`. Asked
   * again after `certificateRelay.interval` until filled or given up on.
   */
  requestEntries?(from: number, to: number): void | Promise<void>;
  /** `to` asked for entries this node holds: each state with its certificate, for `to`'s `receiveEntries`. */
  sendEntries?(to: PeerIDT, entries: Array<{ state: StateT; certificate: CommitCertificate }>): void | Promise<void>;
  /**
   * `to` asked for entries older than this node's log holds, and this node's
   * state machine has a snapshot past them: one chunk of it, for `to`'s
   * `receiveSnapshotChunk`. A snapshot goes out as consecutive chunks, in order.
   */
  sendSnapshotChunk?(to: PeerIDT, chunk: SnapshotChunk<StateT>): void | Promise<void>;
  /**
   * A read on this node (`engine.readIndex`) asks how far each member has
   * committed: `nonce`, for every other member's `receiveReadIndexRequest`.
   * Asked again while a quorum has not answered.
   */
  requestReadIndex?(nonce: string): void | Promise<void>;
  /** The answer to `to`'s request `nonce`: for `to`'s `receiveReadIndex`. */
  sendReadIndex?(to: PeerIDT, nonce: string, index: number): void | Promise<void>;
}

/**
 * One piece of a snapshot of the app's state machine: `data` is the
 * characters from `offset` of its JSON text (`size` in all, hashing to
 * `dataDigest`); every chunk carries the value committed at `index` with
 * its certificate, which proves the snapshot ends at a committed entry.
 */
export interface SnapshotChunk<StateT> {
  index: number;
  state: StateT;
  certificate: CommitCertificate;
  dataDigest: string;
  size: number;
  offset: number;
  data: string;
}
