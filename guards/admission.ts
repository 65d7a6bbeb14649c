import type { Identity } from '../providers/unique';
import type { AttestedRecord, RoundContext, VoteRecord } from '../machines/round.types';
import { countAt, lookup, slotKey } from '../machines/rankBook';
import { isMember, knownMembershipRank, membershipAt } from './membership';
import { isMemberOf, weightOfSenders } from './quorum';
import { isKnownProver, proversKnown } from './provers';
import { concernsNextRank } from './rank';
import { attestedAt, NIL, proposerOfAttempt, valueKey } from './roundChange';

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
  | 'equivocation'
  | 'short_of_quorum';

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
  /** For confirmations: a nil one (`contentId` names nothing). */
  nil?: boolean;
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

/**
 * What tells two stored messages apart, in the same namespace as
 * `contentKeyOf`. A nil confirmation is `NIL`, a value `value:<id>`, so a
 * value whose identity is the string "nil" is never taken for nil.
 */
function contentIdOf(kind: MessageKind, stored: { contentId: Identity | null }): string {
  if (kind === 'vote') return `${(stored as VoteRecord).endorses}|${stored.contentId}`;
  if (kind === 'confirmation') return stored.contentId === null ? NIL : valueKey(stored.contentId);
  return stored.contentId as Identity;
}

function reject(reason: RejectionReason, detail: string): Admission {
  return { admitted: false, reason, detail };
}

/**
 * Whether a peer's message may enter the books. One rule for the engine (which
 * turns a rejection into a typed error) and the machine (which never records
 * what this refuses), so the two cannot drift apart.
 */
export function admit(context: RoundContext, candidate: Candidate): Admission {
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
  const unknown = beyondKnownMembership(context, kind, rank);
  if (unknown !== null) return unknown;
  if (!isMember(context, sender, rank)) return reject('not_member', `${sender} is not a member`);
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
  if (endorsed !== undefined && kind === 'vote' && !isMember(context, endorsed, rank)) {
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
  if (stored !== undefined) {
    if (contentIdOf(kind, stored) === incoming) return { admitted: true, duplicate: true };
    return reject('equivocation', `${sender} sent two different ${kind}s for ${where}`);
  }
  const capacity = membershipAt(context, rank).ids.length;
  if (countAt<unknown>(book, slot) >= capacity) {
    return reject('rank_full', `already holding ${capacity} ${kind}s for ${where}`);
  }
  return { admitted: true, duplicate: false };
}

/**
 * A rank whose membership this node cannot know yet (it has not read every
 * value that may change it: see `knownMembershipRank`) is refused as out of
 * the window: nothing of it is kept or weighed until the log is read.
 */
function beyondKnownMembership(context: RoundContext, what: string, rank: number): Admission | null {
  const known = knownMembershipRank(context);
  if (rank <= known) return null;
  return reject('future_rank', `${what} for rank ${rank}, whose membership is not known yet: the log is read up to ${String(context.membershipSettledThrough)}`);
}

/** What tells two messages of one kind, slot and sender apart. */
export function contentKeyOf(candidate: Candidate): string {
  switch (candidate.kind) {
    case 'vote':
      return `${candidate.endorses ?? NIL}|${candidate.contentId}`;
    case 'confirmation':
      return candidate.nil === true ? NIL : valueKey(candidate.contentId);
    default:
      return candidate.contentId;
  }
}

/**
 * Whether a lock proof or commit certificate may be kept: its position in the
 * windows a message's would be, every signer a member, and their weight a
 * quorum by the engine's count. A second, different one for the same kind
 * and slot means more than the tolerated weight signed twice (or the app's
 * signature checks are broken): it is refused as an equivocation.
 */
export function admitsCertificateAt(context: RoundContext, record: AttestedRecord): Admission {
  const { rank, attempt } = record;
  const what = record.kind === 'votes' ? 'lock proof' : 'commit certificate';
  if (rank <= context.activeRank) return reject('stale_rank', `${what} for rank ${rank} but rank ${context.activeRank} is already final`);
  if (rank > context.activeRank + context.rankWindow) {
    return reject('future_rank', `${what} for rank ${rank} is beyond the window of ${context.rankWindow} ranks after ${context.activeRank}`);
  }
  const current = concernsNextRank(context, rank) ? context.attempt : 0;
  if (attempt < current - context.attemptWindow) return reject('stale_attempt', `${what} for attempt ${attempt} of rank ${rank}, which is at attempt ${current}`);
  if (attempt > current + context.attemptWindow) {
    return reject('future_attempt', `${what} for attempt ${attempt} of rank ${rank} is beyond the window of ${context.attemptWindow} attempts`);
  }
  const unknown = beyondKnownMembership(context, what, rank);
  if (unknown !== null) return unknown;
  const membership = membershipAt(context, rank);
  const outsider = record.signers.find((signer) => !isMemberOf(membership, signer));
  if (outsider !== undefined) return reject('not_member', `${what} signed by ${outsider}, who is not a member`);
  const weight = weightOfSenders(membership, record.signers);
  if (weight < membership.quorum) {
    return reject('short_of_quorum', `${what} signers weigh ${weight}, short of the quorum of ${membership.quorum}`);
  }
  const held = attestedAt(context, record.kind, rank, attempt);
  if (held !== undefined) {
    if (held.contentId === record.contentId) return { admitted: true, duplicate: true };
    return reject('equivocation', `a second ${what} for attempt ${attempt} of rank ${rank}, for another value: more than the tolerated weight signed twice`);
  }
  return { admitted: true, duplicate: false };
}

/** The machine's side of `admitsCertificateAt`: it keeps only what would be admitted as new. */
export function admitsCertificate(context: RoundContext, record: AttestedRecord): boolean {
  const admission = admitsCertificateAt(context, record);
  return admission.admitted && !admission.duplicate;
}
