// The `commit-on-votes` breakage (see `UnsafeRoundRule`), apart from the node's real rules.
import { ConsensusInputError } from '../../engine/errors';
import type { LedgerRounds } from './nodeTypes';
import { LedgerVote, type LedgerFrame } from './types';

/**
 * Engines without keys only: the node hands its own engine the voters behind
 * its lock as if they had confirmed, so it commits on votes alone. It needs
 * every voter heard, per `height|attempt|frame`.
 */
export class CommitOnVotes {
  private readonly votersSeen = new Map<string, Set<string>>();

  constructor(private readonly inWindow: (height: number) => boolean) {}

  noteVoter(from: string, vote: unknown, attempt: unknown): void {
    if (!(vote instanceof LedgerVote) || !this.inWindow(vote.height)) return;
    const key = `${vote.height}|${(attempt as number | undefined) ?? 0}|${vote.frame}`;
    let voters = this.votersSeen.get(key);
    if (voters === undefined) this.votersSeen.set(key, (voters = new Set()));
    voters.add(from);
  }

  commit(engine: LedgerRounds, frame: LedgerFrame, attempt: number): void {
    const voters = [...(this.votersSeen.get(`${frame.height}|${attempt}|${frame.hash}`) ?? [])];
    try {
      engine.receiveCommitCertificate(frame, { attempt, signers: voters });
    } catch (error) {
      if (!(error instanceof ConsensusInputError)) throw error;
    }
  }

  /** Heights up to `height` are finalized: their voters no longer matter. */
  forget(height: number): void {
    for (const key of [...this.votersSeen.keys()]) if (Number(key.split('|')[0]) <= height) this.votersSeen.delete(key);
  }
}
