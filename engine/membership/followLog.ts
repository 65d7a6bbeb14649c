import type { Unique } from '../../providers/unique';
import type { CommitLog } from '../commitLog';
import type { Snapshot } from '../stateMachine';
import type { EngineMemberships } from './engineMemberships';
import { epochsOfRecord } from './history';

/** How the engine's memberships keep up with its log. */
export interface MembershipFollower {
  /** Called after the history read on, with whether it scheduled a change: the round hears of it. */
  onRead: ((scheduled: boolean) => void) | null;
  /** A snapshot from peers took the log's place up to its index: its memberships are this node's from there. */
  restored(snapshot: Snapshot<Unique>, keyed: boolean): void;
}

/**
 * Reads each value as it enters the log, in index order (a value filled in
 * below the last one read is read when the gap closes). Watching the log
 * before anything else does (the state machine's snapshots among them)
 * means a snapshot at an index always carries the change committed there.
 */
export function followMemberships<StateT extends Unique, PeerIDT>(memberships: EngineMemberships, log: CommitLog<StateT, PeerIDT>): MembershipFollower {
  const history = memberships.history;
  const follower: MembershipFollower = {
    onRead: null,
    restored(snapshot, keyed) {
      if (history === null || snapshot.membership === undefined) return;
      history.restore(snapshot.index, epochsOfRecord(snapshot.membership, keyed));
      readOn();
    },
  };
  function readOn(): void {
    if (history === null) return;
    let scheduled = false;
    for (let entry = log.get(history.settledThrough + 1); entry !== undefined; entry = log.get(history.settledThrough + 1)) {
      if (history.read(entry.index, entry.payload) !== null) scheduled = true;
    }
    // Nothing older than the log holds is verified any more (a snapshot is sent with the record it was taken with).
    history.prune(log.first);
    follower.onRead?.(scheduled);
  }
  if (history !== null) log.watch(() => readOn());
  return follower;
}
