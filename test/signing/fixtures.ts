import { createHash } from 'node:crypto';
import { keyPairFromSeed, type KeyPairHex } from '../../engine/signing/keys';
import { signStatement, type Statement, type StatementKind } from '../../engine/signing/statement';
import type { CertificateMember, CommitCertificate } from '../../engine/signing/certificate';

/** A 32-byte seed derived from an index: the same index, the same key. */
export function seedOf(index: number, tag = 'member'): Buffer {
  return createHash('sha256').update(`signing test ${tag} ${index}`).digest();
}

export interface TestMember extends CertificateMember {
  privateKey: string;
}

/** n members m0..m(n-1) with keys from `keyPairFromSeed`, each of weight `weights[i]` (1 if not given). */
export function makeMembers(n: number, weights?: readonly number[]): TestMember[] {
  return Array.from({ length: n }, (_, i) => {
    const pair: KeyPairHex = keyPairFromSeed(seedOf(i));
    const member: TestMember = { id: `m${i}`, publicKey: pair.publicKey, privateKey: pair.privateKey };
    if (weights !== undefined) member.weight = weights[i];
    return member;
  });
}

/** Members as a verifier gets them: no private keys. */
export function publicOnly(members: readonly TestMember[]): CertificateMember[] {
  return members.map(({ id, publicKey, weight }) => (weight === undefined ? { id, publicKey } : { id, publicKey, weight }));
}

/** A key pair of someone who is no member. */
export const outsider: KeyPairHex = keyPairFromSeed(seedOf(0, 'outsider'));

export function statementOf(
  chainId: string,
  kind: StatementKind,
  { rank, attempt, valueDigest }: { rank: number; attempt: number; valueDigest: string },
): Statement {
  return { chainId, kind, rank, attempt, valueDigest };
}

/** A certificate signed by `signers` over the `confirmation` statement on `chainId`. */
export function certificateBy(
  signers: readonly TestMember[],
  chainId: string,
  at: { rank: number; attempt: number; valueDigest: string },
): CommitCertificate {
  const statement = statementOf(chainId, 'confirmation', at);
  return {
    rank: at.rank,
    attempt: at.attempt,
    valueDigest: at.valueDigest,
    signers: signers.map((member) => member.id),
    signatures: signers.map((member) => signStatement(member.privateKey, statement)),
  };
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * `signature` with the base64 character at `position` replaced by another
 * that changes the decoded bytes (the string stays well-formed base64).
 * Throws if no such character exists, so a test cannot silently flip nothing.
 */
export function flipBase64(signature: string, position: number): string {
  const decoded = Buffer.from(signature, 'base64');
  for (const replacement of BASE64) {
    if (replacement === signature[position]) continue;
    const flipped = `${signature.slice(0, position)}${replacement}${signature.slice(position + 1)}`;
    if (!Buffer.from(flipped, 'base64').equals(decoded)) return flipped;
  }
  throw new Error(`no flip at ${position} changes the decoded bytes`);
}

/** `hex` with the character at `position` replaced by another lowercase hex digit. */
export function flipHex(hex: string, position: number): string {
  const replacement = hex[position] === '0' ? '1' : '0';
  return `${hex.slice(0, position)}${replacement}${hex.slice(position + 1)}`;
}
