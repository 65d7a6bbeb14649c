import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/** PKCS#8 header of an Ed25519 private key; the 32-byte seed follows it. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** What a confirmation's signature covers: who confirmed which frame, where. */
export function confirmationPayload(origin: string, rank: number, attempt: number, frameHash: string): string {
  return `confirm|${rank}|${attempt}|${frameHash}|${origin}`;
}

/**
 * What a vote's signature covers: who voted for which frame, proposed by
 * whom, where. Signed votes can be passed on: a node that locked relays the
 * 2f + 1 behind its lock, which nodes that missed some of them need.
 */
export function votePayload(origin: string, rank: number, attempt: number, proposer: string, frameHash: string): string {
  return `vote|${rank}|${attempt}|${proposer}|${frameHash}|${origin}`;
}

export interface Signer {
  sign(payload: string): string;
}

/**
 * Ed25519 keys for the members of a cluster. A vote or confirmation is signed
 * by the node that sends it, so any node can pass it on (in a lock proof or a
 * commit certificate) and the receiver still knows who sent it: that is what
 * lets a node that missed some of the messages behind a lock or a decided
 * height follow the nodes that did not.
 *
 * The keys are derived from `secret` and the member's name, so a seeded
 * simulation is repeatable; a real deployment loads each node's own key and
 * the others' public keys instead.
 */
export class Keyring {
  private readonly privateKeys = new Map<string, KeyObject>();
  private readonly publicKeys = new Map<string, KeyObject>();
  /**
   * Verdicts already reached, by signer, payload and signature: every node of
   * a process that shares this keyring (the simulator's cluster) checks each
   * signature once, not once per receiver and relay. Bounded: the oldest
   * verdict makes room, so a flood of forgeries costs time, not memory.
   */
  private readonly verdicts = new Map<string, boolean>();

  constructor(
    members: readonly string[],
    secret = 'statechart-consensus ledger',
    private readonly maxVerdicts = 4096,
  ) {
    for (const member of members) {
      const seed = createHash('sha256').update(`${secret}\u0000${member}`).digest();
      const key = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
      this.privateKeys.set(member, key);
      this.publicKeys.set(member, createPublicKey(key));
    }
  }

  /** The signer of one member: hand each node only its own. */
  signerFor(member: string): Signer {
    const key = this.privateKeys.get(member);
    if (key === undefined) throw new RangeError(`${member} has no key in this keyring`);
    return { sign: (payload) => sign(null, Buffer.from(payload), key).toString('base64') };
  }

  /** Whether `signature` is `origin`'s over `payload`; never throws. */
  verify(origin: unknown, payload: string, signature: unknown): boolean {
    if (typeof origin !== 'string' || typeof signature !== 'string' || signature.length > 200) return false;
    const key = this.publicKeys.get(origin);
    if (key === undefined) return false;
    const asked = `${origin}\u0000${signature}\u0000${payload}`;
    const known = this.verdicts.get(asked);
    if (known !== undefined) return known;
    let verdict: boolean;
    try {
      verdict = verify(null, Buffer.from(payload), key, Buffer.from(signature, 'base64'));
    } catch {
      verdict = false;
    }
    if (this.verdicts.size >= this.maxVerdicts) this.verdicts.delete(this.verdicts.keys().next().value as string);
    this.verdicts.set(asked, verdict);
    return verdict;
  }

  /** Verdicts held (at most the bound given at construction). */
  get cachedVerdicts(): number {
    return this.verdicts.size;
  }
}
