import type { Identity } from '../providers/unique';
import type { RoundContext, ScheduledMembership } from '../machines/round.types';
import { isMemberOf, type Membership } from './quorum';

/**
 * The membership that decides `rank`. `context.membership` is the next
 * rank's, and every later one's up to the first membership scheduled
 * after it (a change committed in the log, see engine/membership).
 */
export function membershipAt(context: Pick<RoundContext, 'membership' | 'membershipsAhead'>, rank: number): Membership {
  let found = context.membership;
  for (const scheduled of context.membershipsAhead ?? []) {
    if (scheduled.from > rank) break;
    found = scheduled.membership;
  }
  return found;
}

/** Only members speak: anyone else is refused at the door, whatever they send. */
export function isMember(context: RoundContext, peer: Identity, rank?: number): boolean {
  return isMemberOf(rank === undefined ? context.membership : membershipAt(context, rank), peer);
}

/**
 * The highest rank whose membership this node knows for sure: a change
 * committed at index c decides ranks from c + rankWindow + 1 on, so once
 * every value up to `membershipSettledThrough` is read, every rank up to
 * that plus rankWindow + 1 is known. Without membership changes, all are.
 */
export function knownMembershipRank(context: Pick<RoundContext, 'membershipSettledThrough' | 'rankWindow'>): number {
  const settled = context.membershipSettledThrough;
  return settled === undefined ? Number.POSITIVE_INFINITY : settled + context.rankWindow + 1;
}

/**
 * Whether this node proposes, votes and confirms in the rank being decided:
 * it is a member of that rank, and it has read every value committed before
 * it (a node that skipped ranks by syncing, or a joining one, catches up
 * first, so it never acts on a membership it has not read).
 */
export function takesPart(context: RoundContext): boolean {
  if (!isMemberOf(context.membership, context.selfId)) return false;
  const settled = context.membershipSettledThrough;
  return settled === undefined || settled >= context.activeRank;
}

/**
 * Whether an update of the memberships makes the provers this node holds for
 * the rank being decided worthless: they were fetched before it had read the
 * log up to that rank (the app names provers from the membership the engine
 * reports, which was stale), or the update changes who the rank's members
 * are. A node that already took part keeps them: once its reading reached
 * the rank, that rank's membership can no longer change.
 */
export function outdatesProvers(
  context: Pick<RoundContext, 'membershipSettledThrough' | 'activeRank' | 'membership'>,
  settledThrough: number,
  membership: Membership,
): boolean {
  const settled = context.membershipSettledThrough;
  if (settled !== undefined && settled < context.activeRank && settledThrough >= context.activeRank) return true;
  const before = context.membership.ids;
  return before.length !== membership.ids.length || before.some((id) => !membership.ids.includes(id));
}

/**
 * The memberships as the round moves to deciding `nextRank`: the one in
 * force there becomes `membership`, later ones stay scheduled.
 */
export function membershipsFor(
  current: Membership,
  schedule: readonly ScheduledMembership[] | undefined,
  nextRank: number,
): Pick<RoundContext, 'membership' | 'membershipsAhead'> {
  if (schedule === undefined) return { membership: current };
  let membership = current;
  const ahead: ScheduledMembership[] = [];
  for (const scheduled of schedule) {
    if (scheduled.from <= nextRank) membership = scheduled.membership;
    else ahead.push(scheduled);
  }
  return { membership, membershipsAhead: ahead };
}
