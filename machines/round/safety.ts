import type { Unique } from '../../providers/unique';
import { nextRank } from '../../guards/rank';
import { attemptsAt, lookup, slotKey } from '../rankBook';
import type { ProposalRecord, RoundContext, RoundSafetyState, LockRecord, SafetyValueRecord } from '../round.types';

// The round's safety record: what is written before a vote, proposal or confirmation, and read back at start.

/** A lock or valid value as the safety data keeps it, with the value when this node holds it. */
export function keptValue(record: LockRecord | null): SafetyValueRecord<Unique> | null {
  if (record === null) return null;
  const { contentId, proposerId, attempt, value } = record;
  return value === null ? { contentId, proposerId, attempt } : { contentId, proposerId, attempt, value };
}

/** This node's proposal in the latest attempt of the next rank it proposed in. */
export function latestOwnProposal(context: RoundContext): RoundSafetyState['proposal'] {
  const rank = nextRank(context);
  for (const attempt of attemptsAt(context.proposals, rank).reverse()) {
    const own = lookup<ProposalRecord>(context.proposals, slotKey(rank, attempt), context.selfId);
    if (own !== undefined) return { attempt, contentId: own.contentId, validAttempt: own.validAttempt, value: own.value };
  }
  return null;
}

/**
 * What is kept durably for the next rank, written before the vote, proposal
 * or confirmation it allows: the attempts voted and confirmed in, the lock
 * and the valid value (values included, so a restarted node can still
 * re-propose what it locked on), and this node's latest proposal (so a
 * restart does not propose another value in the same attempt).
 */
export function safetyRecord(context: RoundContext): RoundSafetyState {
  return {
    rank: nextRank(context),
    votedAttempt: context.votedAttempt,
    confirmedAttempt: context.confirmedAttempt,
    lock: keptValue(context.lock),
    valid: keptValue(context.valid),
    proposal: latestOwnProposal(context),
  };
}

/** A kept lock or valid value as the context holds it. */
export function restoredValue(record: SafetyValueRecord<Unique> | null | undefined): LockRecord | null {
  if (record === null || record === undefined) return null;
  return { contentId: record.contentId, proposerId: record.proposerId, attempt: record.attempt, value: record.value ?? null };
}
