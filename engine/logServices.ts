import type { RelayProvider } from '../providers/relay';
import { keepsLog } from '../providers/storage';
import type { Identity, Unique } from '../providers/unique';
import type { RoundEngineBuild } from './build';
import { CatchUp } from './catchUp';
import { CertificateRelay } from './certificateRelay';
import { CommitLog } from './commitLog';
import { DEFAULT_LOG_RETENTION, DEFAULT_SNAPSHOT_INTERVAL } from './config';
import { DurableLog } from './durableLog';
import { DEFAULT_MAX_SNAPSHOT_CHARS, SnapshotTransfer } from './snapshotTransfer';
import { startStateMachine, type StateMachineRunner } from './stateMachine';
import { followMemberships, type MembershipFollower } from './membership/followLog';

/** What an engine keeps of its commits, and what serves them to peers and to the app's state machine. */
export interface LogServices<StateT extends Unique, PeerIDT extends Unique> {
  log: CommitLog<StateT, PeerIDT>;
  /** The app's state machine, fed from the log; null without `stateMachine`. */
  runner: StateMachineRunner<StateT, PeerIDT> | null;
  /** The log in storage; null when the storage keeps none. */
  durable: DurableLog<StateT, PeerIDT> | null;
  /** Fetching skipped entries from peers; null without keys or a relay. */
  catchUp: CatchUp<StateT, PeerIDT> | null;
  certificateRelay: CertificateRelay<StateT, PeerIDT> | null;
  /** Snapshots to and from peers; null without a state machine, keys or a relay. */
  snapshots: SnapshotTransfer<StateT, PeerIDT> | null;
  /** The memberships read from the log as it grows. */
  memberships: MembershipFollower;
}

/**
 * Builds the engine's log as storage left it: the state machine restored
 * from the stored snapshot first, then each stored entry appended (and
 * applied) in order, then what writes, fetches and serves entries.
 */
export function logServices<StateT extends Unique, VoteT extends Unique, PeerIDT extends Unique, CollectedT extends Unique>(
  build: RoundEngineBuild<StateT, VoteT, PeerIDT, CollectedT>,
  links: { peerOf: (id: Identity) => PeerIDT; rankWindow: () => number },
): LogServices<StateT, PeerIDT> {
  const { config, logger, clock, signing, memberships: engineMemberships, maxValueSize } = build;
  const retention = config.logRetention ?? DEFAULT_LOG_RETENTION;
  const resumed = build.resumed?.entries ?? [];
  const storage = keepsLog(config.storage) ? config.storage : null;
  const log = new CommitLog<StateT, PeerIDT>(retention, resumed[0]?.index ?? Number(build.input.initialState.rank()) + 1);
  // First to watch the log: a snapshot taken at an index carries the change read there.
  const memberships = followMemberships(engineMemberships, log);
  const history = engineMemberships.history;
  const runner =
    config.stateMachine === undefined
      ? null
      : startStateMachine<StateT, PeerIDT>({
          machine: config.stateMachine,
          log,
          codec: config.codec.state,
          logger,
          interval: config.snapshotInterval ?? DEFAULT_SNAPSHOT_INTERVAL,
          storage,
          applied: Number(config.initialState.rank()),
          latest: build.resumed?.snapshot ?? null,
          membershipAt: engineMemberships.recordAt,
        });
  // After the state machine is restored: it applies each stored entry as it enters a log that may keep fewer.
  for (const entry of resumed) log.append(entry);
  const durable =
    storage === null
      ? null
      : // Without snapshots to carry the membership, a restart reads it from the whole stored log: none of it is let go.
        new DurableLog(storage, log, config.codec.state, logger, Math.max(1, Math.floor(retention / 10)), () => runner?.coveredBelow ?? (history === null ? Infinity : -Infinity));
  const relay = config.providers.relay as RelayProvider<StateT, PeerIDT, unknown> | undefined;
  // One interval for everything the relay repeats: certificates to a peer, requests for missing entries, snapshots.
  const interval = config.certificateRelay?.interval ?? 200;
  const catchUp =
    signing === null || relay === undefined
      ? null
      : new CatchUp<StateT, PeerIDT>({
          log,
          signing,
          relay,
          clock,
          logger,
          codec: config.codec.state,
          maxValueSize,
          peerOf: links.peerOf,
          interval,
          knownRank: () => (history === null ? Infinity : history.settledThrough + links.rankWindow() + 1),
          ...(history === null ? {} : { readThrough: () => history.settledThrough }),
        });
  const certificateRelay =
    relay === undefined
      ? null
      : new CertificateRelay<StateT, PeerIDT>({
          self: config.id.identity(),
          log,
          relay,
          clock,
          logger,
          peerOf: links.peerOf,
          delay: config.certificateRelay?.delay ?? 100,
          interval,
          bound: () => engineMemberships.largest() * links.rankWindow(),
          relaysLogged: config.messaging === 'linear',
        });
  const snapshots =
    runner === null || signing === null || relay === undefined
      ? null
      : new SnapshotTransfer<StateT, PeerIDT>({
          runner,
          log,
          signing,
          memberships: engineMemberships,
          keyed: true,
          relay,
          clock,
          logger,
          codec: config.codec.state,
          maxValueSize,
          maxSnapshotChars: config.maxSnapshotSize ?? DEFAULT_MAX_SNAPSHOT_CHARS,
          peerOf: links.peerOf,
          interval: 5 * interval,
          beforeRestore: (snapshot) => memberships.restored(snapshot, true),
        });
  return { log, runner, durable, catchUp, certificateRelay, snapshots, memberships };
}
