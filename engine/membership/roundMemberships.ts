import type { RoundMachine } from '../../machines/round.machine';
import type { ActorRefFrom } from 'xstate';
import type { CatchUp } from '../catchUp';
import type { CommitLog } from '../commitLog';
import type { EngineMemberships } from './engineMemberships';
import type { MembershipFollower } from './followLog';

/**
 * Keeps the round machine's memberships in step with the history: it hears
 * of every change scheduled, and of the log read further than its own
 * commits took it (entries filled in, a snapshot restored). A state adopted
 * by syncing tells the log how far the cluster got, so the ranks skipped
 * are fetched: until they are read, ranks past them have no known membership
 * and this node neither keeps their messages nor votes. If it refused any
 * meanwhile, the cluster moved on without it: the round syncs once more
 * when the reading is done (a shorter stretch to read each time), since
 * what it refused is not sent again. Returns what the engine calls when it
 * refuses a message as too far ahead.
 */
export function roundMemberships<StateT, PeerIDT>(
  round: ActorRefFrom<RoundMachine>,
  memberships: EngineMemberships,
  follower: MembershipFollower,
  log: CommitLog<StateT, PeerIDT>,
  catchUp: Pick<CatchUp<never, never>, 'check'> | null,
): () => void {
  const history = memberships.history;
  if (history === null) return () => {};
  /** A sync left the log unread up to the rank adopted; whether a message was refused as too far ahead since. */
  let reading: { left: boolean } | null = null;
  follower.onRead = (scheduled) => {
    const { membershipSettledThrough, activeRank } = round.getSnapshot().context;
    if (scheduled || history.settledThrough > (membershipSettledThrough ?? -1)) {
      round.send({ type: 'memberships_updated', schedule: history.schedule(), settledThrough: history.settledThrough });
    }
    if (reading === null || history.settledThrough < activeRank) return;
    const { left } = reading;
    reading = null;
    if (left) round.send({ type: 'induce_sync' });
  };
  round.on('state_entered', ({ event }) => {
    if (event !== 'sync_complete') return;
    const { activeRank } = round.getSnapshot().context;
    if (activeRank <= history.settledThrough) return;
    reading = { left: false };
    log.expect(activeRank);
    catchUp?.check();
  });
  return () => {
    if (reading !== null) reading.left = true;
  };
}
