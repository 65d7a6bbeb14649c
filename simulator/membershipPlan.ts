import { memberEntry, MEMBER_ENTRY } from '../examples/ledger/membership';
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
    const entry = frame.entries.find((candidate) => MEMBER_ENTRY.test(candidate));
    const latest = this.epochs[this.epochs.length - 1];
    if (entry === undefined || latest.from > frame.height) return;
    const [, , op, name] = entry.split(':');
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
 */
export function driveMemberChanges(changes: readonly MemberChangeSpec[], driver: MemberChangeDriver): { pending(): number } {
  let done = 0;
  let turn = 0;
  const attempt = (change: MemberChangeSpec) => {
    const candidates = driver.proposers();
    if (candidates.length === 0) {
      driver.clock.setTimeout(() => attempt(change), RETRY_MS);
      return;
    }
    const proposer = candidates[turn++ % candidates.length];
    // One tag per change, its retries included: a retry of a change that did commit is then a duplicate.
    const entry = memberEntry(change.op, change.node, `c${changes.indexOf(change)}`, change.op === 'add' ? driver.publicKeyOf(change.node) : undefined);
    driver.note(`${proposer.name} proposes ${entry}`);
    proposer.propose(entry).then(
      (outcome) => {
        if (outcome.outcome === 'committed' && outcome.index !== undefined) {
          driver.onCommitted(change, outcome.index);
          done += 1;
          const next = changes[done];
          if (next !== undefined) whenEffective(outcome.index, () => driver.clock.setTimeout(() => attempt(next), Math.max(0, next.at - driver.clock.now())));
        } else driver.clock.setTimeout(() => attempt(change), RETRY_MS);
      },
      () => driver.clock.setTimeout(() => attempt(change), RETRY_MS),
    );
  };
  const whenEffective = (index: number, then: () => void) => {
    if (driver.frontier() > index + driver.rankWindow) then();
    else driver.clock.setTimeout(() => whenEffective(index, then), RETRY_MS);
  };
  if (changes.length > 0) driver.clock.setTimeout(() => attempt(changes[0]), changes[0].at);
  return { pending: () => changes.length - done };
}
