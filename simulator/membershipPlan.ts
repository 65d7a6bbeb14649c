import { ledgerMembershipChange, memberEntry, MEMBER_ENTRY } from '../examples/ledger/membership';
import type { LedgerFrame } from '../examples/ledger/types';
import type { CertificateMember } from '../engine/signing/certificate';
import type { EventClock } from './EventClock';

/** A membership change the run proposes at `at` (ms, simulated), through a live honest member, until it commits. */
export interface MemberChangeSpec {
  at: number;
  op: 'add' | 'remove';
  node: string;
}

interface Epoch {
  from: number;
  members: string[];
}

/**
 * The membership of every height as the ledger's documented rule gives it,
 * read from the agreed chain alone (the first frame any honest node
 * finalized at each height), never from an engine's own view: a frame's
 * first `m:` entry adds or removes one member from height c + rankWindow + 1
 * on; a change while another is pending, adding a member, removing a
 * non-member or the last one, is ignored. The checkers verify proposers and
 * certificates against it, so an engine that switched at another height, or
 * counted someone it should not have, is caught.
 */
export class ReferenceMembership {
  private readonly epochs: Epoch[];
  private settled = 0;
  /** The height of each membership entry read, whether it changed anything or not. */
  private readonly entryHeights = new Map<string, number>();

  constructor(
    founders: readonly string[],
    private readonly rankWindow: number,
    private readonly frameAt: (height: number) => LedgerFrame | undefined,
  ) {
    this.epochs = [{ from: 0, members: [...founders] }];
  }

  /** Reads every agreed frame not read yet, in height order. */
  catchUp(): void {
    for (let frame = this.frameAt(this.settled + 1); frame !== undefined; frame = this.frameAt(this.settled + 1)) {
      this.settled = frame.height;
      this.read(frame);
    }
  }

  private read(frame: LedgerFrame): void {
    for (const entry of frame.entries) if (MEMBER_ENTRY.test(entry) && !this.entryHeights.has(entry)) this.entryHeights.set(entry, frame.height);
    // The ledger's reading of the frame (its first change entry); what the change does is decided here.
    const change = ledgerMembershipChange(frame);
    const latest = this.epochs[this.epochs.length - 1];
    if (change === null || latest.from > frame.height) return;
    const { op } = change;
    const name = typeof change.id === 'string' ? change.id : change.id.identity();
    const from = frame.height + this.rankWindow + 1;
    if (op === 'add' && !latest.members.includes(name)) this.epochs.push({ from, members: [...latest.members, name] });
    if (op === 'remove' && latest.members.includes(name) && latest.members.length > 1) {
      this.epochs.push({ from, members: latest.members.filter((member) => member !== name) });
    }
  }

  /** The members deciding `rank`, as far as the agreed chain read so far says. */
  membersAt(rank: number): string[] {
    this.catchUp();
    let found = this.epochs[0];
    for (const epoch of this.epochs) if (epoch.from <= rank) found = epoch;
    return found.members;
  }

  /** For `LedgerMembers.bind`: the same, shaped as the engine's membership. */
  getMembershipAt(rank: number): { ids: readonly string[] } {
    return { ids: this.membersAt(rank) };
  }

  /** The certificate members of `rank`, with their keys. */
  certificateMembersAt(rank: number, publicKeys: Readonly<Record<string, string>>): CertificateMember[] {
    return this.membersAt(rank).map((id) => ({ id, publicKey: publicKeys[id], weight: 1 }));
  }

  /** The height of the agreed frame that carries membership entry `entry`, if one does. */
  heightOf(entry: string): number | null {
    this.catchUp();
    return this.entryHeights.get(entry) ?? null;
  }

  /** Every epoch: from which height, which members. */
  history(): Array<{ from: number; members: string[] }> {
    this.catchUp();
    return this.epochs.map(({ from, members }) => ({ from, members: [...members] }));
  }
}

export interface MemberChangeDriver {
  clock: EventClock;
  /** The honest nodes now up, founders first: who may be asked to propose. */
  proposers(): Array<{ name: string; propose(payload: string): Promise<{ outcome: string; index?: number }> }>;
  publicKeyOf(node: string): string | undefined;
  /** The highest height an honest node finalized. */
  frontier(): number;
  /** The height of the agreed chain that carries `entry`, if one does. */
  committedAt(entry: string): number | null;
  rankWindow: number;
  /** A change committed at log index `index`. */
  onCommitted(change: MemberChangeSpec, index: number): void;
  note(detail: string): void;
}

/** How long the driver waits between tries when a proposal did not commit (a crashed or cut-off proposer). */
const RETRY_MS = 200;

/**
 * Proposes each change at its time through a live honest member, and again
 * through the next one until it commits. The next change waits for the one
 * before to take effect (c + rankWindow + 1): the engine takes one change
 * at a time and ignores a second one committed while the first is pending.
 *
 * A proposer that crashes never answers (its pending proposal dies with it),
 * yet the entry it passed on may still be committed by another member: so
 * the agreed chain, not the proposer's answer alone, says whether and where
 * a change committed, and a proposer gone down is replaced.
 */
export function driveMemberChanges(changes: readonly MemberChangeSpec[], driver: MemberChangeDriver): { pending(): number } {
  let done = 0;
  let turn = 0;
  // One tag per change, its retries included: a retry of a change that did commit is then a duplicate.
  const entryOf = (change: MemberChangeSpec) =>
    memberEntry(change.op, change.node, `c${changes.indexOf(change)}`, change.op === 'add' ? driver.publicKeyOf(change.node) : undefined);
  const committed = (index: number) => {
    driver.onCommitted(changes[done], index);
    done += 1;
    const next = changes[done];
    if (next !== undefined) whenEffective(index, () => driver.clock.setTimeout(() => attempt(next), Math.max(0, next.at - driver.clock.now())));
  };
  const attempt = (change: MemberChangeSpec) => {
    const entry = entryOf(change);
    const already = driver.committedAt(entry);
    if (already !== null) return committed(already);
    const candidates = driver.proposers();
    if (candidates.length === 0) {
      driver.clock.setTimeout(() => attempt(change), RETRY_MS);
      return;
    }
    const proposer = candidates[turn++ % candidates.length];
    driver.note(`${proposer.name} proposes ${entry}`);
    let settled = false;
    const settle = (then: () => void) => {
      if (settled) return;
      settled = true;
      then();
    };
    const retry = () => driver.clock.setTimeout(() => attempt(change), RETRY_MS);
    proposer.propose(entry).then(
      (outcome) => settle(() => (outcome.outcome === 'committed' && outcome.index !== undefined ? committed(outcome.index) : retry())),
      () => settle(retry),
    );
    const watch = () => {
      if (settled) return;
      const index = driver.committedAt(entry);
      if (index !== null) settle(() => committed(index));
      else if (!driver.proposers().some((candidate) => candidate.name === proposer.name)) settle(() => attempt(change));
      else driver.clock.setTimeout(watch, RETRY_MS);
    };
    driver.clock.setTimeout(watch, RETRY_MS);
  };
  const whenEffective = (index: number, then: () => void) => {
    if (driver.frontier() > index + driver.rankWindow) then();
    else driver.clock.setTimeout(() => whenEffective(index, then), RETRY_MS);
  };
  if (changes.length > 0) driver.clock.setTimeout(() => attempt(changes[0]), changes[0].at);
  return { pending: () => changes.length - done };
}
