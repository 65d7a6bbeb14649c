import { verify } from 'node:crypto';
import { keyPairFromSeed, publicKeyObject, verifyBytes, type KeyHandle } from '../../engine/signing/keys';
import { signStatement, statementBytes, valueDigestOf, type Statement } from '../../engine/signing/statement';
import { DEFAULT_VERDICT_CACHE, SignatureVerifier } from '../../engine/signing/verifier';
import { seedOf } from './fixtures';

// Ported from the keyring verdict-cache test (test/simulator/keyring.test.ts,
// deleted when the engine took over signing).

const pairs = ['n0', 'n1', 'n2', 'n3'].map((name, i) => ({ name, ...keyPairFromSeed(seedOf(i, 'verifier')) }));
const keyOf = (i: number): KeyHandle => publicKeyObject(pairs[i].publicKey);
const statement: Statement = { chainId: 'keyring', kind: 'vote', rank: 1, attempt: 0, valueDigest: valueDigestOf('frame') };
const bytes = statementBytes(statement);
const otherBytes = statementBytes({ ...statement, rank: 2 });
const good = signStatement(pairs[0].privateKey, statement);
const forged = signStatement(pairs[1].privateKey, statement);

/** What plain Ed25519 says, without any cache. */
const ed25519 = (key: KeyHandle, message: Uint8Array, signature: string) => verify(null, message, key as never, Buffer.from(signature, 'base64'));

/** A well-formed base64 signature that is not a signature: the shape passes, Ed25519 refuses. */
const forgery = (i: number) => `${good.slice(0, 80)}${String(i).padStart(6, 'A')}==`;

describe('SignatureVerifier verdict cache', () => {
  it('gives the same verdict from the cache as from Ed25519, for good and forged signatures', () => {
    const verifier = new SignatureVerifier();
    expect(ed25519(keyOf(0), bytes, good)).toBe(true);
    expect(ed25519(keyOf(0), bytes, forged)).toBe(false);
    for (let i = 0; i < 3; i += 1) {
      expect(verifier.verify(keyOf(0), bytes, good)).toBe(true);
      expect(verifier.verify(keyOf(0), bytes, forged)).toBe(false);
      // The same signature over other bytes, or claimed by another signer, is judged on its own.
      expect(verifier.verify(keyOf(0), otherBytes, good)).toBe(false);
      expect(verifier.verify(keyOf(1), bytes, good)).toBe(false);
      expect(verifier.verifications).toBe(4);
    }
    expect(verifier.cachedVerdicts).toBe(4);
  });

  it('counts only cache misses as verifications', () => {
    const verifier = new SignatureVerifier();
    expect(verifier.verifications).toBe(0);
    verifier.verify(keyOf(0), bytes, good);
    expect(verifier.verifications).toBe(1);
    verifier.verify(keyOf(0), bytes, good);
    verifier.verify(keyOf(0), Buffer.from(bytes), good);
    expect(verifier.verifications).toBe(1);
    verifier.verify(keyOf(0), bytes, forged);
    expect(verifier.verifications).toBe(2);
  });

  it('judges a good signature claimed for another name on its own, even after a cached true', () => {
    const verifier = new SignatureVerifier();
    expect(verifier.verify(keyOf(0), bytes, good)).toBe(true);
    expect(verifier.verify(keyOf(2), bytes, good)).toBe(false);
    expect(verifier.verify(keyOf(0), bytes, good)).toBe(true);
    expect(verifier.verifications).toBe(2);
  });

  it('judges a good signature on its own after the same one was refused for another name', () => {
    const verifier = new SignatureVerifier();
    expect(verifier.verify(keyOf(1), bytes, good)).toBe(false);
    expect(verifier.verify(keyOf(0), bytes, good)).toBe(true);
  });

  it('judges a signature over other bytes on its own, whichever comes first', () => {
    const verifier = new SignatureVerifier();
    const signedOther = signStatement(pairs[0].privateKey, { ...statement, rank: 2 });
    expect(verifier.verify(keyOf(0), otherBytes, good)).toBe(false);
    expect(verifier.verify(keyOf(0), bytes, good)).toBe(true);
    expect(verifier.verify(keyOf(0), otherBytes, signedOther)).toBe(true);
    expect(verifier.verify(keyOf(0), bytes, signedOther)).toBe(false);
    expect(verifier.verifications).toBe(4);
  });

  it('reads only the bytes of a statement given as a view into a larger buffer', () => {
    const verifier = new SignatureVerifier();
    const padded = Buffer.concat([Buffer.from('before'), Buffer.from(bytes), Buffer.from('after')]);
    const view = new Uint8Array(padded.buffer, padded.byteOffset + 6, bytes.length);
    expect(verifier.verify(keyOf(0), view, good)).toBe(true);
    // The same bytes, so the same verdict from the cache.
    expect(verifier.verify(keyOf(0), Buffer.from(bytes), good)).toBe(true);
    expect(verifier.verifications).toBe(1);
    const shifted = new Uint8Array(padded.buffer, padded.byteOffset + 5, bytes.length);
    expect(verifier.verify(keyOf(0), shifted, good)).toBe(false);
  });

  it('agrees with verifyBytes on good, forged and malformed signatures', () => {
    const verifier = new SignatureVerifier();
    for (const signature of [good, forged, forgery(1), 'not base64', good.slice(1), '']) {
      expect(verifier.verify(keyOf(0), bytes, signature)).toBe(verifyBytes(keyOf(0), bytes, signature));
    }
  });

  it.each<[string, unknown]>([
    ['undefined', undefined],
    ['null', null],
    ['a number', 7],
    ['the signature bytes', Buffer.from(good, 'base64')],
    ['an object', { toString: () => good }],
  ])('returns false for a non-string signature (%s) and caches nothing', (_, signature) => {
    const verifier = new SignatureVerifier();
    expect(verifier.verify(keyOf(0), bytes, signature)).toBe(false);
    expect(verifier.cachedVerdicts).toBe(0);
    expect(verifier.verifications).toBe(0);
  });

  it('never throws on a malformed string signature', () => {
    const verifier = new SignatureVerifier();
    for (const signature of ['', '=', 'A'.repeat(10_000), `${good.slice(0, 86)}!!`, '\u0000'.repeat(88)]) {
      expect(() => verifier.verify(keyOf(0), bytes, signature)).not.toThrow();
      expect(verifier.verify(keyOf(0), bytes, signature)).toBe(false);
    }
  });
});

describe('SignatureVerifier bound', () => {
  it('keeps 4096 verdicts by default', () => {
    expect(DEFAULT_VERDICT_CACHE).toBe(4096);
  });

  it('holds at most its bound whatever a flood of forgeries sends', () => {
    const verifier = new SignatureVerifier(16);
    const key = keyOf(0);
    expect(verifier.verify(key, bytes, good)).toBe(true);
    for (let i = 0; i < 200; i += 1) {
      expect(forgery(i)).toMatch(/^[A-Za-z0-9+/]{86}==$/);
      expect(verifier.verify(key, bytes, forgery(i))).toBe(false);
      expect(verifier.cachedVerdicts).toBeLessThanOrEqual(16);
    }
    expect(verifier.cachedVerdicts).toBe(16);
    expect(verifier.verifications).toBe(201);
    expect(verifier.verify(key, bytes, good)).toBe(true);
    expect(verifier.cachedVerdicts).toBe(16);
  });

  it('evicts the oldest verdict first', () => {
    const verifier = new SignatureVerifier(4);
    const key = keyOf(0);
    for (let i = 0; i < 5; i += 1) verifier.verify(key, bytes, forgery(i));
    expect(verifier.verifications).toBe(5);
    // forgery(0) was evicted, forgery(4) is held.
    verifier.verify(key, bytes, forgery(4));
    expect(verifier.verifications).toBe(5);
    verifier.verify(key, bytes, forgery(0));
    expect(verifier.verifications).toBe(6);
  });

  it('keeps a verdict in use: a cache hit refreshes it', () => {
    const verifier = new SignatureVerifier(4);
    const key = keyOf(0);
    verifier.verify(key, bytes, good);
    for (let i = 0; i < 3; i += 1) verifier.verify(key, bytes, forgery(i));
    expect(verifier.verify(key, bytes, good)).toBe(true);
    expect(verifier.verifications).toBe(4);
    verifier.verify(key, bytes, forgery(3));
    expect(verifier.cachedVerdicts).toBe(4);
    // The good verdict, refreshed, outlived forgery(0).
    expect(verifier.verify(key, bytes, good)).toBe(true);
    expect(verifier.verifications).toBe(5);
  });

  it('works with a bound of one', () => {
    const verifier = new SignatureVerifier(1);
    expect(verifier.verify(keyOf(0), bytes, good)).toBe(true);
    expect(verifier.verify(keyOf(0), bytes, forged)).toBe(false);
    expect(verifier.cachedVerdicts).toBe(1);
    expect(verifier.verify(keyOf(0), bytes, good)).toBe(true);
    expect(verifier.verifications).toBe(3);
  });
});

describe('SignatureVerifier cache key', () => {
  // Keyed by member name, a verdict for bob's old key would answer for his new one.
  it('keys verdicts by public key: a verdict for one key never answers for another', () => {
    const verifier = new SignatureVerifier();
    expect(verifier.verify(keyOf(0), bytes, good)).toBe(true);
    expect(verifier.verify(keyOf(1), bytes, good)).toBe(false);
    expect(verifier.verifications).toBe(2);
  });

  it('shares a verdict between two handles of one public key', () => {
    const verifier = new SignatureVerifier();
    expect(verifier.verify(keyOf(0), bytes, good)).toBe(true);
    expect(verifier.verify(publicKeyObject(pairs[0].publicKey), bytes, good)).toBe(true);
    expect(verifier.verifications).toBe(1);
  });
});
