import { quorumThreshold, maxFaultTolerance } from '../guards/quorum';
import { valueDigestOf, type Statement } from '../engine/signing/index';
import { LEDGER_CHAIN_ID } from '../examples/ledger/LedgerNode';
import type { LedgerMessage } from '../examples/ledger/messages';
import { LedgerFrame } from '../examples/ledger/types';

/**
 * A frame that passes whatever looks at it first and is another frame after:
 * it reads as `first` until its hash has been read `honestReads` times, then
 * as `then`, every field of it (so a copy made then is `then`, whole and
 * well-formed). A node that checks one read of a peer's value and uses
 * another is fooled; one that copies the value once and uses the copy is not.
 */
export function shiftingFrame(first: LedgerFrame, then: LedgerFrame, honestReads: number): LedgerFrame {
  let hashReads = 0;
  const current = () => (hashReads >= honestReads ? then : first);
  const frame = Object.create(LedgerFrame.prototype) as LedgerFrame;
  Object.defineProperties(frame, {
    height: { enumerable: true, get: () => current().height },
    parent: { enumerable: true, get: () => current().parent },
    prover: { enumerable: true, get: () => current().prover },
    time: { enumerable: true, get: () => current().time },
    entries: { enumerable: true, get: () => current().entries },
    hash: {
      enumerable: true,
      get: () => {
        hashReads += 1;
        return (hashReads > honestReads ? then : first).hash;
      },
    },
  });
  return frame;
}

/** Signed confirmations a shape-shifting node gathers from honest ones, to relay as a certificate that changes. */
export class ShiftingCertificates {
  /** Per `height|attempt|hash`: the frame, and origin → signature. */
  private readonly gathered = new Map<string, { frame: LedgerFrame; signatures: Map<string, string> }>();
  private readonly sent = new Set<string>();

  constructor(
    private readonly self: string,
    private readonly members: readonly string[],
    private readonly sign: (statement: Statement) => string,
    private readonly rankWindow: number,
  ) {}

  /**
   * An honest confirmation (its signature is real) of `frame`; once there are
   * enough for a certificate, the certificate to send, whose state reads as
   * `frame` while its signatures are checked and as `other` afterwards.
   */
  gather(origin: string, frame: LedgerFrame, attempt: number, signature: string, other: LedgerFrame): LedgerMessage | null {
    const key = `${frame.height}|${attempt}|${frame.hash}`;
    if (this.sent.has(key)) return null;
    let entry = this.gathered.get(key);
    if (entry === undefined) {
      const statement: Statement = { chainId: LEDGER_CHAIN_ID, kind: 'confirmation', rank: frame.height, attempt, valueDigest: valueDigestOf(frame.hash) };
      entry = { frame, signatures: new Map([[this.self, this.sign(statement)]]) };
      this.gathered.set(key, entry);
    }
    entry.signatures.set(origin, signature);
    const n = this.members.length;
    if (entry.signatures.size < quorumThreshold(n, maxFaultTolerance(n))) return null;
    this.sent.add(key);
    for (const old of [...this.gathered.keys()]) if (Number(old.split('|')[0]) < frame.height - this.rankWindow) this.gathered.delete(old);
    const signers = [...entry.signatures.keys()];
    const certificate = { rank: frame.height, attempt, valueDigest: valueDigestOf(frame.hash), signers, signatures: [...entry.signatures.values()] };
    // A receiver that reads the frame's hash once (to check it) and then reads the frame again to use it would get `other`.
    const state = shiftingFrame(frame, other, 1);
    return { kind: 'certificate', state, certificate };
  }
}
