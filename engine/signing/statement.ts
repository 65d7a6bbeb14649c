import { createHash } from 'node:crypto';
import { privateKeyObject, signBytes, type PrivateKeyInput } from './keys';

/**
 * What a member's signature covers: one statement, laid out byte for byte so
 * that anyone with the member's public key can check it with their own
 * Ed25519 code (README, "What a signature covers"):
 *
 *   domain       23 bytes  ASCII "statechart-consensus/v1"
 *   kind          1 byte   1 vote, 2 nil vote, 3 confirmation, 4 nil confirmation
 *   chain length  2 bytes  big-endian byte length of the chain id (≤ 1024)
 *   chain id      n bytes  UTF-8
 *   rank          8 bytes  big-endian unsigned
 *   attempt       4 bytes  big-endian unsigned
 *   value digest 32 bytes  SHA-256 of the value's identity (UTF-8); zeros for nil
 *
 * The signature is Ed25519 over these bytes as they are (no prehash).
 */
export const STATEMENT_DOMAIN = 'statechart-consensus/v1';
export const MAX_CHAIN_ID_BYTES = 1024;

export const STATEMENT_KINDS = { vote: 1, nil_vote: 2, confirmation: 3, nil_confirmation: 4 } as const;
export type StatementKind = keyof typeof STATEMENT_KINDS;

export interface Statement {
  chainId: string;
  kind: StatementKind;
  rank: number;
  attempt: number;
  /** 64 hex characters: `valueDigestOf(identity)`, or `NIL_DIGEST`. */
  valueDigest: string;
}

/** The value digest of nil votes and nil confirmations. */
export const NIL_DIGEST = '0'.repeat(64);

/** SHA-256 of a value's identity, hex: what a statement names the value by. */
export function valueDigestOf(identity: string): string {
  return createHash('sha256').update(identity, 'utf8').digest('hex');
}

const DOMAIN = Buffer.from(STATEMENT_DOMAIN, 'ascii');
const DIGEST = /^[0-9a-f]{64}$/;

/** The exact bytes signed for `statement`. Throws `RangeError` on a statement no member could sign. */
export function statementBytes({ chainId, kind, rank, attempt, valueDigest }: Statement): Uint8Array {
  const chain = Buffer.from(chainId, 'utf8');
  if (chain.length > MAX_CHAIN_ID_BYTES) throw new RangeError(`chain id takes more than ${MAX_CHAIN_ID_BYTES} bytes`);
  if (!Number.isSafeInteger(rank) || rank < 0) throw new RangeError('rank must be a non-negative safe integer');
  if (!Number.isInteger(attempt) || attempt < 0 || attempt > 0xffffffff) throw new RangeError('attempt must fit 32 bits');
  if (!DIGEST.test(valueDigest)) throw new RangeError('valueDigest must be 64 lowercase hex characters');
  // Own names only: `kind` may come off the wire, and 'toString' is no kind.
  const code = Object.hasOwn(STATEMENT_KINDS, kind) ? STATEMENT_KINDS[kind] : undefined;
  if (code === undefined) throw new RangeError(`unknown statement kind ${String(kind)}`);
  const bytes = Buffer.alloc(DOMAIN.length + 1 + 2 + chain.length + 8 + 4 + 32);
  let at = DOMAIN.copy(bytes, 0);
  at = bytes.writeUInt8(code, at);
  at = bytes.writeUInt16BE(chain.length, at);
  at += chain.copy(bytes, at);
  at = bytes.writeBigUInt64BE(BigInt(rank), at);
  at = bytes.writeUInt32BE(attempt, at);
  Buffer.from(valueDigest, 'hex').copy(bytes, at);
  return bytes;
}

/** `key`'s signature over `statement` (base64): what an engine attaches to its own votes and confirmations. */
export function signStatement(key: PrivateKeyInput, statement: Statement): string {
  return signBytes(privateKeyObject(key), statementBytes(statement));
}
