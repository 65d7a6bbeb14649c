import { weightOf } from '../../guards/quorum';
import type { CommitCertificate, LockProof, MemberKeys } from './certificate';
import { publicKeyHex, signBytes, type KeyHandle } from './keys';
import { SignatureBook } from './signatureBook';
import { statementBytes, valueDigestOf, type StatementKind } from './statement';
import type { SignatureVerifier } from './verifier';

/**
 * One engine's signatures: it signs its own votes and confirmations, checks
 * every peer's before admission, keeps them for undecided ranks, and builds
 * from them the lock proof behind its lock and the certificate behind each
 * commit. The app never sees a key, only signatures to carry.
 */
export class EngineSigning {
  readonly book = new SignatureBook();
  /** This node's public key, hex. */
  readonly publicKey: string;
  /**
   * The members' keys and weights at a rank: `members` unless the membership
   * changes through the log, in which case the engine's history answers.
   */
  membersAt: (rank: number) => MemberKeys = () => this.members;

  constructor(
    readonly self: string,
    private readonly privateKey: KeyHandle,
    readonly chainId: string,
    readonly members: MemberKeys,
    readonly verifier: SignatureVerifier,
  ) {
    this.publicKey = publicKeyHex(privateKey);
  }

  /** Signs this node's statement (once: asked again, it gives the same signature) and keeps it. */
  signOwn(kind: StatementKind, rank: number, attempt: number, valueDigest: string): string {
    const held = this.book.signers(kind, rank, attempt, valueDigest).get(this.self);
    if (held !== undefined) return held;
    const signature = signBytes(this.privateKey, statementBytes({ chainId: this.chainId, kind, rank, attempt, valueDigest }));
    this.book.add(kind, rank, attempt, valueDigest, this.self, signature);
    return signature;
  }

  /** Whether `signature` is `signer`'s over the statement; never throws. */
  check(signer: string, kind: StatementKind, rank: number, attempt: number, valueDigest: string, signature: unknown): boolean {
    const key = this.membersAt(rank).keys.get(signer);
    if (key === undefined) return false;
    let statement: Uint8Array;
    try {
      statement = statementBytes({ chainId: this.chainId, kind, rank, attempt, valueDigest });
    } catch {
      // A rank or attempt past what the bytes hold: no member signed it.
      return false;
    }
    return this.verifier.verify(key, statement, signature);
  }

  /**
   * A quorum of the book's signers of a statement, fewest first in member
   * order (a certificate need not carry more), or null short of a quorum.
   */
  private quorumOf(kind: StatementKind, rank: number, attempt: number, valueDigest: string): { signers: string[]; signatures: string[] } | null {
    const held = this.book.signers(kind, rank, attempt, valueDigest);
    const { membership } = this.membersAt(rank);
    const signers: string[] = [];
    const signatures: string[] = [];
    let weight = 0;
    for (const id of membership.ids) {
      const signature = held.get(id);
      if (signature === undefined) continue;
      signers.push(id);
      signatures.push(signature);
      weight += weightOf(membership, id);
      if (weight >= membership.quorum) return { signers, signatures };
    }
    return null;
  }

  /** The certificate of a commit of the value `identity` at `attempt`, from the confirmations held. */
  certificate(rank: number, attempt: number, identity: string): CommitCertificate | null {
    const valueDigest = valueDigestOf(identity);
    const quorum = this.quorumOf('confirmation', rank, attempt, valueDigest);
    return quorum === null ? null : { rank, attempt, valueDigest, ...quorum };
  }

  /** The proof behind a lock on the value `identity` at `attempt`, from the votes held. */
  lockProof(rank: number, attempt: number, identity: string): LockProof | null {
    const valueDigest = valueDigestOf(identity);
    const quorum = this.quorumOf('vote', rank, attempt, valueDigest);
    return quorum === null ? null : { rank, attempt, value: identity, valueDigest, voters: quorum.signers, signatures: quorum.signatures };
  }
}
