import type { Identity, Unique } from '../providers/unique';
import type {
  AttestedRecord,
  ConfirmationRecord,
  QuorumFinding,
  ProposalRecord,
  QuorumGroup,
  RoundContext,
  VoteRecord,
} from '../machines/round.types';
import { attemptsAt, entriesAt, lookup, slotKey } from '../machines/rankBook';
import { proversKnown } from './provers';
import { nextRank } from './rank';
import { isMemberOf, isQuorum, weightOf, weightOfSenders } from './quorum';

/**
 * Round change (SPEC §2.8): Tendermint's locking rules ("The latest gossip on
 * BFT consensus", Buchman–Kwon–Milosevic 2018, algorithm 1) over the round
 * flow's states. voting is the prevote, finalizing the lock, verifying the
 * commit. Every rule here is a pure function of the context, so the machine
 * can name it as a guard and a test can check it alone.
 */

/** What a nil vote endorses: nothing. Values live under `value:`, so no value is ever nil. */
export const NIL = 'nil';

/** The key of a value in the namespace it shares with `NIL`. */
export function valueKey(id: Identity): string {
  return `value:${id}`;
}

/**
 * The key votes are matched on. A vote that names the proposal it endorses
 * matches every vote naming the same proposal; a vote that names only the
 * prover (the reference's form) matches votes naming the same prover, which
 * is only safe when provers never equivocate.
 */
export function endorsementOf(proposalId: Identity | undefined, proposerId: Identity | undefined): string {
  if (proposalId !== undefined) return valueKey(proposalId);
  if (proposerId !== undefined) return `prover:${proposerId}`;
  return NIL;
}

/** The book slot of the next rank at `attempt`. */
export function currentSlot(context: RoundContext, attempt = context.attempt): string {
  return slotKey(nextRank(context), attempt);
}

/**
 * The proposer of `(rank, attempt)`: the provers' list rotated by the
 * attempt, so a silent or equivocating first prover is passed over in the
 * next attempt. Attempt 0 is the reference's flow, in which every prover may
 * propose; later attempts have this one proposer only.
 */
export function proposerOfAttempt(context: RoundContext, attempt = context.attempt): Identity | null {
  if (!proversKnown(context)) return null;
  const order = attemptProposers(context);
  return order[attempt % order.length];
}

/**
 * Who proposes in later attempts, in turn: the provers, then the other
 * members. A node locked on a value whose votes only it saw (a Byzantine
 * voter told nobody else) would otherwise never get to re-propose it, and
 * votes nil for everything else forever.
 */
export function attemptProposers(context: RoundContext): Identity[] {
  // A prover the app names that is not a member of the rank could never have its proposal admitted.
  const provers = context.nextProvers.map((prover) => prover.identity()).filter((id) => isMemberOf(context.membership, id));
  const others = context.membership.ids.filter((member) => !provers.includes(member));
  return [...provers, ...others];
}

export function isProposerOfAttempt(context: RoundContext): boolean {
  return context.attempt > 0 && proposerOfAttempt(context) === context.selfId;
}

/** The proposals of the current attempt this node may judge, keyed by prover. */
export function attemptProposals(context: RoundContext): Record<Identity, ProposalRecord> {
  const entries = entriesAt(context.proposals, currentSlot(context));
  if (context.attempt === 0) return { ...entries };
  const proposer = proposerOfAttempt(context);
  const proposal = proposer === null ? undefined : lookup(context.proposals, currentSlot(context), proposer);
  return proposal === undefined || proposer === null ? {} : { [proposer]: proposal };
}

/** Attempt 0 waits for the configured number of proposals; later attempts for their proposer's. */
export function hasProposalsToJudge(context: RoundContext): boolean {
  const count = Object.keys(attemptProposals(context)).length;
  return context.attempt === 0 ? count >= context.thresholds.proposals : count > 0;
}

/** One vote per attempt, restarts included (`votedAttempt` is restored from storage). */
export function hasVotedInAttempt(context: RoundContext): boolean {
  return context.votedAttempt >= context.attempt;
}

export function hasConfirmedInAttempt(context: RoundContext): boolean {
  return context.confirmedAttempt >= context.attempt;
}

/** Tendermint line 23: not locked, or locked on this very value. */
export function respectsLock(context: RoundContext, proposal: ProposalRecord): boolean {
  const { lock, polka } = context;
  return (
    lock === null ||
    lock.contentId === proposal.contentId ||
    context.provenValue === proposal.contentId ||
    // This node saw the 2f + 1 votes itself, in an attempt no older than its lock.
    (polka !== null && polka.contentId === proposal.contentId && polka.attempt >= lock.attempt)
  );
}



/**
 * Tendermint line 29: a proposal for another value than the lock may still be
 * voted for when it cites an attempt, no older than the lock and older than
 * this one, in which 2f + 1 voted for it. Whether they did is a quorum
 * question for the provider: `lockProofGroup` is what to ask it.
 */
export function citesNewerProof(context: RoundContext, proposal: ProposalRecord): boolean {
  const cited = proposal.validAttempt;
  return (
    context.lock !== null &&
    cited !== null &&
    cited >= context.lock.attempt &&
    cited < context.attempt
  );
}

/** The proposals this node may vote for now, with the lock applied. */
export function votableProposals(context: RoundContext): Record<Identity, ProposalRecord> {
  return Object.fromEntries(
    Object.entries(attemptProposals(context)).filter(([, proposal]) => respectsLock(context, proposal)),
  );
}

/** A proposal the lock forbids unless its cited proof holds; null when there is none to check. */
export function proposalNeedingProof(context: RoundContext): { proposer: Identity; proposal: ProposalRecord } | null {
  if (Object.keys(votableProposals(context)).length > 0) return null;
  for (const [proposer, proposal] of Object.entries(attemptProposals(context))) {
    if (citesNewerProof(context, proposal)) return { proposer, proposal };
  }
  return null;
}

export function needsLockProof(context: RoundContext): boolean {
  return proposalNeedingProof(context) !== null;
}

/** The votes that would prove a cited attempt's 2f + 1 for the proposal needing proof. */
export function lockProofGroup(context: RoundContext): QuorumGroup[] {
  const pending = proposalNeedingProof(context);
  if (pending === null || pending.proposal.validAttempt === null) return [];
  const attempt = pending.proposal.validAttempt;
  const endorses = endorsementOf(pending.proposal.contentId, undefined);
  return [voteGroup(context, attempt, endorses, pending.proposal.contentId)];
}

/**
 * What a recorded vote endorses, as this node can best tell: a vote naming
 * only a prover is read as naming that prover's proposal in the same attempt,
 * when this node holds it, so it matches votes that name the proposal.
 */
export function endorsementIn(context: RoundContext, attempt: number, vote: VoteRecord): string {
  if (!vote.endorses.startsWith('prover:') || vote.proposerId === null) return vote.endorses;
  const proposal = lookup(context.proposals, currentSlot(context, attempt), vote.proposerId);
  return proposal === undefined ? vote.endorses : endorsementOf(proposal.contentId, vote.proposerId);
}

function voteGroup(context: RoundContext, attempt: number, endorses: string, value: Identity | null): QuorumGroup {
  const votes = entriesAt<VoteRecord>(context.votes, currentSlot(context, attempt));
  const senders = new Set<Identity>();
  for (const [voter, vote] of Object.entries(votes)) {
    if (endorsementIn(context, attempt, vote) === endorses) senders.add(voter);
  }
  const rank = nextRank(context);
  const proof = attestedAt(context, 'votes', rank, attempt);
  if (proof !== undefined && value !== null && proof.contentId === value) for (const signer of proof.signers) senders.add(signer);
  const finding = endorses === NIL ? { kind: 'nil_votes' as const, attempt } : { kind: 'lock' as const, attempt, endorses };
  return { kind: 'votes', rank, attempt, value, finding, senders: [...senders] };
}

/** Where a lock proof or commit certificate is kept: one per kind and slot. */
export function attestedKey(kind: AttestedRecord['kind'], rank: number, attempt: number): string {
  return `${kind}|${slotKey(rank, attempt)}`;
}

export function attestedAt(
  context: RoundContext,
  kind: AttestedRecord['kind'],
  rank: number,
  attempt: number,
): AttestedRecord | undefined {
  const key = attestedKey(kind, rank, attempt);
  return Object.prototype.hasOwnProperty.call(context.attested, key) ? context.attested[key] : undefined;
}

/** The certificates `keep` accepts (the same object when it accepts them all). */
export function keepAttested(
  attested: Readonly<Record<string, AttestedRecord>>,
  keep: (record: AttestedRecord) => boolean,
): Readonly<Record<string, AttestedRecord>> {
  const entries = Object.entries(attested);
  const kept = entries.filter(([, record]) => keep(record));
  return kept.length === entries.length ? attested : Object.fromEntries(kept);
}

/**
 * The first group whose senders weigh a quorum, in the order given; null
 * when none does. The engine's count, not the app's (SPEC §2.10).
 */
export function findQuorum(context: RoundContext, groups: readonly QuorumGroup[]): QuorumFinding | null {
  for (const group of groups) if (isQuorum(context.membership, group.senders)) return group.finding;
  return null;
}

/** The proposal identity a vote endorsement names, when it names one. */
export function valueOf(endorses: string): Identity | null {
  return endorses.startsWith('value:') ? endorses.slice('value:'.length) : null;
}

/**
 * Groups of the current attempt's votes, one per endorsed value (and nil),
 * largest first: the provider is asked whether any is a quorum.
 */
export function voteGroups(context: RoundContext): QuorumGroup[] {
  const votes = entriesAt<VoteRecord>(context.votes, currentSlot(context));
  const keys = new Map<string, number>();
  for (const [voter, vote] of Object.entries(votes)) {
    const key = endorsementIn(context, context.attempt, vote);
    keys.set(key, (keys.get(key) ?? 0) + weightOf(context.membership, voter));
  }
  const proof = attestedAt(context, 'votes', nextRank(context), context.attempt);
  if (proof !== undefined && !keys.has(valueKey(proof.contentId))) keys.set(valueKey(proof.contentId), 0);
  return [...keys.entries()]
    .sort(([keyA, a], [keyB, b]) => b - a || (keyA < keyB ? -1 : 1))
    .map(([endorses]) => voteGroup(context, context.attempt, endorses, valueOf(endorses)));
}

/**
 * Groups of votes from attempts this node has already left, one per value,
 * newer than the newest 2f + 1 it knows of. Votes arrive late (a lagging or
 * restarted node, a partition) or relayed with their signatures by a node
 * that locked; a quorum among them is remembered (`polka`, and the valid
 * value when the proposal is held). It lets a node vote past an older lock
 * and makes a later proposer re-propose that value; it never locks, since a
 * lock needs 2f + 1 votes of the attempt the node is in.
 */
export function pastPolkaGroups(context: RoundContext): QuorumGroup[] {
  const newest = context.polka?.attempt ?? -1;
  const rank = nextRank(context);
  const groups: QuorumGroup[] = [];
  const attempts = new Set(attemptsAt(context.votes, rank));
  for (const record of Object.values(context.attested)) {
    if (record.kind === 'votes' && record.rank === rank) attempts.add(record.attempt);
  }
  for (const attempt of attempts) {
    if (attempt <= newest || attempt >= context.attempt) continue;
    const endorsements = new Set<string>();
    for (const vote of Object.values(entriesAt<VoteRecord>(context.votes, currentSlot(context, attempt)))) {
      const endorses = endorsementIn(context, attempt, vote);
      if (valueOf(endorses) !== null) endorsements.add(endorses);
    }
    const proof = attestedAt(context, 'votes', rank, attempt);
    if (proof !== undefined) endorsements.add(valueKey(proof.contentId));
    for (const endorses of [...endorsements].sort()) groups.push(voteGroup(context, attempt, endorses, valueOf(endorses)));
  }
  // Newest first: the newest proof is the one worth keeping.
  return groups.sort((a, b) => b.attempt - a.attempt);
}

/**
 * Groups of confirmations: for every attempt kept, one per confirmed value
 * (a commit may come from any attempt); nil only for the current attempt,
 * where 2f + 1 nil confirmations end it at once.
 */
export function confirmationGroups(context: RoundContext): QuorumGroup[] {
  const rank = nextRank(context);
  const groups: QuorumGroup[] = [];
  const attempts = new Set(attemptsAt(context.confirmations, rank));
  for (const record of Object.values(context.attested)) {
    if (record.kind === 'confirmations' && record.rank === rank) attempts.add(record.attempt);
  }
  for (const attempt of [...attempts].sort((a, b) => a - b)) {
    // Keyed in one namespace: nil is `NIL`, a value `value:<id>`, so no value passes for nil.
    const byValue = new Map<string, { value: Identity | null; senders: Set<Identity> }>();
    const add = (value: Identity | null, sender: Identity) => {
      const key = value === null ? NIL : valueKey(value);
      let group = byValue.get(key);
      if (group === undefined) byValue.set(key, (group = { value, senders: new Set() }));
      group.senders.add(sender);
    };
    for (const [sender, confirmation] of Object.entries(
      entriesAt<ConfirmationRecord>(context.confirmations, slotKey(rank, attempt)),
    )) {
      add(confirmation.contentId, sender);
    }
    const certificate = attestedAt(context, 'confirmations', rank, attempt);
    if (certificate !== undefined) for (const signer of certificate.signers) add(certificate.contentId, signer);
    for (const { value, senders } of byValue.values()) {
      if (value === null) {
        if (attempt !== context.attempt) continue;
        groups.push({ kind: 'confirmations', rank, attempt, value: null, finding: { kind: 'nil_confirmations', attempt }, senders: [...senders] });
      } else {
        groups.push({ kind: 'confirmations', rank, attempt, value, finding: { kind: 'commit', attempt, contentId: value }, senders: [...senders] });
      }
    }
  }
  // Commits first: a decided value outranks ending the attempt.
  return groups.sort((a, b) => Number(a.value === null) - Number(b.value === null));
}

/** The value a commit finding names, taken from a confirmation that carries it. */
export function committedValue(context: RoundContext, attempt: number, contentId: Identity): Unique | null {
  const confirmations = entriesAt<ConfirmationRecord>(context.confirmations, slotKey(nextRank(context), attempt));
  for (const confirmation of Object.values(confirmations)) {
    if (confirmation.contentId === contentId && confirmation.value !== null) return confirmation.value;
  }
  const certificate = attestedAt(context, 'confirmations', nextRank(context), attempt);
  return certificate?.contentId === contentId ? certificate.value : null;
}

/** The prover of a committed value, when this node holds its proposal. */
export function proposerOfValue(context: RoundContext, contentId: Identity): Identity | null {
  const rank = nextRank(context);
  for (const attempt of attemptsAt(context.proposals, rank)) {
    for (const [prover, proposal] of Object.entries(entriesAt(context.proposals, slotKey(rank, attempt)))) {
      if (proposal.contentId === contentId) return prover;
    }
  }
  return null;
}

/** The proposal a lock finding names, with its prover, when this node holds it. */
export function lockedProposal(
  context: RoundContext,
  endorses: string,
  attempt: number,
): { proposer: Identity; proposal: ProposalRecord } | null {
  const value = valueOf(endorses);
  const rank = nextRank(context);
  if (value === null) {
    // The reference's form: the vote names a prover; its proposal in that attempt.
    const prover = endorses.startsWith('prover:') ? endorses.slice('prover:'.length) : null;
    const proposal = prover === null ? undefined : lookup(context.proposals, slotKey(rank, attempt), prover);
    return prover === null || proposal === undefined ? null : { proposer: prover, proposal };
  }
  // The attempt's own proposal first, so the lock names who proposed it there; an earlier one carrying the value otherwise.
  for (const slotAttempt of [attempt, ...attemptsAt(context.proposals, rank).filter((other) => other !== attempt)]) {
    for (const [prover, proposal] of Object.entries(entriesAt(context.proposals, slotKey(rank, slotAttempt)))) {
      if (proposal.contentId === value) return { proposer: prover, proposal };
    }
  }
  return null;
}

/**
 * A lock finding of the attempt this node is in, whose proposal it holds: it
 * can lock and confirm. 2f + 1 votes of an earlier attempt never lock: the
 * confirmation would be for this attempt, which they say nothing about.
 */
export function canLockOnFinding(context: RoundContext): boolean {
  const finding = context.finding;
  return (
    finding?.kind === 'lock' &&
    finding.attempt === context.attempt &&
    lockedProposal(context, finding.endorses, finding.attempt) !== null
  );
}

/**
 * Tendermint line 55: f + 1 senders heard at a higher attempt include an
 * honest one, so the cluster has moved on; the highest attempt that many
 * senders reached is where to go. Null when there is no such attempt.
 */
export function skipTarget(context: RoundContext): number | null {
  const heard = Object.entries(entriesAt(context.attemptsSeen, slotKey(nextRank(context))))
    .filter(([sender, attempt]) => sender !== context.selfId && attempt > context.attempt)
    .sort(([, a], [, b]) => b - a);
  // The highest attempt that f + 1 weight of other senders reached or passed.
  let weight = 0;
  for (const [sender, attempt] of heard) {
    weight += weightOf(context.membership, sender);
    if (weight >= context.membership.honest) return attempt;
  }
  return null;
}

export function shouldSkipAhead(context: RoundContext): boolean {
  return skipTarget(context) !== null;
}

/** How long the current attempt may take: the base, grown per attempt, capped. */
export function attemptTimeoutOf(context: RoundContext): number {
  const { attempt: base, attemptGrowth, attemptMax } = context.timeouts;
  return Math.min(attemptMax, base * attemptGrowth ** context.attempt);
}

/**
 * Whether the current attempt's timer should run once more instead of
 * ending the attempt: attempts no longer grow (their timeout is at its cap),
 * this one has not run twice yet, and this node heard almost no one in it
 * (voting a value or nil, or confirming: less than f + 1 weight, itself
 * included).
 *
 * A node whose timers run an attempt ahead of the others' leaves each
 * attempt about when the others arrive in it, and so never adds its vote to
 * theirs; fewer than f + 1 ahead are too few for the others to skip to it.
 * While attempts grow, each lasts longer than the others' previous one and
 * the overlap lets it vote; once they stop growing, nothing brings it back
 * in step but waiting. Once only, so that a node that hears no one still
 * moves on; and not when f + 1 were heard, so that an ordinary slow attempt
 * ends on time.
 */
export function mayExtendAttempt(context: RoundContext): boolean {
  if (context.attemptExtended === context.attempt || attemptTimeoutOf(context) < context.timeouts.attemptMax) return false;
  const slot = slotKey(nextRank(context), context.attempt);
  const heard = new Set<Identity>([...Object.keys(entriesAt(context.votes, slot)), ...Object.keys(entriesAt(context.confirmations, slot))]);
  heard.add(context.selfId);
  return weightOfSenders(context.membership, heard) < context.membership.honest;
}
