import { createHash, createPublicKey, verify } from 'node:crypto';
import { keyPairFromSeed } from '../../engine/signing/keys';
import {
  MAX_CHAIN_ID_BYTES,
  NIL_DIGEST,
  STATEMENT_DOMAIN,
  STATEMENT_KINDS,
  signStatement,
  statementBytes,
  valueDigestOf,
  type Statement,
  type StatementKind,
} from '../../engine/signing/statement';
import { flipBase64, flipHex, seedOf } from './fixtures';

/** Big-endian unsigned bytes of `value`, `width` bytes wide, by arithmetic alone. */
function bigEndian(value: number, width: number): number[] {
  const out: number[] = [];
  let rest = BigInt(value);
  for (let i = 0; i < width; i += 1) {
    out.unshift(Number(rest % 256n));
    rest /= 256n;
  }
  if (rest !== 0n) throw new Error(`${value} does not fit ${width} bytes`);
  return out;
}

/** The documented layout, built here from the doc comment of statement.ts, not from the module. */
function expectedBytes(chainId: string, kindCode: number, rank: number, attempt: number, digestHex: string): Buffer {
  const domain = [...'statechart-consensus/v1'].map((c) => c.charCodeAt(0));
  const chain = [...new TextEncoder().encode(chainId)];
  const digest: number[] = [];
  for (let i = 0; i < 64; i += 2) digest.push(parseInt(digestHex.slice(i, i + 2), 16));
  return Buffer.from([...domain, kindCode, ...bigEndian(chain.length, 2), ...chain, ...bigEndian(rank, 8), ...bigEndian(attempt, 4), ...digest]);
}

const DOCUMENTED_KINDS: ReadonlyArray<[StatementKind, number]> = [
  ['vote', 1],
  ['nil_vote', 2],
  ['confirmation', 3],
  ['nil_confirmation', 4],
];

const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** A third party's public key object, built from the 64-hex public key with nothing of the module. */
function thirdPartyKey(publicKeyHex: string) {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, Buffer.from(publicKeyHex, 'hex')]), format: 'der', type: 'spki' });
}

const digestOfAbc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';

const base: Statement = { chainId: 'main', kind: 'vote', rank: 7, attempt: 2, valueDigest: valueDigestOf('value-1') };

describe('statementBytes layout', () => {
  it('uses the documented domain and kind codes', () => {
    expect(STATEMENT_DOMAIN).toBe('statechart-consensus/v1');
    expect(Buffer.byteLength(STATEMENT_DOMAIN, 'ascii')).toBe(23);
    expect(STATEMENT_KINDS).toEqual({ vote: 1, nil_vote: 2, confirmation: 3, nil_confirmation: 4 });
    expect(MAX_CHAIN_ID_BYTES).toBe(1024);
    expect(NIL_DIGEST).toBe('0'.repeat(64));
  });

  const chains = ['', 'chaîne-链-🚀'];
  const ranks = [0, Number.MAX_SAFE_INTEGER];
  const attempts = [0, 2 ** 32 - 1];
  const cases: Array<[StatementKind, number, string, number, number]> = [];
  for (const [kind, code] of DOCUMENTED_KINDS) {
    for (const chain of chains) for (const rank of ranks) for (const attempt of attempts) cases.push([kind, code, chain, rank, attempt]);
  }

  it.each(cases)('lays out %s (code %i) for chain %j, rank %d, attempt %d byte for byte', (kind, code, chainId, rank, attempt) => {
    const valueDigest = kind.startsWith('nil') ? NIL_DIGEST : digestOfAbc;
    const actual = statementBytes({ chainId, kind, rank, attempt, valueDigest });
    const expected = expectedBytes(chainId, code, rank, attempt, valueDigest);
    expect(actual).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(actual).toString('hex')).toBe(expected.toString('hex'));
  });

  it('puts the UTF-8 byte length, not the character count, in the chain length field', () => {
    const chainId = 'chaîne-链-🚀';
    const bytes = Buffer.from(statementBytes({ ...base, chainId }));
    expect(chainId.length).not.toBe(Buffer.byteLength(chainId, 'utf8'));
    expect(bytes.readUInt16BE(24)).toBe(Buffer.byteLength(chainId, 'utf8'));
    expect(bytes.length).toBe(23 + 1 + 2 + Buffer.byteLength(chainId, 'utf8') + 8 + 4 + 32);
  });

  it('writes a mid-range rank and attempt in every byte', () => {
    const rank = 0x0012_3456_789a_bcde;
    const attempt = 0x89ab_cdef;
    const actual = statementBytes({ ...base, rank, attempt });
    expect(Buffer.from(actual).equals(expectedBytes('main', 1, rank, attempt, base.valueDigest))).toBe(true);
  });

  it('accepts a chain id of exactly 1024 bytes', () => {
    const chainId = '€'.repeat(341) + 'a'; // 341 × 3 + 1 = 1024 bytes
    expect(Buffer.byteLength(chainId, 'utf8')).toBe(1024);
    const bytes = Buffer.from(statementBytes({ ...base, chainId }));
    expect(bytes.readUInt16BE(24)).toBe(1024);
    expect(bytes.equals(expectedBytes(chainId, 1, base.rank, base.attempt, base.valueDigest))).toBe(true);
  });

  it('gives different bytes for statements differing in any one field', () => {
    const variants: Statement[] = [
      base,
      { ...base, chainId: 'mainx' },
      { ...base, kind: 'confirmation' },
      { ...base, rank: base.rank + 1 },
      { ...base, attempt: base.attempt + 1 },
      { ...base, valueDigest: flipHex(base.valueDigest, 63) },
    ];
    const encoded = new Set(variants.map((statement) => Buffer.from(statementBytes(statement)).toString('hex')));
    expect(encoded.size).toBe(variants.length);
  });
});

describe('statementBytes refusals', () => {
  it('refuses a chain id over 1024 bytes, counted in UTF-8', () => {
    expect(() => statementBytes({ ...base, chainId: 'a'.repeat(1025) })).toThrow(RangeError);
    // 342 characters, 1026 bytes.
    expect(() => statementBytes({ ...base, chainId: '€'.repeat(342) })).toThrow(RangeError);
  });

  it.each([-1, 1.5, Number.MAX_SAFE_INTEGER + 1, 2 ** 64, Number.NaN, Number.POSITIVE_INFINITY, -0.5])('refuses rank %p', (rank) => {
    expect(() => statementBytes({ ...base, rank })).toThrow(RangeError);
  });

  it.each([2 ** 32, 2 ** 32 + 1, -1, 0.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses attempt %p', (attempt) => {
    expect(() => statementBytes({ ...base, attempt })).toThrow(RangeError);
  });

  it.each([
    ['uppercase', digestOfAbc.toUpperCase()],
    ['one uppercase letter', `B${digestOfAbc.slice(1)}`],
    ['short', digestOfAbc.slice(0, 62)],
    ['long', `${digestOfAbc}00`],
    ['non-hex', 'g'.repeat(64)],
    ['empty', ''],
  ])('refuses a %s digest', (_, valueDigest) => {
    expect(() => statementBytes({ ...base, valueDigest })).toThrow(RangeError);
  });

  it.each(['commit', 'VOTE', '', '5'])('refuses unknown kind %j', (kind) => {
    expect(() => statementBytes({ ...base, kind: kind as StatementKind })).toThrow(RangeError);
  });

  // A plain lookup would read these off Object.prototype and lay them out with
  // kind byte 0.
  it.each(['toString', '__proto__', 'constructor', 'valueOf', 'hasOwnProperty'])('refuses the inherited property name %j as a kind', (kind) => {
    expect(() => statementBytes({ ...base, kind: kind as StatementKind })).toThrow(RangeError);
  });
});

describe('valueDigestOf', () => {
  it('matches the SHA-256 test vector for "abc"', () => {
    expect(valueDigestOf('abc')).toBe(digestOfAbc);
  });

  it.each(['', 'abc', 'value-1', 'é', 'chaîne-链-🚀', 'x'.repeat(10_000)])('is SHA-256 hex of the UTF-8 of %#', (identity) => {
    const expected = createHash('sha256').update(Buffer.from(new TextEncoder().encode(identity))).digest('hex');
    expect(valueDigestOf(identity)).toBe(expected);
    expect(valueDigestOf(identity)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('hashes UTF-8, not Latin-1', () => {
    expect(valueDigestOf('é')).toBe(createHash('sha256').update(Buffer.from([0xc3, 0xa9])).digest('hex'));
    expect(valueDigestOf('é')).not.toBe(createHash('sha256').update(Buffer.from([0xe9])).digest('hex'));
  });
});

describe('signStatement verified by a third party', () => {
  const pair = keyPairFromSeed(seedOf(1, 'statement'));
  const publicKey = thirdPartyKey(pair.publicKey);
  const statement: Statement = { chainId: 'chaîne-1', kind: 'confirmation', rank: 12, attempt: 3, valueDigest: valueDigestOf('block 12') };
  const signature = signStatement(pair.privateKey, statement);

  const thirdPartyVerifies = (s: Statement, sig = signature) => verify(null, statementBytes(s), publicKey, Buffer.from(sig, 'base64'));

  it('signs a 64-byte Ed25519 signature in 88 base64 characters', () => {
    expect(signature).toMatch(/^[A-Za-z0-9+/]{86}==$/);
    expect(Buffer.from(signature, 'base64')).toHaveLength(64);
  });

  it('verifies with plain node:crypto and the SPKI built from the hex key', () => {
    expect(thirdPartyVerifies(statement)).toBe(true);
  });

  it('verifies over the independently laid-out bytes', () => {
    const bytes = expectedBytes(statement.chainId, 3, statement.rank, statement.attempt, statement.valueDigest);
    expect(verify(null, bytes, publicKey, Buffer.from(signature, 'base64'))).toBe(true);
  });

  it('is deterministic for one key and statement', () => {
    expect(signStatement(pair.privateKey, statement)).toBe(signature);
    expect(signStatement(Buffer.from(pair.privateKey, 'hex'), statement)).toBe(signature);
  });

  it.each<[string, Statement]>([
    ['chainId', { ...statement, chainId: 'chaîne-2' }],
    ['chainId (empty)', { ...statement, chainId: '' }],
    ['kind (to vote)', { ...statement, kind: 'vote' }],
    ['kind (to nil_vote)', { ...statement, kind: 'nil_vote' }],
    ['kind (to nil_confirmation)', { ...statement, kind: 'nil_confirmation' }],
    ['rank', { ...statement, rank: 13 }],
    ['attempt', { ...statement, attempt: 4 }],
    ['valueDigest (first char)', { ...statement, valueDigest: flipHex(statement.valueDigest, 0) }],
    ['valueDigest (last char)', { ...statement, valueDigest: flipHex(statement.valueDigest, 63) }],
    ['valueDigest (nil)', { ...statement, valueDigest: NIL_DIGEST }],
  ])('fails verification once the %s changes', (_, changed) => {
    expect(thirdPartyVerifies(changed)).toBe(false);
  });

  it('fails verification with a flipped signature or another key', () => {
    expect(thirdPartyVerifies(statement, flipBase64(signature, 0))).toBe(false);
    expect(thirdPartyVerifies(statement, flipBase64(signature, 85))).toBe(false);
    const other = keyPairFromSeed(seedOf(2, 'statement'));
    expect(verify(null, statementBytes(statement), thirdPartyKey(other.publicKey), Buffer.from(signature, 'base64'))).toBe(false);
  });

  it('refuses to sign a statement statementBytes refuses', () => {
    expect(() => signStatement(pair.privateKey, { ...statement, rank: -1 })).toThrow(RangeError);
  });
});
