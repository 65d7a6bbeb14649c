import { keyIdOf, verifyBytes, type KeyHandle } from './keys';

/** Verdicts a verifier keeps by default. */
export const DEFAULT_VERDICT_CACHE = 4096;

/**
 * Checks Ed25519 signatures and remembers the verdicts, by public key,
 * statement and signature (by key, not by member name: two engines that know
 * one name by different keys never share a verdict): a vote heard directly, then again in a lock proof, then in a
 * certificate is checked once. Engines of one process may share one verifier
 * (a simulator's cluster does), so each signature is checked once per
 * process. Bounded: the oldest verdict makes room, so a flood of forgeries
 * costs time, not memory.
 */
export class SignatureVerifier {
  private readonly verdicts = new Map<string, boolean>();
  private checks = 0;

  constructor(private readonly maxVerdicts = DEFAULT_VERDICT_CACHE) {}

  /** Whether `signature` is `key`'s over `statement`. Never throws. */
  verify(key: KeyHandle, statement: Uint8Array, signature: unknown): boolean {
    if (typeof signature !== 'string') return false;
    let signer: string;
    try {
      signer = keyIdOf(key);
    } catch {
      return false;
    }
    // Unambiguous and cheap: the key's 64 hex characters, the statement's length
    // and bytes (one character each), then the signature, whatever it holds.
    const bytes = Buffer.from(statement.buffer, statement.byteOffset, statement.byteLength);
    const asked = `${signer}${bytes.length}:${bytes.toString('latin1')}${signature}`;
    const known = this.verdicts.get(asked);
    if (known !== undefined) {
      // Refreshed: a verdict in use stays.
      this.verdicts.delete(asked);
      this.verdicts.set(asked, known);
      return known;
    }
    this.checks += 1;
    const verdict = verifyBytes(key, statement, signature);
    if (this.verdicts.size >= this.maxVerdicts) this.verdicts.delete(this.verdicts.keys().next().value as string);
    this.verdicts.set(asked, verdict);
    return verdict;
  }

  /** Verdicts held (at most the bound given at construction). */
  get cachedVerdicts(): number {
    return this.verdicts.size;
  }

  /** Ed25519 verifications actually run (cache misses). */
  get verifications(): number {
    return this.checks;
  }
}
