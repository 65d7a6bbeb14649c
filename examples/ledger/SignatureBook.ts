/**
 * Signed messages a node keeps so it can pass them on, by height, then by
 * what they sign (e.g. `attempt|frame`), then by signer. Bounded whatever
 * peers send: heights outside the caller's window are never added, and each
 * height holds at most `keysPerHeight` distinct keys, the oldest making room
 * for a new one (later attempts are the ones still worth passing on).
 */
export class SignatureBook<Entry> {
  private readonly byHeight = new Map<number, Map<string, Map<string, Entry>>>();

  constructor(private readonly keysPerHeight: number) {}

  /** Keeps `entry` from `signer`; the first entry per signer and key stays. */
  add(height: number, key: string, signer: string, entry: Entry): void {
    let atHeight = this.byHeight.get(height);
    if (atHeight === undefined) this.byHeight.set(height, (atHeight = new Map()));
    let signers = atHeight.get(key);
    if (signers === undefined) {
      if (atHeight.size >= this.keysPerHeight) atHeight.delete(atHeight.keys().next().value as string);
      atHeight.set(key, (signers = new Map()));
    }
    if (!signers.has(signer)) signers.set(signer, entry);
  }

  /** The signers of `key` at `height`, with their entries. */
  signers(height: number, key: string): ReadonlyMap<string, Entry> {
    return this.byHeight.get(height)?.get(key) ?? new Map();
  }

  /** Forgets every height up to `height`: finalized, nothing left to pass on. */
  dropThrough(height: number): void {
    for (const key of [...this.byHeight.keys()]) if (key <= height) this.byHeight.delete(key);
  }
}
