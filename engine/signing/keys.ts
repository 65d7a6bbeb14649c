import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, sign, verify } from 'node:crypto';

// Ed25519 keys as the engine takes them: a member's public key as 64 hex
// characters (its 32 raw bytes), a node's private key as its 32-byte seed
// (hex or bytes) or a `KeyObject`.

/** DER headers that turn 32 raw key bytes into the PKCS#8 and SPKI forms `node:crypto` reads. */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

const HEX_32 = /^[0-9a-fA-F]{64}$/;

/**
 * A `node:crypto` `KeyObject`, named by its shape so that the package's
 * declarations need no Node types.
 */
export interface KeyHandle {
  readonly type: string;
  readonly asymmetricKeyType?: string;
}

export type PrivateKeyInput = string | Uint8Array | KeyHandle;

export interface KeyPairHex {
  /** The 32-byte seed, hex: keep it secret. */
  privateKey: string;
  /** The 32-byte public key, hex: what every member is configured with. */
  publicKey: string;
}

function rawBytes(label: string, input: string | Uint8Array): Buffer {
  if (typeof input === 'string') {
    if (!HEX_32.test(input)) throw new TypeError(`${label} must be 64 hex characters (32 bytes)`);
    return Buffer.from(input, 'hex');
  }
  if (!(input instanceof Uint8Array) || input.length !== 32) throw new TypeError(`${label} must be 32 bytes`);
  return Buffer.from(input);
}

/** A private key object from a seed or an Ed25519 `KeyObject`. Throws `TypeError` on anything else. */
export function privateKeyObject(input: PrivateKeyInput): KeyHandle {
  if (typeof input === 'object' && !(input instanceof Uint8Array)) {
    if (!(input instanceof KeyObject) || input.type !== 'private' || input.asymmetricKeyType !== 'ed25519') throw new TypeError('privateKey must be an Ed25519 private key');
    return input;
  }
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, rawBytes('privateKey', input)]), format: 'der', type: 'pkcs8' });
}

const P = 2n ** 255n - 19n;
const D = (P - ((121665n * modPow(121666n, P - 2n)) % P)) % P;
const SQRT_M1 = modPow(2n, (P - 1n) / 4n);

function modPow(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = ((base % P) + P) % P;
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
  }
  return result;
}

/**
 * Whether 32 bytes encode a point of the Ed25519 curve (RFC 8032 §5.1.3).
 * `node:crypto` takes any 32 bytes as a public key and then fails every
 * verification with it: a member configured with such a key could never
 * be counted, and nothing would say why.
 */
export function isCurvePoint(bytes: Uint8Array): boolean {
  if (bytes.length !== 32) return false;
  // Each engine checks every member's key when it is built: a cluster of n builds n² checks of n keys.
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  if (knownPoints.has(hex)) return true;
  const point = decodesToPoint(bytes);
  if (point) {
    if (knownPoints.size >= KNOWN_POINTS) knownPoints.delete(knownPoints.values().next().value as string);
    knownPoints.add(hex);
  }
  return point;
}

const KNOWN_POINTS = 4096;
const knownPoints = new Set<string>();

function decodesToPoint(bytes: Uint8Array): boolean {
  const sign = bytes[31] >> 7;
  let y = 0n;
  for (let i = 31; i >= 0; i -= 1) y = (y << 8n) | BigInt(i === 31 ? bytes[i] & 0x7f : bytes[i]);
  if (y >= P) return false;
  const y2 = (y * y) % P;
  const u = (y2 - 1n + P) % P;
  const v = (D * y2 + 1n) % P;
  const v3 = (v * v % P) * v % P;
  let x = (u * v3 % P) * modPow(u * (v3 * v3 % P) % P * v % P, (P - 5n) / 8n) % P;
  const vx2 = v * x % P * x % P;
  if (vx2 !== u) {
    if (vx2 !== (P - u) % P) return false;
    x = x * SQRT_M1 % P;
  }
  return !(x === 0n && sign === 1);
}

/** A public key object from its 32 raw bytes (hex or bytes). Throws `TypeError` on anything else, a non-point included. */
export function publicKeyObject(input: string | Uint8Array): KeyHandle {
  if (!isCurvePoint(rawBytes('publicKey', input))) throw new TypeError('publicKey is not a point of the Ed25519 curve');
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, rawBytes('publicKey', input)]), format: 'der', type: 'spki' });
}

const keyIds = new WeakMap<object, string>();

/** The 32 raw bytes of a key's public half, hex, worked out once per key object. */
export function keyIdOf(key: KeyHandle): string {
  let id = keyIds.get(key);
  if (id === undefined) {
    const object = key as KeyObject;
    const spki = (object.type === 'public' ? object : createPublicKey(object)).export({ format: 'der', type: 'spki' });
    id = spki.subarray(SPKI_PREFIX.length).toString('hex');
    keyIds.set(key, id);
  }
  return id;
}

/** The 32 raw bytes of a key object's public half, hex. */
export function publicKeyHex(key: KeyHandle): string {
  const spki = createPublicKey(key as KeyObject).export({ format: 'der', type: 'spki' });
  return spki.subarray(SPKI_PREFIX.length).toString('hex');
}

/** A fresh key pair from the system's randomness. */
export function generateKeyPair(): KeyPairHex {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  return { privateKey: pkcs8.subarray(PKCS8_PREFIX.length).toString('hex'), publicKey: publicKeyHex(privateKey) };
}

/** The key pair of a 32-byte seed: the same seed, the same keys (tests, simulations). */
export function keyPairFromSeed(seed: string | Uint8Array): KeyPairHex {
  const key = privateKeyObject(seed);
  return { privateKey: rawBytes('seed', seed).toString('hex'), publicKey: publicKeyHex(key) };
}

/** Signature length in bytes; its base64 form is 88 characters. */
export const SIGNATURE_BYTES = 64;
const BASE64_SIGNATURE = /^[A-Za-z0-9+/]{86}==$/;

/** An Ed25519 signature over `message`, base64. */
export function signBytes(key: KeyHandle, message: Uint8Array): string {
  return sign(null, message, key as KeyObject).toString('base64');
}

/** Whether `signature` (base64) is `key`'s over `message`; never throws. */
export function verifyBytes(key: KeyHandle, message: Uint8Array, signature: unknown): boolean {
  if (typeof signature !== 'string' || !BASE64_SIGNATURE.test(signature)) return false;
  try {
    return verify(null, message, key as KeyObject, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
