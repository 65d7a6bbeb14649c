import type { StatementKind } from './statement';

/**
 * The signatures an engine holds for statements of undecided ranks: its own
 * and every peer's it verified, by statement, then signer. From them it builds
 * the lock proof behind its lock and the certificate behind its commit.
 * Bounded by what admission bounds: only admitted messages (one per member,
 * kind and attempt kept, per rank in the window) and verified certificates
 * come here, and a rank is forgotten once decided.
 */
export class SignatureBook {
  private readonly byStatement = new Map<string, Map<string, string>>();
  private readonly keysByRank = new Map<number, Set<string>>();

  private static key(kind: StatementKind, rank: number, attempt: number, valueDigest: string): string {
    return `${kind}|${rank}|${attempt}|${valueDigest}`;
  }

  /** Keeps `signer`'s signature; the first one per signer and statement stays. */
  add(kind: StatementKind, rank: number, attempt: number, valueDigest: string, signer: string, signature: string): void {
    const key = SignatureBook.key(kind, rank, attempt, valueDigest);
    let signers = this.byStatement.get(key);
    if (signers === undefined) {
      this.byStatement.set(key, (signers = new Map()));
      let keys = this.keysByRank.get(rank);
      if (keys === undefined) this.keysByRank.set(rank, (keys = new Set()));
      keys.add(key);
    }
    if (!signers.has(signer)) signers.set(signer, signature);
  }

  /** The signers of a statement, with their signatures. */
  signers(kind: StatementKind, rank: number, attempt: number, valueDigest: string): ReadonlyMap<string, string> {
    return this.byStatement.get(SignatureBook.key(kind, rank, attempt, valueDigest)) ?? new Map();
  }

  /** Forgets every rank up to `rank`: decided, nothing left to prove. */
  dropThrough(rank: number): void {
    for (const [held, keys] of this.keysByRank) {
      if (held > rank) continue;
      for (const key of keys) this.byStatement.delete(key);
      this.keysByRank.delete(held);
    }
  }

  /** Signatures held, for bounds checks. */
  get size(): number {
    let total = 0;
    for (const signers of this.byStatement.values()) total += signers.size;
    return total;
  }
}
