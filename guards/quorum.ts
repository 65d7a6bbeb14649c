import type { Identity } from '../providers/unique';

/**
 * Who votes and how much each vote weighs (SPEC §2.10). The engine counts
 * every quorum with this, whatever the app: with total weight n and
 * tolerated faulty weight f, a quorum is any set of weight ≥ ⌊(n + f)/2⌋ + 1,
 * so any two quorums share more than f weight, i.e. at least one honest
 * member, and the honest weight alone (≥ n − f) is a quorum.
 *
 * A plain object, so the round actor's context stays serialisable for the
 * inspector; `weights` has no prototype, so no identity ("__proto__",
 * "constructor") can collide with an inherited property.
 */
export interface Membership {
  /** Member identities in the order the app gave them: later attempts' proposers rotate over it. */
  readonly ids: readonly Identity[];
  readonly weights: Readonly<Record<Identity, number>>;
  /** n: the members' total weight. */
  readonly total: number;
  /** f: the faulty weight tolerated. */
  readonly faulty: number;
  /** The least weight that is a quorum: ⌊(n + f)/2⌋ + 1. */
  readonly quorum: number;
  /** f + 1: a weight that holds at least one honest member (skip-ahead, sync). */
  readonly honest: number;
}

/** One member as configured: its identity and voting weight. */
export interface WeightedMember {
  id: Identity;
  weight: number;
}

/** The most faulty weight n can tolerate: f < n / 3. */
export function maxFaultTolerance(total: number): number {
  return Math.max(0, Math.floor((total - 1) / 3));
}

/** ⌊(n + f)/2⌋ + 1: two sets of this weight overlap in more than f. */
export function quorumThreshold(total: number, faulty: number): number {
  return Math.floor((total + faulty) / 2) + 1;
}

/**
 * Why a membership cannot be built, one line per problem; empty when it can.
 * The engine's configuration check reports these.
 */
export function membershipIssues(members: readonly WeightedMember[], faulty?: number): string[] {
  const issues: string[] = [];
  if (members.length === 0) issues.push('members: at least one member is needed');
  const seen = new Set<Identity>();
  let total = 0;
  for (const { id, weight } of members) {
    if (seen.has(id)) issues.push(`members: ${id} is listed twice`);
    seen.add(id);
    if (!Number.isSafeInteger(weight) || weight < 1) issues.push(`members: ${id}'s weight must be a positive integer, got ${String(weight)}`);
    else total += weight;
  }
  if (!Number.isSafeInteger(total)) issues.push('members: the total weight must be a safe integer');
  if (faulty !== undefined) {
    const bound = maxFaultTolerance(total);
    if (!Number.isSafeInteger(faulty) || faulty < 0) issues.push(`faultTolerance must be a non-negative integer, got ${String(faulty)}`);
    else if (faulty > bound) {
      issues.push(`faultTolerance ${faulty} is past the bound for total weight ${total}: at most ⌊(n − 1)/3⌋ = ${bound}`);
    }
  }
  return issues;
}

/**
 * The membership of `members` tolerating `faulty` weight (default the most
 * it can: ⌊(n − 1)/3⌋). An app may tolerate less (a crash-only deployment
 * wants smaller quorums), never more. Throws a RangeError on what
 * `membershipIssues` reports.
 */
export function createMembership(members: readonly WeightedMember[], faulty?: number): Membership {
  const issues = membershipIssues(members, faulty);
  if (issues.length > 0) throw new RangeError(issues.join('; '));
  const weights: Record<Identity, number> = Object.create(null);
  let total = 0;
  for (const { id, weight } of members) {
    weights[id] = weight;
    total += weight;
  }
  const f = faulty ?? maxFaultTolerance(total);
  return Object.freeze({
    ids: Object.freeze(members.map((member) => member.id)),
    weights: Object.freeze(weights),
    total,
    faulty: f,
    quorum: quorumThreshold(total, f),
    honest: f + 1,
  });
}

/** A member's weight; 0 for anyone else. */
export function weightOf(membership: Membership, id: Identity): number {
  return Object.prototype.hasOwnProperty.call(membership.weights, id) ? membership.weights[id] : 0;
}

export function isMemberOf(membership: Membership, id: Identity): boolean {
  return weightOf(membership, id) > 0;
}

/** The total weight of the distinct members among `senders`; non-members weigh nothing. */
export function weightOfSenders(membership: Membership, senders: Iterable<Identity>): number {
  const counted = new Set<Identity>();
  let weight = 0;
  for (const sender of senders) {
    if (counted.has(sender)) continue;
    counted.add(sender);
    weight += weightOf(membership, sender);
  }
  return weight;
}

export function isQuorum(membership: Membership, senders: Iterable<Identity>): boolean {
  return weightOfSenders(membership, senders) >= membership.quorum;
}
