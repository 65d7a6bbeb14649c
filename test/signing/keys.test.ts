import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import {
  SIGNATURE_BYTES,
  generateKeyPair,
  keyPairFromSeed,
  privateKeyObject,
  publicKeyHex,
  publicKeyObject,
  signBytes,
  verifyBytes,
  type KeyHandle,
} from '../../engine/signing/keys';
import { flipBase64, seedOf } from './fixtures';

const HEX_64 = /^[0-9a-f]{64}$/;

describe('generateKeyPair', () => {
  it('gives 64 lowercase hex characters for each key', () => {
    const pair = generateKeyPair();
    expect(pair.privateKey).toMatch(HEX_64);
    expect(pair.publicKey).toMatch(HEX_64);
  });

  it('gives different keys on each call', () => {
    const pairs = Array.from({ length: 5 }, () => generateKeyPair());
    expect(new Set(pairs.map((pair) => pair.privateKey)).size).toBe(5);
    expect(new Set(pairs.map((pair) => pair.publicKey)).size).toBe(5);
  });

  it('gives a public key that belongs to the private key', () => {
    const pair = generateKeyPair();
    expect(keyPairFromSeed(pair.privateKey)).toEqual(pair);
    const message = Buffer.from('hello');
    expect(verifyBytes(publicKeyObject(pair.publicKey), message, signBytes(privateKeyObject(pair.privateKey), message))).toBe(true);
  });
});

describe('keyPairFromSeed', () => {
  const seed = seedOf(3, 'keys');

  it('is deterministic', () => {
    expect(keyPairFromSeed(seed)).toEqual(keyPairFromSeed(Buffer.from(seed)));
    expect(keyPairFromSeed(seed.toString('hex'))).toEqual(keyPairFromSeed(seed));
  });

  it('returns the seed as the private key and its public half as the public key', () => {
    const pair = keyPairFromSeed(seed);
    expect(pair.privateKey).toBe(seed.toString('hex'));
    expect(pair.publicKey).toBe(publicKeyHex(privateKeyObject(seed)));
    expect(pair.publicKey).toMatch(HEX_64);
  });

  it('matches the RFC 8032 test vector 1', () => {
    const pair = keyPairFromSeed('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
    expect(pair.publicKey).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    const signature = signBytes(privateKeyObject(pair.privateKey), new Uint8Array(0));
    expect(Buffer.from(signature, 'base64').toString('hex')).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
  });

  it('accepts a hex seed and a 32-byte Uint8Array alike', () => {
    const bytes = new Uint8Array(seed);
    expect(bytes).not.toBeInstanceOf(Buffer);
    expect(keyPairFromSeed(bytes)).toEqual(keyPairFromSeed(seed.toString('hex')));
  });

  it('accepts uppercase hex and gives lowercase hex back', () => {
    const upper = seed.toString('hex').toUpperCase();
    expect(keyPairFromSeed(upper)).toEqual(keyPairFromSeed(seed));
  });

  it('gives different keys for different seeds', () => {
    expect(keyPairFromSeed(seedOf(1, 'keys')).publicKey).not.toBe(keyPairFromSeed(seedOf(2, 'keys')).publicKey);
  });

  it.each<[string, string | Uint8Array]>([
    ['62 hex characters', 'ab'.repeat(31)],
    ['66 hex characters', 'ab'.repeat(33)],
    ['63 hex characters', `${'a'.repeat(63)}`],
    ['empty string', ''],
    ['non-hex characters', 'zz'.repeat(32)],
    ['hex with a prefix', `0x${'ab'.repeat(31)}`],
    ['hex with whitespace', ` ${'ab'.repeat(31)}a `],
    ['31 bytes', new Uint8Array(31)],
    ['33 bytes', new Uint8Array(33)],
    ['0 bytes', new Uint8Array(0)],
  ])('throws TypeError for a seed of %s', (_, bad) => {
    expect(() => keyPairFromSeed(bad)).toThrow(TypeError);
    expect(() => privateKeyObject(bad)).toThrow(TypeError);
  });
});

describe('privateKeyObject', () => {
  it('takes an Ed25519 private KeyObject as it is', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    expect(privateKeyObject(privateKey)).toBe(privateKey);
  });

  it('builds the same key from hex, bytes and a KeyObject', () => {
    const seed = seedOf(4, 'keys');
    const fromHex = privateKeyObject(seed.toString('hex'));
    const fromBytes = privateKeyObject(new Uint8Array(seed));
    const fromObject = privateKeyObject(createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' }));
    expect(publicKeyHex(fromHex)).toBe(publicKeyHex(fromBytes));
    expect(publicKeyHex(fromHex)).toBe(publicKeyHex(fromObject));
  });

  it.each([
    ['an RSA private key', () => generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey],
    ['an X25519 private key', () => generateKeyPairSync('x25519').privateKey],
    ['an Ed448 private key', () => generateKeyPairSync('ed448').privateKey],
    ['an Ed25519 public key', () => generateKeyPairSync('ed25519').publicKey],
    ['a public key from publicKeyObject', () => publicKeyObject(keyPairFromSeed(seedOf(5, 'keys')).publicKey) as never],
  ])('throws TypeError for %s', (_, make) => {
    expect(() => privateKeyObject(make() as KeyHandle)).toThrow(TypeError);
  });

  it('throws TypeError for a plain object that only looks like a key', () => {
    expect(() => privateKeyObject({ type: 'public', asymmetricKeyType: 'ed25519' })).toThrow(TypeError);
  });
});

describe('publicKeyObject and publicKeyHex', () => {
  /** The raw 32 bytes of a public KeyObject, read with node:crypto alone. */
  const rawOf = (key: KeyHandle) => (key as ReturnType<typeof createPublicKey>).export({ format: 'der', type: 'spki' }).subarray(12).toString('hex');

  it('builds the public key object of the given hex or bytes', () => {
    const { publicKey } = keyPairFromSeed(seedOf(6, 'keys'));
    expect(publicKeyObject(publicKey).type).toBe('public');
    expect(publicKeyObject(publicKey).asymmetricKeyType).toBe('ed25519');
    expect(rawOf(publicKeyObject(publicKey))).toBe(publicKey);
    expect(rawOf(publicKeyObject(Buffer.from(publicKey, 'hex')))).toBe(publicKey);
    expect(rawOf(publicKeyObject(publicKey.toUpperCase()))).toBe(publicKey);
  });

  it('reads the public half of a private key as node:crypto does', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    expect(publicKeyHex(privateKey)).toBe(rawOf(publicKey));
  });

  it.each<[string, string | Uint8Array]>([
    ['short hex', 'ab'.repeat(31)],
    ['non-hex', 'xy'.repeat(32)],
    ['31 bytes', new Uint8Array(31)],
  ])('throws TypeError for %s', (_, bad) => {
    expect(() => publicKeyObject(bad)).toThrow(TypeError);
  });
});

describe('signBytes and verifyBytes', () => {
  const pair = keyPairFromSeed(seedOf(7, 'keys'));
  const privateKey = privateKeyObject(pair.privateKey);
  const publicKey = publicKeyObject(pair.publicKey);
  const message = Buffer.from('a message');
  const signature = signBytes(privateKey, message);

  it('signs 64 bytes as 88 base64 characters, as node:crypto does', () => {
    expect(SIGNATURE_BYTES).toBe(64);
    expect(signature).toHaveLength(88);
    expect(Buffer.from(signature, 'base64')).toHaveLength(SIGNATURE_BYTES);
    const nodeKey = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(pair.publicKey, 'hex')]), format: 'der', type: 'spki' });
    expect(verify(null, message, nodeKey, Buffer.from(signature, 'base64'))).toBe(true);
  });

  it('verifies a good signature', () => {
    expect(verifyBytes(publicKey, message, signature)).toBe(true);
  });

  it('refuses a signature over other bytes or by another key', () => {
    expect(verifyBytes(publicKey, Buffer.from('a messagf'), signature)).toBe(false);
    expect(verifyBytes(publicKeyObject(keyPairFromSeed(seedOf(8, 'keys')).publicKey), message, signature)).toBe(false);
  });

  it('refuses a signature with one character flipped', () => {
    for (const position of [0, 10, 43, 85]) expect(verifyBytes(publicKey, message, flipBase64(signature, position))).toBe(false);
  });

  it.each<[string, unknown]>([
    ['undefined', undefined],
    ['null', null],
    ['a number', 42],
    ['the signature as a Buffer', Buffer.from('placeholder')],
    ['an array', ['x']],
    ['an object', { signature: 'x' }],
  ])('returns false for a non-string signature (%s)', (_, bad) => {
    const value = bad instanceof Buffer ? Buffer.from(signature, 'base64') : bad;
    expect(() => verifyBytes(publicKey, message, value)).not.toThrow();
    expect(verifyBytes(publicKey, message, value)).toBe(false);
  });

  it.each<[string, () => string]>([
    ['empty', () => ''],
    ['without padding', () => signature.slice(0, 86)],
    ['one character short', () => signature.slice(0, 87)],
    ['one character long', () => `${signature}=`],
    ['63 bytes', () => Buffer.from(signature, 'base64').subarray(0, 63).toString('base64')],
    ['65 bytes', () => Buffer.concat([Buffer.from(signature, 'base64'), Buffer.from([0])]).toString('base64')],
    ['hex instead of base64', () => Buffer.from(signature, 'base64').toString('hex')],
    ['base64url', () => Buffer.from(signature, 'base64').toString('base64url')],
    ['with a non-base64 character', () => `!${signature.slice(1)}`],
    ['with whitespace', () => ` ${signature.slice(1)}`],
    ['with a newline', () => `${signature.slice(0, 44)}\n${signature.slice(45)}`],
  ])('returns false, never throwing, for a signature %s', (_, make) => {
    const bad = make();
    expect(() => verifyBytes(publicKey, message, bad)).not.toThrow();
    expect(verifyBytes(publicKey, message, bad)).toBe(false);
  });

  it('returns false for a signature whose bytes are out of range (S ≥ L)', () => {
    const bytes = Buffer.from(signature, 'base64');
    bytes.fill(0xff, 32);
    const bad = bytes.toString('base64');
    expect(bad).toHaveLength(88);
    expect(verifyBytes(publicKey, message, bad)).toBe(false);
  });

  it('agrees with node:crypto sign', () => {
    expect(verifyBytes(publicKey, message, sign(null, message, privateKey as never).toString('base64'))).toBe(true);
  });
});
