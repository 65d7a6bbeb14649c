import { z } from 'zod';
import { createMembership, membershipIssues, weightOf, type Membership } from '../../guards/quorum';
import { publicKeyObject, type KeyHandle, keyIdOf } from './keys';
import { statementBytes, type StatementKind } from './statement';
import { SignatureVerifier } from './verifier';

/**
 * A commit certificate: a quorum of members' signed confirmations of one
 * value at one attempt of one rank. `signatures[i]` is `signers[i]`'s; the
 * pairs form a set, their order means nothing. It verifies with the
 * members' public keys alone (`verifyCertificate`), no engine needed.
 */
export interface CommitCertificate {
  rank: number;
  attempt: number;
  /** SHA-256 of the committed value's identity, hex. */
  valueDigest: string;
  signers: string[];
  /** Ed25519 signatures, base64, over the `confirmation` statement (`statementBytes`). */
  signatures: string[];
}

/**
 * A lock proof: a quorum of members' signed votes for one value at one
 * attempt, the proof behind a node's lock. Peers that missed some of those
 * votes need it to vote past locks of their own, or to re-propose the value.
 */
export interface LockProof {
  rank: number;
  attempt: number;
  /** The identity of the value voted for. */
  value: string;
  valueDigest: string;
  voters: string[];
  /** Signatures over the `vote` statement, `signatures[i]` being `voters[i]`'s. */
  signatures: string[];
}

/** A member as a verifier sees it: its identity, public key (64 hex) and weight. */
export interface CertificateMember {
  id: string;
  publicKey: string;
  weight?: number;
}

export interface VerifyOptions {
  /** The chain the statements were signed for. Default ''. */
  chainId?: string;
  /** The faulty weight tolerated. Default ⌊(n − 1)/3⌋. */
  faultTolerance?: number;
  /** A verifier to share verdicts with. */
  verifier?: SignatureVerifier;
}

export type CertificateVerdict =
  | { valid: true; weight: number; quorum: number }
  | { valid: false; reason: string; signer?: string };

const MAX_SIGNERS = 65_536;
const digest = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters');
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const names = z.array(z.string().min(1).max(512)).min(1).max(MAX_SIGNERS);
const signatures = z.array(z.string().max(128)).min(1).max(MAX_SIGNERS);

export const commitCertificateSchema = z
  .object({ rank: count, attempt: z.number().int().min(0).max(0xffffffff), valueDigest: digest, signers: names, signatures })
  .strict();
export const lockProofSchema = z
  .object({
    rank: count,
    attempt: z.number().int().min(0).max(0xffffffff),
    value: z.string().min(1).max(512),
    valueDigest: digest,
    voters: names,
    signatures,
  })
  .strict();

/** The members' keys and weights, checked once; what `verifySigned` weighs against. */
export interface MemberKeys {
  membership: Membership;
  keys: ReadonlyMap<string, KeyHandle>;
}

/** Members as a verifier needs them. Throws `RangeError` naming what is wrong. */
export function memberKeys(members: readonly CertificateMember[], faultTolerance?: number): MemberKeys {
  const weighted = members.map(({ id, weight }) => ({ id, weight: weight ?? 1 }));
  const issues = membershipIssues(weighted, faultTolerance);
  if (issues.length > 0) throw new RangeError(issues.join('; '));
  const keys = new Map<string, KeyHandle>();
  const holders = new Map<string, string>();
  for (const { id, publicKey } of members) {
    let key: KeyHandle;
    try {
      key = publicKeyObject(publicKey);
    } catch (error) {
      throw new RangeError(`member ${id}: ${(error as Error).message}`);
    }
    const hex = keyIdOf(key);
    const other = holders.get(hex);
    // One key for two members would count its holder twice toward a quorum.
    if (other !== undefined) throw new RangeError(`members ${other} and ${id} have one publicKey`);
    holders.set(hex, id);
    keys.set(id, key);
  }
  return { membership: createMembership(weighted, faultTolerance), keys };
}

/**
 * Checks a quorum of signed statements of one kind: every signer a distinct
 * member, every signature that member's over the statement, and their
 * weight a quorum. The first fault found is the verdict.
 */
export function verifySigned(
  what: { kind: StatementKind; rank: number; attempt: number; valueDigest: string; signers: readonly string[]; signatures: readonly string[] },
  members: MemberKeys,
  chainId: string,
  verifier: SignatureVerifier,
): CertificateVerdict {
  const { signers, signatures: signed } = what;
  if (signers.length !== signed.length) return { valid: false, reason: `${signers.length} signers but ${signed.length} signatures` };
  let statement: Uint8Array;
  try {
    statement = statementBytes({ chainId, kind: what.kind, rank: what.rank, attempt: what.attempt, valueDigest: what.valueDigest });
  } catch (error) {
    return { valid: false, reason: `no member could sign it: ${(error as Error).message}` };
  }
  const seen = new Set<string>();
  let weight = 0;
  for (let i = 0; i < signers.length; i += 1) {
    const signer = signers[i];
    if (seen.has(signer)) return { valid: false, reason: `${signer} is named twice`, signer };
    seen.add(signer);
    const key = members.keys.get(signer);
    if (key === undefined) return { valid: false, reason: `${signer} is not a member`, signer };
    if (!verifier.verify(key, statement, signed[i])) return { valid: false, reason: `${signer}'s signature does not verify`, signer };
    weight += weightOf(members.membership, signer);
  }
  const { quorum } = members.membership;
  if (weight < quorum) return { valid: false, reason: `the signers weigh ${weight}, short of the quorum of ${quorum}` };
  return { valid: true, weight, quorum };
}

/**
 * Whether `certificate` proves a commit: needs only the members' public
 * keys (and weights, if not all 1). Never throws on a malformed
 * certificate: the verdict says what is wrong.
 */
export function verifyCertificate(certificate: unknown, members: readonly CertificateMember[], options: VerifyOptions = {}): CertificateVerdict {
  let check: (certificate: unknown) => CertificateVerdict;
  try {
    check = certificateVerifier(members, options);
  } catch (error) {
    return { valid: false, reason: `unusable members: ${(error as Error).message}` };
  }
  return check(certificate);
}

/**
 * `verifyCertificate` for many certificates of one cluster (a whole log):
 * the members' keys are read once, not on every call, which over a log costs
 * more than the signatures. Throws `RangeError` on unusable members; the
 * function it returns never throws.
 */
export function certificateVerifier(members: readonly CertificateMember[], options: VerifyOptions = {}): (certificate: unknown) => CertificateVerdict {
  const keys = memberKeys(members, options.faultTolerance);
  const verifier = options.verifier ?? new SignatureVerifier();
  const chainId = options.chainId ?? '';
  return (certificate) => {
    const parsed = commitCertificateSchema.safeParse(certificate);
    if (!parsed.success) return { valid: false, reason: `malformed certificate: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}` };
    return verifySigned({ kind: 'confirmation', ...parsed.data }, keys, chainId, verifier);
  };
}
