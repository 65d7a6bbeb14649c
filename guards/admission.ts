import type { Identity } from '../providers/unique';
import type { BookEntry, RoundContext, VoteRecord } from '../machines/round.types';
import { countAt, lookup } from '../machines/rankBook';
import { isMember } from './membership';
import { isKnownProver, proversKnown } from './provers';
import { concernsNextRank } from './rank';

export type MessageKind = 'liveness' | 'proposal' | 'vote' | 'confirmation';

export type RejectionReason = 'stale_rank' | 'future_rank' | 'not_member' | 'not_prover' | 'rank_full' | 'equivocation';

export type Admission =
  | { admitted: true; duplicate: boolean }
  | { admitted: false; reason: RejectionReason; detail: string };

export interface Candidate {
  kind: MessageKind;
  sender: Identity;
  rank: number;
  /** Identity of the message's content, to tell a duplicate from an equivocation. */
  contentId: Identity;
  /** For votes: the prover the vote endorses. */
  proposer?: Identity;
}

/**
 * Messages already admitted and sent to the actor but not yet recorded: a
 * receive made while the actor is busy (from a listener, say) is judged
 * against them too, or a repeat would pass as new.
 */
export interface InFlightMessages {
  contentAt(kind: MessageKind, rank: number, sender: Identity): string | undefined;
  countAt(kind: MessageKind, rank: number): number;
}

function bookFor(context: RoundContext, kind: MessageKind) {
  switch (kind) {
    case 'liveness':
      return context.liveness;
    case 'proposal':
      return context.proposals;
    case 'vote':
      return context.votes;
    case 'confirmation':
      return context.confirmations;
  }
}

function contentIdOf(kind: MessageKind, stored: BookEntry): string {
  return kind === 'vote' ? `${(stored as VoteRecord).proposerId}|${stored.contentId}` : stored.contentId;
}

function reject(reason: RejectionReason, detail: string): Admission {
  return { admitted: false, reason, detail };
}

/**
 * Whether a peer's message may enter the books. One rule for the engine (which
 * turns a rejection into a typed error) and the machine (which never records
 * what this refuses), so the two cannot drift apart.
 */
export function admit(context: RoundContext, candidate: Candidate, inFlight?: InFlightMessages): Admission {
  const { kind, sender, rank } = candidate;
  if (rank <= context.activeRank) {
    return reject('stale_rank', `${kind} for rank ${rank} but rank ${context.activeRank} is already final`);
  }
  if (rank > context.activeRank + context.rankWindow) {
    return reject(
      'future_rank',
      `${kind} for rank ${rank} is beyond the window of ${context.rankWindow} ranks after ${context.activeRank}`,
    );
  }
  if (!isMember(context, sender)) return reject('not_member', `${sender} is not a member`);
  const endorsed = kind === 'vote' ? candidate.proposer : kind === 'proposal' || kind === 'liveness' ? sender : undefined;
  if (endorsed !== undefined && kind === 'vote' && !isMember(context, endorsed)) {
    return reject('not_member', `vote endorses ${endorsed}, who is not a member`);
  }
  if (endorsed !== undefined && concernsNextRank(context, rank) && proversKnown(context) && !isKnownProver(context, endorsed)) {
    return reject('not_prover', `${endorsed} is not a prover of rank ${rank}`);
  }
  const book = bookFor(context, kind);
  const incoming = contentKeyOf(candidate);
  const stored = lookup<BookEntry>(book, rank, sender);
  const previous = stored !== undefined ? contentIdOf(kind, stored) : inFlight?.contentAt(kind, rank, sender);
  if (previous !== undefined) {
    if (previous === incoming) return { admitted: true, duplicate: true };
    return reject('equivocation', `${sender} sent two different ${kind}s for rank ${rank}`);
  }
  const capacity = context.members === null ? context.maxSendersPerRank : context.members.length;
  if (countAt<BookEntry>(book, rank) + (inFlight?.countAt(kind, rank) ?? 0) >= capacity) {
    return reject('rank_full', `already holding ${capacity} ${kind}s for rank ${rank}`);
  }
  return { admitted: true, duplicate: false };
}

/** What tells two messages of one kind, rank and sender apart. */
export function contentKeyOf(candidate: Candidate): string {
  return candidate.kind === 'vote' ? `${candidate.proposer}|${candidate.contentId}` : candidate.contentId;
}
