import { createHash } from 'node:crypto';
import { keyPairFromSeed, signStatement, SignatureVerifier, type Statement } from '../engine/signing/index';
import { privateKeyObject } from '../engine/signing/keys';

/** Every member's key pair and one verifier the whole simulated cluster shares. */
export interface ClusterKeys {
  /** Public keys (hex) by member. */
  publicKeys: Readonly<Record<string, string>>;
  privateKeyOf(member: string): string;
  /** Signs as `member` (a Byzantine node signs with its own key only). */
  signerFor(member: string): (statement: Statement) => string;
  /** Shared by every engine of the run: each signature is checked once per process. */
  verifier: SignatureVerifier;
}

/** Verdicts the shared verifier keeps: room for every member's messages of a few ranks. */
const VERDICTS_PER_MEMBER = 512;

/** The cluster's keys, derived from the seed (a seeded run is repeatable): every node, Byzantine ones included, signs with its own. */
export function simulationKeys(names: readonly string[], seed: number): ClusterKeys {
  const privateKeys = new Map<string, string>();
  const publicKeys: Record<string, string> = {};
  for (const name of names) {
    const pair = keyPairFromSeed(createHash('sha256').update(`simulation seed ${seed}\u0000${name}`).digest());
    privateKeys.set(name, pair.privateKey);
    publicKeys[name] = pair.publicKey;
  }
  const privateKeyOf = (member: string) => {
    const key = privateKeys.get(member);
    if (key === undefined) throw new RangeError(`${member} has no key in this cluster`);
    return key;
  };
  return {
    publicKeys,
    privateKeyOf,
    signerFor: (member) => {
      // Parsed once: reading a seed into a key costs ten times the signature, and a flooding node signs a lot.
      const key = privateKeyObject(privateKeyOf(member));
      return (statement) => signStatement(key, statement);
    },
    verifier: new SignatureVerifier(Math.max(4096, VERDICTS_PER_MEMBER * names.length)),
  };
}
