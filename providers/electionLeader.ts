import type { LeaderProvider } from './leader';
import type { Identity, Unique } from './unique';

/**
 * The default `LeaderProvider` of a node: the election's current leader is
 * the one prover of a rank's first attempt, so a cluster with nothing faulty
 * sees one proposal and commits it in attempt 0, whatever its voting rule.
 * Should the leader fail, later attempts pass the turn to the other members
 * (the engine's rotation). Proving stays the app's business: it passes its
 * own `proveNextState`.
 */

/** The election leader as a node sees it: read now, or be told when it changes. */
export interface LeaderSource {
  /** The leader's identity, or null while none is known (an election is running). */
  current(): Identity | null;
  /** Called after every change of `current()`; returns the unsubscribe. */
  subscribe(listener: () => void): () => void;
}

/** The half of a `LeaderProvider` that an app keeps when the election picks the leaders. */
export type StateProver<StateT extends Unique, CollectedT extends Unique> = Pick<
  LeaderProvider<StateT, Unique, CollectedT>,
  'proveNextState'
>;

export interface ElectionLeaderProviderOptions<
  StateT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
> {
  /** Every member of the cluster, this node included; order does not matter. */
  members: readonly PeerIDT[];
  /** The member object for an identity, when the membership can change: a leader it does not name is treated as none known. Default: `members`. */
  memberOf?: (id: Identity) => PeerIDT | undefined;
  leader: LeaderSource;
  prover: StateProver<StateT, CollectedT>;
}

/**
 * Builds the default provider. While no leader is known, `getNextLeaders`
 * WAITS for one (rejecting with the signal's reason when the round gives up
 * on it) rather than guessing an order: a cluster with no leader is in an
 * election that normally ends within one election timeout, and a majority
 * that can elect a leader is also what a round needs to finalize, so the
 * round loses nothing by waiting, while proving under a guessed order would
 * spend proofs that the elected leader's order then supersedes.
 */
export function createElectionLeaderProvider<
  StateT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
>(options: ElectionLeaderProviderOptions<StateT, PeerIDT, CollectedT>): LeaderProvider<StateT, PeerIDT, CollectedT> {
  const byIdentity = new Map<Identity, PeerIDT>(options.members.map((member) => [member.identity(), member]));
  const memberOf = options.memberOf ?? ((id: Identity) => byIdentity.get(id));
  // A leader outside the membership cannot prove for it; treated as none known.
  const knownLeader = (): Identity | null => {
    const leader = options.leader.current();
    return leader !== null && memberOf(leader) !== undefined ? leader : null;
  };

  const awaitLeader = (signal: AbortSignal): Promise<Identity> =>
    new Promise((resolve, reject) => {
      const settle = () => {
        const leader = knownLeader();
        if (leader === null) return;
        cleanUp();
        resolve(leader);
      };
      const onAbort = () => {
        cleanUp();
        reject(signal.reason);
      };
      const unsubscribe = options.leader.subscribe(settle);
      const cleanUp = () => {
        unsubscribe();
        signal.removeEventListener('abort', onAbort);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });

  return {
    async getNextLeaders(_prior, signal) {
      if (signal.aborted) throw signal.reason;
      const leader = knownLeader() ?? (await awaitLeader(signal));
      return [(memberOf(leader) as PeerIDT).clone()];
    },
    proveNextState: (prior, collected, signal) => options.prover.proveNextState(prior, collected, signal),
  };
}
