import { LedgerFrame, LedgerVote } from './types';

/**
 * What a ledger node keeps across a crash: the frames it finalized, and the
 * two things it must never contradict after a restart, its vote and its
 * proposal at each height (an honest node that voted or proposed twice at one
 * height would be indistinguishable from an equivocating one). Its skip
 * requests are kept too: peers that missed one while it was down still need
 * it to skip a silent prover, and it sends them again when it comes back.
 *
 * In memory here; a real node writes these to disk before it sends the vote
 * or proposal they record.
 */
export class LedgerStore {
  private readonly frames: LedgerFrame[];
  private readonly votes = new Map<number, LedgerVote>();
  private readonly proposals = new Map<number, LedgerFrame>();
  private readonly skips = new Map<number, Set<string>>();

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
    for (const height of [...this.skips.keys()]) if (height <= frame.height) this.skips.delete(height);
  }

  voteAt(height: number): LedgerVote | undefined {
    return this.votes.get(height);
  }

  saveVote(vote: LedgerVote): void {
    this.votes.set(vote.height, vote);
  }

  proposalAt(height: number): LedgerFrame | undefined {
    return this.proposals.get(height);
  }

  saveProposal(frame: LedgerFrame): void {
    this.proposals.set(frame.height, frame);
  }

  /** Provers this node asked to skip at `height`. */
  skipsAt(height: number): readonly string[] {
    return [...(this.skips.get(height) ?? [])];
  }

  saveSkip(height: number, prover: string): void {
    let provers = this.skips.get(height);
    if (provers === undefined) this.skips.set(height, (provers = new Set()));
    provers.add(prover);
  }
}
