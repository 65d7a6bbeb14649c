import type { MembershipChange } from '../../engine/membership/change';
import type { Membership } from '../../guards/quorum';
import { attemptProposers, defaultProversPerRank, leaderSchedule, MEMBER_ENTRY } from './rules';
import { LedgerPeer, type LedgerFrame } from './types';

export { MEMBER_ENTRY };

/**
 * The entry adding `name` (with its public key in a signed cluster) or
 * removing it. `tag` names the proposal (1–24 of [A-Za-z0-9_-]): two
 * proposals of one change are two entries only with two tags, which is what
 * lets a member removed be added again.
 */
export function memberEntry(op: 'add' | 'remove', name: string, tag: string, publicKey?: string): string {
  const entry = op === 'add' && publicKey !== undefined ? `m:${tag}:add:${name}:${publicKey.toLowerCase()}` : `m:${tag}:${op}:${name}`;
  if (!MEMBER_ENTRY.test(entry)) throw new RangeError(`not a membership change: ${entry}`);
  return entry;
}

/**
 * The change a committed frame carries, for the engine's `membershipChangeIn`:
 * a function of the frame alone, so every node reads the same one. Only a
 * frame's first change entry counts (the engine takes one change at a time);
 * whether the membership can take it is the engine's to judge.
 */
export function ledgerMembershipChange(frame: LedgerFrame): MembershipChange<LedgerPeer> | null {
  const entry = frame.entries.find((candidate) => MEMBER_ENTRY.test(candidate));
  if (entry === undefined) return null;
  const [, , op, name, publicKey] = entry.split(':');
  if (op === 'remove') return { op: 'remove', id: name };
  return { op: 'add', id: new LedgerPeer(name), ...(publicKey === undefined ? {} : { publicKey }) };
}

/** What the ledger needs of its engine to follow a changing membership. */
export interface MembershipSource {
  getMembershipAt(rank: number): Pick<Membership, 'ids'> | null;
}

/**
 * Who the members of each height are, as the ledger's rules need them: the
 * prover schedule, the attempts' proposers, whom to broadcast to and whose
 * sync answers count. Founders alone until an engine is bound; then the
 * engine's membership of each height, which it reads from the commit log
 * (a change committed at c decides heights from c + rankWindow + 1 on).
 */
export class LedgerMembers {
  private source: MembershipSource | null = null;
  /** Everyone who was a member of some height this node heard of: whose sync answers count. */
  private readonly everKnown: Set<string>;
  /** Memberships whose members are in `everKnown` already: `at` runs for every message sent and received. */
  private readonly recorded = new WeakSet<readonly string[]>();

  constructor(
    readonly founders: readonly string[],
    /** Provers per height when the app fixes it; by default f + 2 of that height's members. */
    private readonly fixedProvers: number | undefined,
    /** Whether committed frames change the membership (`ledgerMembershipChange`). */
    readonly changing: boolean,
  ) {
    this.everKnown = new Set(founders);
  }

  /** Follows `source` from now on; a fixed membership has nothing to follow, and keeps its founders. */
  bind(source: MembershipSource): void {
    if (this.changing) this.source = source;
  }

  /** The members deciding `height`, in the order every node shares. */
  at(height: number): readonly string[] {
    const membership = this.source?.getMembershipAt(height) ?? null;
    if (membership === null) return this.founders;
    if (!this.recorded.has(membership.ids)) {
      for (const id of membership.ids) this.everKnown.add(id);
      this.recorded.add(membership.ids);
    }
    return membership.ids;
  }

  provers(height: number): number {
    const size = this.at(height).length;
    return Math.min(size, this.fixedProvers ?? defaultProversPerRank(size));
  }

  /** The provers of `height`, highest priority first. */
  schedule(height: number): string[] {
    if (!this.changing) return this.fixed().schedule(height);
    return leaderSchedule(this.at(height), this.provers(height))(height);
  }

  /** Who may propose in `attempt` of `height`: the engine's rotation over that height's members. */
  proposersOf(height: number, attempt: number): string[] {
    if (!this.changing) return this.fixed().proposersOf(height, attempt);
    return attemptProposers(this.at(height), (h) => this.schedule(h))(height, attempt);
  }

  private fixedRules: { schedule: (height: number) => string[]; proposersOf: (height: number, attempt: number) => string[] } | null = null;

  /** A fixed membership's rules, made once: they are asked for on every message. */
  private fixed() {
    if (this.fixedRules === null) {
      const schedule = leaderSchedule(this.founders, this.provers(0));
      this.fixedRules = { schedule, proposersOf: attemptProposers(this.founders, schedule) };
    }
    return this.fixedRules;
  }

  /**
   * Whom a message about the heights from `next` on goes to: the members
   * deciding `next` and the newest membership known, so a member about to
   * join hears the heights it will vote on, and one that left hears nothing
   * more of them.
   */
  audience(next: number): string[] {
    const now = this.at(next);
    const newest = this.at(Number.MAX_SAFE_INTEGER);
    return now === newest ? [...now] : [...new Set([...now, ...newest])];
  }

  /** Whether `id` was a member of any height this node heard of. */
  wasMember(id: string): boolean {
    return this.everKnown.has(id);
  }

  /**
   * Whether a frame f + 1 peers agree on may have `prover` at `height`. With a
   * fixed membership, a founder. With a changing one, a node syncing from far
   * behind has not read the changes that made later provers members: the
   * peers' agreement (one of them honest, so a quorum certified the frame)
   * is the evidence, and the prover is not checked.
   */
  mayHaveProved(prover: string, height: number): boolean {
    return this.changing || this.at(height).includes(prover);
  }
}
