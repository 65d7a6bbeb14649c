import { LedgerFrame, LedgerVote } from './types';

/**
 * What a ledger node keeps across a crash: the frames it finalized, its
 * proposal at each height (a prover that proposed two frames at one height
 * would be indistinguishable from an equivocating one), and its votes per
 * height and attempt, to say them again after a restart. The engine keeps
 * its own safety data (lock, attempts voted in) in its `RoundSafetyStorage`.
 *
 * In memory here; a real node writes these to disk before it sends the vote
 * or proposal they record.
 */
export class LedgerStore {
  private readonly frames: LedgerFrame[];
  private readonly votes = new Map<number, Map<number, LedgerVote>>();
  private readonly proposals = new Map<number, LedgerFrame>();
  private readonly batches = new Map<number, readonly string[]>();

  constructor(genesis: LedgerFrame = LedgerFrame.genesis()) {
    this.frames = [genesis];
  }

  head(): LedgerFrame {
    return this.frames[this.frames.length - 1];
  }

  height(): number {
    return this.head().height;
  }

  /** Finalized frames, genesis first. */
  chain(): readonly LedgerFrame[] {
    return this.frames;
  }

  /** Up to `max` finalized frames above `height`, lowest first. */
  framesAfter(height: number, max: number): LedgerFrame[] {
    const start = this.frames.findIndex((frame) => frame.height > height);
    return start < 0 ? [] : this.frames.slice(start, start + max);
  }

  /** Records a finalized frame as the new head. */
  append(frame: LedgerFrame): void {
    this.frames.push(frame);
    for (const height of [...this.votes.keys()]) if (height <= frame.height) this.votes.delete(height);
    for (const height of [...this.proposals.keys()]) if (height <= frame.height) this.proposals.delete(height);
  }

  voteAt(height: number, attempt: number): LedgerVote | undefined {
    return this.votes.get(height)?.get(attempt);
  }

  saveVote(vote: LedgerVote, attempt: number): void {
    let atHeight = this.votes.get(vote.height);
    if (atHeight === undefined) this.votes.set(vote.height, (atHeight = new Map()));
    atHeight.set(attempt, vote);
  }

  proposalAt(height: number): LedgerFrame | undefined {
    return this.proposals.get(height);
  }

  saveProposal(frame: LedgerFrame): void {
    this.proposals.set(frame.height, frame);
  }

  /** The clients' entries this node announced for `height`, if it drew any. */
  batchAt(height: number): readonly string[] | undefined {
    return this.batches.get(height);
  }

  /** Kept before it is announced: a restarted node announces the same batch again, or its second announcement is an equivocation. */
  saveBatch(height: number, entries: readonly string[]): void {
    this.batches.set(height, [...entries]);
  }
}
