import type { Identity } from '../providers/unique';
import type { RoundContext, VoteRecord } from '../machines/round.types';
import { countAt, lookup, slotKey } from '../machines/rankBook';
import { isMember } from './membership';
import { isKnownProver, proversKnown } from './provers';
import { concernsNextRank } from './rank';
import { NIL, proposerOfAttempt } from './roundChange';

export type MessageKind = 'liveness' | 'proposal' | 'vote' | 'confirmation';

export type RejectionReason =
  | 'stale_rank'
  | 'future_rank'
  | 'stale_attempt'
  | 'future_attempt'
  | 'not_member'
  | 'not_prover'
  | 'not_proposer'
  | 'rank_full'
  | 'equivocation';

export type Admission =
  /**
   * `evidenceOnly`: an attempt too far ahead to keep; only the fact that the
   * sender reached it is noted, for skipping ahead (SPEC §2.8).
   */
  | { admitted: true; duplicate: boolean; evidenceOnly?: boolean }
  | { admitted: false; reason: RejectionReason; detail: string };

export interface Candidate {
  kind: MessageKind;
  sender: Identity;
  rank: number;
  /** Identity of the message's content, to tell a duplicate from an equivocation. */
  contentId: Identity;
  /** For votes: the prover the vote endorses (absent for a nil vote). */
  proposer?: Identity;
  /** The attempt within the rank; 0 for liveness. */
  attempt: number;
  /** For votes: what the vote endorses (`endorsementOf`). */
  endorses?: string;
}

/**
 * Messages already admitted and sent to the actor but not yet recorded: a
 * receive made while the actor is busy (from a listener, say) is judged
 * against them too, or a repeat would pass as new.
 */
export interface InFlightMessages {
  contentAt(kind: MessageKind, slot: string, sender: Identity): string | undefined;
  countAt(kind: MessageKind, slot: string): number;
}

/** Where a message of this kind is kept: liveness per rank, the rest per attempt. */
export function slotOf(candidate: Pick<Candidate, 'kind' | 'rank' | 'attempt'>): string {
  return candidate.kind === 'liveness' ? slotKey(candidate.rank) : slotKey(candidate.rank, candidate.attempt);
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

function contentIdOf(kind: MessageKind, stored: { contentId: Identity | null }): string {
  if (kind === 'vote') return `${(stored as VoteRecord).endorses}|${stored.contentId}`;
  return stored.contentId ?? NIL;
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
  const { attempt } = candidate;
  const current = concernsNextRank(context, rank) ? context.attempt : 0;
  if (kind !== 'liveness' && attempt < current - context.attemptWindow) {
    return reject('stale_attempt', `${kind} for attempt ${attempt} of rank ${rank}, which is at attempt ${current}`);
  }
  if (kind !== 'liveness' && attempt > current + context.attemptWindow) {
    if (concernsNextRank(context, rank)) return { admitted: true, duplicate: false, evidenceOnly: true };
    return reject('future_attempt', `${kind} for attempt ${attempt} of rank ${rank} is beyond the window of ${context.attemptWindow} attempts`);
  }
  if (kind === 'proposal' && attempt > 0 && concernsNextRank(context, rank)) {
    const proposer = proposerOfAttempt(context, attempt);
    if (proposer !== null && proposer !== sender) {
      return reject('not_proposer', `${sender} is not the proposer of attempt ${attempt} of rank ${rank} (${proposer} is)`);
    }
  }
  const endorsed = kind === 'vote' ? candidate.proposer : kind === 'proposal' || kind === 'liveness' ? sender : undefined;
  if (endorsed !== undefined && kind === 'vote' && !isMember(context, endorsed)) {
    return reject('not_member', `vote endorses ${endorsed}, who is not a member`);
  }
  // A later attempt's proposer may be any member (its proposal and the votes for it).
  const attemptsProposer = kind !== 'liveness' && attempt > 0 && proposerOfAttempt(context, attempt) === endorsed;
  if (
    endorsed !== undefined &&
    !attemptsProposer &&
    concernsNextRank(context, rank) &&
    proversKnown(context) &&
    !isKnownProver(context, endorsed)
  ) {
    return reject('not_prover', `${endorsed} is not a prover of rank ${rank}`);
  }
  const book = bookFor(context, kind);
  const slot = slotOf(candidate);
  const where = kind === 'liveness' ? `rank ${rank}` : `attempt ${attempt} of rank ${rank}`;
  const incoming = contentKeyOf(candidate);
  const stored = lookup<{ contentId: Identity | null }>(book, slot, sender);
  const previous = stored !== undefined ? contentIdOf(kind, stored) : inFlight?.contentAt(kind, slot, sender);
  if (previous !== undefined) {
    if (previous === incoming) return { admitted: true, duplicate: true };
    return reject('equivocation', `${sender} sent two different ${kind}s for ${where}`);
  }
  const capacity = context.members === null ? context.maxSendersPerRank : context.members.length;
  if (countAt<unknown>(book, slot) + (inFlight?.countAt(kind, slot) ?? 0) >= capacity) {
    return reject('rank_full', `already holding ${capacity} ${kind}s for ${where}`);
  }
  return { admitted: true, duplicate: false };
}

/** What tells two messages of one kind, slot and sender apart. */
export function contentKeyOf(candidate: Candidate): string {
  return candidate.kind === 'vote' ? `${candidate.endorses ?? NIL}|${candidate.contentId}` : candidate.contentId;
}
