import { createHash } from 'node:crypto';
import type { Unique } from '../../providers/unique';

/** Hex characters of SHA-256 kept in a frame hash: 64 bits, plenty for a demo. */
const HASH_LENGTH = 16;

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, HASH_LENGTH);
}

/** A node of the ledger cluster, named `n0`, `n1`, … */
export class LedgerPeer implements Unique {
  constructor(readonly name: string) {}
  identity(): string {
    return this.name;
  }
  clone(): this {
    return new LedgerPeer(this.name) as this;
  }
  rank(): number {
    return 0;
  }
}

/**
 * One block of the replicated ledger: the mutations one prover collected for
 * `height`, chained to the block before it, stamped with `time`. Its
 * identity is its hash, which covers everything else, so two frames with one
 * identity are one frame.
 *
 * `time` is milliseconds on the prover's clock when it built the frame, never
 * below its parent's: what the quorum agreed on is the only time replicated
 * state may read, since every replica's own clock differs. Genesis has 0.
 *
 * The constructor trusts the hash it is given (that is how a frame arrives
 * from the wire); `LedgerFrame.create` computes it, and `isWellFormed` checks
 * it, which is how a forged or corrupted frame is caught.
 */
export class LedgerFrame implements Unique {
  constructor(
    readonly height: number,
    readonly parent: string,
    readonly prover: string,
    readonly time: number,
    readonly entries: readonly string[],
    readonly hash: string,
  ) {}

  static hashOf(height: number, parent: string, prover: string, time: number, entries: readonly string[]): string {
    return digest(JSON.stringify([height, parent, prover, time, entries]));
  }

  static create(height: number, parent: string, prover: string, time: number, entries: readonly string[]): LedgerFrame {
    return new LedgerFrame(height, parent, prover, time, [...entries], LedgerFrame.hashOf(height, parent, prover, time, entries));
  }

  static genesis(): LedgerFrame {
    return LedgerFrame.create(0, '', '', 0, []);
  }

  /** The hash matches the content and every field has the right shape. */
  isWellFormed(): boolean {
    return (
      Number.isSafeInteger(this.height) &&
      this.height >= 0 &&
      typeof this.parent === 'string' &&
      typeof this.prover === 'string' &&
      Number.isSafeInteger(this.time) &&
      this.time >= 0 &&
      Array.isArray(this.entries) &&
      this.entries.every((entry) => typeof entry === 'string') &&
      this.hash === LedgerFrame.hashOf(this.height, this.parent, this.prover, this.time, this.entries)
    );
  }

  identity(): string {
    return this.hash;
  }
  clone(): this {
    return new LedgerFrame(this.height, this.parent, this.prover, this.time, [...this.entries], this.hash) as this;
  }
  rank(): number {
    return this.height;
  }
}

/** A vote names the proposal it endorses by its hash, and the prover of it. */
export class LedgerVote implements Unique {
  constructor(
    readonly height: number,
    readonly voter: string,
    readonly proposer: string,
    readonly frame: string,
  ) {}
  identity(): string {
    return `vote:${this.height}:${this.voter}:${this.proposer}:${this.frame}`;
  }
  clone(): this {
    return new LedgerVote(this.height, this.voter, this.proposer, this.frame) as this;
  }
  rank(): number {
    return this.height;
  }
}

/** The mutations a node collected for `height` (what it would prove). */
export class LedgerBatch implements Unique {
  constructor(
    readonly height: number,
    readonly collector: string,
    readonly entries: readonly string[],
  ) {}
  /** Names the entries by their digest: sixteen of them may run to kilobytes, past what an identity may be. */
  identity(): string {
    return `batch:${this.height}:${this.collector}:${digest(JSON.stringify(this.entries))}`;
  }
  clone(): this {
    return new LedgerBatch(this.height, this.collector, [...this.entries]) as this;
  }
  rank(): number {
    return this.height;
  }
}
