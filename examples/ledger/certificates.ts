import { DEFAULT_ATTEMPT_WINDOW } from '../../engine/createConsensusEngine';
import { ConsensusInputError } from '../../engine/errors';
import type { ConsensusClock } from '../../providers/clock';
import { SignatureBook } from './SignatureBook';
import { frameOnce, signedVote, trustedAsSent, type SignedVoteFields } from './messageReading';
import { rankOfMessage, type LedgerMessage } from './messages';
import type { DeliveryOutcome, LedgerNodeStats, LedgerRounds, UnsafeRoundRule } from './nodeTypes';
import { confirmationPayload, votePayload, type Keyring } from './signing';
import { LedgerFrame, LedgerPeer, LedgerVote } from './types';

/** Where a signed vote or confirmation is kept in a `SignatureBook`, within its height. */
const signedKey = (attempt: number, frameHash: string) => `${attempt}|${frameHash}`;

/** What the signature bookkeeping needs of the node it serves. */
export interface CertificateHost {
  readonly members: readonly string[];
  readonly clock: ConsensusClock;
  readonly stats: LedgerNodeStats;
  readonly resendMs: number;
  readonly rankWindow: number;
  readonly unsafeRule: UnsafeRoundRule | undefined;
  inWindow(height: unknown): height is number;
  /** Whether these members weigh a quorum, by the engine's count. */
  weighsQuorum(signers: Iterable<string>): boolean;
  requireEngine(): LedgerRounds;
  send(to: string, message: LedgerMessage): void;
  /** Re-sent with the height's messages while it is undecided. */
  keepForResend(rank: number, key: string, message: LedgerMessage): void;
}

/**
 * A ledger node's signed votes and confirmations: checking a peer's
 * signatures, keeping them by height, and passing them on as lock proofs
 * (2f + 1 signed votes behind a lock) and commit certificates (2f + 1 signed
 * confirmations behind a commit), and accepting those from peers.
 */
export class Certificates {
  /** Signed confirmations by height, then `attempt|frame`, then signer. */
  private readonly confirmationSignatures: SignatureBook<string>;
  /** Signed votes for frames by height, then `attempt|frame`, then voter: the stuff of lock proofs. */
  private readonly voteSignatures: SignatureBook<{ proposer: string; signature: string }>;
  /** Commit certificates of the last heights this node finalized, and when, for peers still deciding them. */
  private readonly certificates = new Map<number, { message: LedgerMessage & { kind: 'certificate' }; at: number }>();
  /** When each peer was last sent the certificate of a height. */
  private readonly certificateSent = new Map<string, number>();

  constructor(
    private readonly host: CertificateHost,
    private readonly keyring: Keyring,
  ) {
    // Room for every member's key in each attempt the engine keeps, twice over.
    const keysPerHeight = host.members.length * 2 * (2 * DEFAULT_ATTEMPT_WINDOW + 1);
    this.confirmationSignatures = new SignatureBook(keysPerHeight);
    this.voteSignatures = new SignatureBook(keysPerHeight);
  }

  /** A confirmation must carry its sender's signature, or nobody could pass it on. */
  unsigned(from: string, m: LedgerMessage & { kind: 'confirmation' }, frame: LedgerFrame | null): 'forged' | undefined {
    const attempt = m.attempt ?? 0;
    if (frame === null || !Number.isSafeInteger(attempt)) return undefined;
    const payload = confirmationPayload(from, frame.height, attempt as number, frame.hash);
    if (this.keyring.verify(from, payload, m.signature)) return undefined;
    this.host.stats.forged += 1;
    return 'forged';
  }

  keepSignature(origin: string, frame: LedgerFrame, attempt: number | undefined, signature: string): void {
    if (this.host.inWindow(frame.height)) this.confirmationSignatures.add(frame.height, signedKey(attempt ?? 0, frame.hash), origin, signature);
  }

  /**
   * A vote must name the frame it endorses and carry its voter's signature
   * over it, or it could not go into a lock proof. Votes too malformed to
   * read are left to the engine, which says why it refuses them.
   */
  unsignedVote(from: string, m: LedgerMessage & { kind: 'vote' }, signed: SignedVoteFields | null): 'forged' | undefined {
    if (signed === null) return undefined;
    const { height, attempt, proposer, frame } = signed;
    if (frame !== null && this.keyring.verify(from, votePayload(from, height, attempt, proposer, frame), m.signature)) return undefined;
    this.host.stats.forged += 1;
    return 'forged';
  }

  keepVoteSignature(from: string, m: LedgerMessage & { kind: 'vote' }, signed = signedVote(m)): void {
    if (signed === null || signed.frame === null || !this.host.inWindow(signed.height) || typeof m.signature !== 'string') return;
    this.voteSignatures.add(signed.height, signedKey(signed.attempt, signed.frame), from, { proposer: signed.proposer, signature: m.signature });
  }

  /**
   * This node locked on `frame` in `attempt`: the 2f + 1 signed votes behind
   * the lock go out with the height's re-sends. Only a height still undecided
   * after a resend period needs them, and most heights commit sooner: sending
   * every proof at once would cost each peer O(n) signature checks per lock.
   */
  publishLockProof(frame: LedgerFrame, attempt: number): void {
    const signers = this.voteSignatures.signers(frame.height, signedKey(attempt, frame.hash));
    if (!this.host.weighsQuorum(signers.keys())) return;
    const votes = [...signers].map(([origin, { proposer, signature }]) => ({ origin, proposer, signature }));
    this.host.keepForResend(frame.height, 'lock_proof', { kind: 'lock_proof', rank: frame.height, attempt, frame: frame.hash, votes });
  }

  /**
   * Every signature checked; then the proof goes to the engine whole, which
   * weighs its voters itself and counts them for the frame even where it
   * holds another vote from one of them (an equivocator's), and each vote
   * goes in as if its voter sent it.
   */
  acceptLockProof(m: LedgerMessage & { kind: 'lock_proof' }): DeliveryOutcome {
    const { rank, attempt, frame, votes } = m;
    if (!this.host.inWindow(rank) || !Number.isSafeInteger(attempt) || (attempt as number) < 0 || typeof frame !== 'string') return 'ignored';
    if (!Array.isArray(votes) || votes.length > this.host.members.length) return 'ignored';
    const valid = new Map<string, { proposer: string; signature: string }>();
    const key = signedKey(attempt as number, frame);
    const held = this.voteSignatures.signers(rank, key);
    for (const entry of votes as unknown[]) {
      const { origin, proposer, signature } = (entry ?? {}) as { origin?: unknown; proposer?: unknown; signature?: unknown };
      if (typeof origin !== 'string' || typeof proposer !== 'string') return 'forged';
      // A signature this node already checked (the very same) need not be checked again.
      const known = held.get(origin);
      const checked = known !== undefined && known.signature === signature && known.proposer === proposer;
      if (!checked && !this.keyring.verify(origin, votePayload(origin, rank, attempt as number, proposer, frame), signature)) return 'forged';
      valid.set(origin, { proposer, signature: signature as string });
    }
    if (!this.host.weighsQuorum(valid.keys())) return 'ignored';
    const engine = this.host.requireEngine();
    const outcome = engine.receiveLockProof({ rank, attempt: attempt as number, value: frame, voters: [...valid.keys()] });
    for (const [origin, signed] of valid) {
      this.voteSignatures.add(rank, key, origin, signed);
      const vote = new LedgerVote(rank, origin, signed.proposer, frame);
      try {
        engine.receiveVote(new LedgerPeer(signed.proposer), new LedgerPeer(origin), vote, { attempt: attempt as number, proposal: frame });
      } catch (error) {
        if (!(error instanceof ConsensusInputError)) throw error;
      }
    }
    return outcome;
  }

  /** Keeps the signed confirmations that committed `frame`, to hand to stragglers. */
  keepCertificate(frame: LedgerFrame, attempt: number): void {
    const signers = this.confirmationSignatures.signers(frame.height, signedKey(attempt, frame.hash));
    if (!this.host.weighsQuorum(signers.keys())) return;
    const signatures = [...signers].map(([origin, signature]) => ({ origin, signature }));
    const message = { kind: 'certificate' as const, rank: frame.height, attempt, state: frame, signatures };
    this.certificates.set(frame.height, { message, at: this.host.clock.now() });
    for (const height of [...this.certificates.keys()]) if (height < frame.height - this.host.rankWindow) this.certificates.delete(height);
  }

  /**
   * A peer is still deciding a height this node finalized. If a Byzantine
   * node confirmed only to some, the rest can never gather 2f + 1
   * confirmations on their own; the certificate carries them. Not at once:
   * what arrives within half a resend period of this node's commit is mostly
   * the height's own late traffic from peers about to commit, and a peer
   * still undecided re-sends every resend period, so it hears soon enough.
   */
  helpStraggler(from: string, m: LedgerMessage): void {
    if (!this.host.members.includes(from)) return;
    const rank = rankOfMessage(m);
    const kept = rank === null ? undefined : this.certificates.get(rank);
    if (kept === undefined || this.host.clock.now() - kept.at < this.host.resendMs / 2) return;
    const certificate = kept.message;
    const key = `${from}|${rank}`;
    const last = this.certificateSent.get(key);
    if (last !== undefined && this.host.clock.now() - last < this.host.resendMs) return;
    this.certificateSent.set(key, this.host.clock.now());
    if (this.certificateSent.size > this.host.members.length * this.host.rankWindow) {
      for (const [old, at] of this.certificateSent) if (this.host.clock.now() - at >= this.host.resendMs) this.certificateSent.delete(old);
    }
    this.host.send(from, certificate);
  }

  /** Every signature checked, then the certificate goes to the engine, which weighs its signers itself. */
  acceptCertificate(m: LedgerMessage & { kind: 'certificate' }): DeliveryOutcome {
    const { attempt, signatures } = m;
    // Checked, kept and handed to the engine as one copy: a relayer's frame cannot change between them.
    const state = this.host.unsafeRule === 'read-twice' ? trustedAsSent(m.state) : frameOnce(m.state);
    if (state === null || !state.isWellFormed() || state.height !== m.rank || !this.host.inWindow(state.height)) {
      return 'ignored';
    }
    if (!Number.isSafeInteger(attempt) || (attempt as number) < 0 || !Array.isArray(signatures)) return 'ignored';
    if (signatures.length > this.host.members.length) return 'ignored';
    const valid = new Map<string, string>();
    for (const entry of signatures as unknown[]) {
      const { origin, signature } = (entry ?? {}) as { origin?: unknown; signature?: unknown };
      const payload = typeof origin === 'string' ? confirmationPayload(origin, state.height, attempt as number, state.hash) : '';
      if (typeof origin !== 'string' || !this.keyring.verify(origin, payload, signature)) return 'forged';
      valid.set(origin, signature as string);
    }
    if (!this.host.weighsQuorum(valid.keys())) return 'ignored';
    for (const [origin, signature] of valid) this.keepSignature(origin, state, attempt as number, signature);
    return this.host.requireEngine().receiveCommitCertificate(state, { attempt: attempt as number, signers: [...valid.keys()] });
  }

  /**
   * The `commit-on-votes` breakage: the node hands its own engine the voters
   * behind its lock as if they had confirmed, so it commits on votes alone.
   */
  commitOnVotes(frame: LedgerFrame, attempt: number): void {
    const voters = [...this.voteSignatures.signers(frame.height, signedKey(attempt, frame.hash)).keys()];
    try {
      this.host.requireEngine().receiveCommitCertificate(frame, { attempt, signers: voters });
    } catch (error) {
      if (!(error instanceof ConsensusInputError)) throw error;
    }
  }

  /** Forgets the signatures of every height up to `height`: finalized, nothing left to pass on. */
  dropThrough(height: number): void {
    this.confirmationSignatures.dropThrough(height);
    this.voteSignatures.dropThrough(height);
  }
}
