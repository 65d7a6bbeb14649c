import { z } from 'zod';
import { createMembership, maxFaultTolerance, membershipIssues, type Membership } from '../../guards/quorum';
import type { ScheduledMembership } from '../../machines/round.types';
import type { TraceLogger } from '../../providers/trace';
import type { Identity, Unique } from '../../providers/unique';
import { MAX_MEMBERS } from '../config';
import { memberKeys, type MemberKeys } from '../signing/certificate';
import { readChange, type CheckedChange, type MembershipChange } from './change';
import { effectiveRank } from './effectiveRank';

/** One member of an epoch, as a snapshot or a restarted node keeps it. */
export interface EpochMember {
  id: Identity;
  weight: number;
  publicKey?: string;
}

/** The membership of a run of ranks: from `from` until the next epoch's. */
export interface MembershipEpoch {
  readonly from: number;
  /** The log index of the change that made it; null for the configured membership (or one restored without it). */
  readonly committedAt: number | null;
  /** In member order: later attempts' proposers rotate over it. */
  readonly members: readonly EpochMember[];
  readonly membership: Membership;
  /** The members' keys, read once; null for engines without keys. */
  readonly keys: MemberKeys | null;
}

/** What an app hears when a committed change is scheduled. */
export interface MembershipChangeNotice {
  /** The log index of the value that carried it. */
  committedAt: number;
  /** The first rank the new membership decides. */
  effectiveFrom: number;
  change: CheckedChange;
  membership: Membership;
}

/** The memberships a snapshot at some index carries: the one deciding its rank and any scheduled after it. */
export interface MembershipRecord {
  epochs: Array<{ from: number; committedAt: number | null; faulty: number; members: EpochMember[] }>;
}

const memberSchema = z
  .object({
    id: z.string().min(1).max(512),
    weight: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    publicKey: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  })
  .strict();
/** At most one change is pending at a time, so a record holds one epoch or two; a few more are tolerated. */
export const membershipRecordSchema = z
  .object({
    epochs: z
      .array(
        z
          .object({
            from: z.number().int().min(0),
            committedAt: z.number().int().min(0).nullable(),
            faulty: z.number().int().min(0),
            members: z.array(memberSchema).min(1).max(MAX_MEMBERS),
          })
          .strict(),
      )
      .min(1)
      .max(8),
  })
  .strict();

/** An epoch from its members; throws `RangeError` on members that cannot make a membership. */
export function epochOf(from: number, committedAt: number | null, members: readonly EpochMember[], faulty: number | undefined, keyed: boolean): MembershipEpoch {
  const weighted = members.map(({ id, weight }) => ({ id, weight }));
  const membership = createMembership(weighted, faulty);
  const keys = keyed ? memberKeys(members.map(({ id, weight, publicKey }) => ({ id, weight, publicKey: publicKey ?? '' })), membership.faulty) : null;
  return { from, committedAt, members: members.map((member) => ({ ...member })), membership, keys };
}

/** The epochs a record describes; throws `RangeError` when it describes none that can be used. */
export function epochsOfRecord(record: MembershipRecord, keyed: boolean): MembershipEpoch[] {
  const epochs = record.epochs.map((epoch) => epochOf(epoch.from, epoch.committedAt, epoch.members, epoch.faulty, keyed));
  for (let i = 1; i < epochs.length; i += 1) if (epochs[i].from <= epochs[i - 1].from) throw new RangeError('membership epochs out of order');
  return epochs;
}

export interface MembershipHistoryOptions<StateT, PeerIDT extends Unique> {
  /** The epochs known before any value is read, oldest first. */
  base: readonly MembershipEpoch[];
  /** The log index the base is as of: values after it are read in order. */
  settledThrough: number;
  rankWindow: number;
  /** The faulty weight the configuration asked for; undefined: the most each membership tolerates. */
  faultTolerance: number | undefined;
  /** Engines with keys: every added member needs its public key. */
  keyed: boolean;
  hook: (state: StateT) => MembershipChange<PeerIDT> | null | undefined;
  logger: TraceLogger;
  /** A member the log added, with the app's peer object for it when the change named one. */
  onMember: (id: Identity, peer: PeerIDT | null) => void;
}

/**
 * The membership of every rank this node may still be asked about, read
 * from the commit log in index order: each committed value the app says
 * carries a change schedules a new membership from its effective rank on.
 * Everything decided here is a function of the log alone (and of settings
 * every member shares), so every node that read the same log holds the same
 * history, invalid changes ignored alike.
 */
export class MembershipHistory<StateT, PeerIDT extends Unique> {
  private epochs: MembershipEpoch[];
  private settled: number;
  readonly listeners = new Set<(notice: MembershipChangeNotice) => void>();

  constructor(private readonly options: MembershipHistoryOptions<StateT, PeerIDT>) {
    this.epochs = [...options.base];
    this.settled = options.settledThrough;
  }

  /** Every value up to this log index was read. */
  get settledThrough(): number {
    return this.settled;
  }

  /** The newest epoch: the membership after every change read so far. */
  get latest(): MembershipEpoch {
    return this.epochs[this.epochs.length - 1];
  }

  /** The epoch deciding `rank`; null for a rank older than the oldest kept. */
  at(rank: number): MembershipEpoch | null {
    let found: MembershipEpoch | null = null;
    for (const epoch of this.epochs) {
      if (epoch.from > rank) break;
      found = epoch;
    }
    return found;
  }

  /** The epochs as the round machine holds them. */
  schedule(): ScheduledMembership[] {
    return this.epochs.map(({ from, membership }) => ({ from, membership }));
  }

  /** Whether `id` is a member of any epoch kept: who may still send this node something it needs. */
  isKnown(id: Identity): boolean {
    return this.epochs.some((epoch) => Object.prototype.hasOwnProperty.call(epoch.membership.weights, id));
  }

  /** The most members any epoch kept has. */
  largest(): number {
    return Math.max(...this.epochs.map((epoch) => epoch.members.length));
  }

  /**
   * Reads the value committed at `index`, the one after the last read. A
   * change is scheduled, or ignored (and said so) when it is not one this
   * membership can take: every node ignores it alike.
   */
  read(index: number, value: StateT): MembershipChangeNotice | null {
    if (index !== this.settled + 1) throw new RangeError(`membership: value ${index} read after ${this.settled}`);
    this.settled = index;
    const read = readChange(value, this.options.hook);
    if (read.kind === 'none') return null;
    if (read.kind === 'invalid') return this.ignore(index, read.issue);
    const { change, peer } = read;
    const latest = this.latest;
    if (latest.from > index) {
      return this.ignore(index, `the change committed at ${String(latest.committedAt)} takes effect at rank ${latest.from}: one change at a time`);
    }
    const members = this.membersAfter(latest, change);
    if (typeof members === 'string') return this.ignore(index, members);
    const from = effectiveRank(index, this.options.rankWindow);
    let epoch: MembershipEpoch;
    try {
      epoch = epochOf(from, index, members, this.options.faultTolerance, this.options.keyed);
    } catch (error) {
      return this.ignore(index, (error as Error).message);
    }
    this.epochs.push(epoch);
    if (change.op === 'add') this.options.onMember(change.id, peer);
    const notice = { committedAt: index, effectiveFrom: from, change, membership: epoch.membership };
    this.options.logger.trace(
      `membership: ${change.op} ${change.id} committed at ${index} takes effect at rank ${from}: ${epoch.membership.ids.length} members, quorum ${epoch.membership.quorum}`,
    );
    for (const listener of this.listeners) {
      try {
        listener(notice);
      } catch (error) {
        this.options.logger.error('a membership listener threw', error);
      }
    }
    return notice;
  }

  /** The members once `change` is made, or why it cannot be. */
  private membersAfter(latest: MembershipEpoch, change: CheckedChange): EpochMember[] | string {
    const { keyed, faultTolerance } = this.options;
    const present = latest.members.some((member) => member.id === change.id);
    let members: EpochMember[];
    if (change.op === 'remove') {
      if (!present) return `${change.id} is not a member`;
      if (latest.members.length === 1) return `${change.id} is the last member`;
      members = latest.members.filter((member) => member.id !== change.id);
    } else {
      if (present) return `${change.id} is already a member`;
      if (latest.members.length >= MAX_MEMBERS) return `a cluster has at most ${MAX_MEMBERS} members`;
      if (keyed && change.publicKey === undefined) return `${change.id} needs a publicKey: the engines sign`;
      if (!keyed && change.publicKey !== undefined) return `${change.id} has a publicKey, but the engines do not sign`;
      const holder = latest.members.find((member) => member.publicKey !== undefined && member.publicKey === change.publicKey);
      if (holder !== undefined) return `${holder.id} already has ${change.id}'s publicKey`;
      members = [...latest.members, { id: change.id, weight: change.weight, ...(change.publicKey === undefined ? {} : { publicKey: change.publicKey }) }];
    }
    const total = members.reduce((sum, member) => sum + member.weight, 0);
    if (faultTolerance !== undefined && faultTolerance > maxFaultTolerance(total)) {
      return `faultTolerance ${faultTolerance} would be past ⌊(n − 1)/3⌋ = ${maxFaultTolerance(total)} for total weight ${total}`;
    }
    const issues = membershipIssues(members, faultTolerance);
    return issues.length > 0 ? issues.join('; ') : members;
  }

  private ignore(index: number, reason: string): null {
    const message = `membership: ignoring the change committed at ${index}: ${reason}`;
    if (this.options.logger.warn !== undefined) this.options.logger.warn(message);
    else this.options.logger.trace(message);
    return null;
  }

  /**
   * What a snapshot at `index` carries: the epoch deciding its rank and those
   * scheduled after it by changes up to `index` (a node restoring it reads
   * the later ones from the log itself).
   */
  recordAt(index: number): MembershipRecord | undefined {
    // Not read that far: a record would miss the changes in between.
    if (index > this.settled) return undefined;
    const known = this.epochs.filter((epoch) => epoch.committedAt === null || epoch.committedAt <= index);
    let first = 0;
    for (let i = 0; i < known.length; i += 1) if (known[i].from <= index) first = i;
    return {
      epochs: known.slice(first).map((epoch) => ({
        from: epoch.from,
        committedAt: epoch.committedAt,
        faulty: epoch.membership.faulty,
        members: epoch.members.map((member) => ({ ...member })),
      })),
    };
  }

  /** A snapshot at `index` took the place of the log up to it: its memberships are this node's from there on. */
  restore(index: number, epochs: readonly MembershipEpoch[]): void {
    if (index <= this.settled || epochs.length === 0) return;
    this.epochs = [...epochs];
    this.settled = index;
    for (const epoch of epochs) for (const member of epoch.members) this.options.onMember(member.id, null);
    this.options.logger.trace(`membership: as of the snapshot at ${index}, ${this.latest.membership.ids.length} members from rank ${this.latest.from}`);
  }

  /** Forgets the epochs wholly before `rank`: nothing older is verified any more. */
  prune(rank: number): void {
    let drop = 0;
    while (drop + 1 < this.epochs.length && this.epochs[drop + 1].from <= rank) drop += 1;
    if (drop > 0) this.epochs = this.epochs.slice(drop);
  }
}
