import type { Membership } from '../../guards/quorum';
import { membershipsFor } from '../../guards/membership';
import type { RoundInput } from '../../machines/round.types';
import type { TraceLogger } from '../../providers/trace';
import type { Identity, Unique } from '../../providers/unique';
import { DEFAULT_RANK_WINDOW, type ConsensusEngineConfig } from '../config';
import type { MemberKeys } from '../signing/certificate';
import type { ResumedLog } from '../storedLog';
import {
  epochOf,
  epochsOfRecord,
  MembershipHistory,
  membershipRecordSchema,
  type EpochMember,
  type MembershipChangeNotice,
  type MembershipRecord,
} from './history';

/**
 * The engine's memberships: fixed by the configuration, or read from the
 * commit log when the app says which values carry a change
 * (`membershipChangeIn`). Either way every part of the engine asks this for
 * the membership of a message's rank.
 */
export interface EngineMemberships {
  /** The history read from the log; null when the membership never changes. */
  readonly history: MembershipHistory<unknown, Unique> | null;
  /** What the round machine starts with. */
  readonly input: Pick<RoundInput, 'membership' | 'membershipsAhead' | 'membershipSettledThrough'>;
  /** The membership deciding `rank`; null for a rank older than the oldest kept. */
  at(rank: number): Membership | null;
  /** The members' keys at `rank`, for an engine with keys; null without. */
  keysAt(rank: number): MemberKeys | null;
  /** A member of any membership kept: who may send this node what it needs. */
  isKnown(id: Identity): boolean;
  /** The most members any membership kept has. */
  largest(): number;
  /** What a snapshot at `index` carries; undefined when the membership never changes. */
  recordAt(index: number): MembershipRecord | undefined;
  onChange(listener: (notice: MembershipChangeNotice) => void): () => void;
}

/** A peer object for a member known only by its identity, when the app gives no way to make one. */
function plainPeer(id: Identity): Unique {
  const peer = { identity: () => id, clone: () => peer, rank: () => 0 };
  return peer;
}

/**
 * The memberships an engine starts with: the configured one, or, for an
 * engine whose membership changes, the one its stored snapshot carries
 * (else the configured one at its initial state), then every change its
 * stored log holds after that, read in order.
 */
export function engineMemberships<StateT extends Unique, PeerIDT extends Unique>(
  config: ConsensusEngineConfig<StateT, Unique, PeerIDT, Unique, unknown>,
  configured: { membership: Membership; publicKeys: ReadonlyMap<Identity, string>; peers: Map<Identity, PeerIDT> },
  resumed: ResumedLog<StateT, PeerIDT> | null,
  baseKeys: MemberKeys | null,
  logger: TraceLogger,
): EngineMemberships {
  const { membership, publicKeys, peers } = configured;
  const hook = config.membershipChangeIn;
  if (hook === undefined) {
    return {
      history: null,
      input: { membership },
      at: () => membership,
      keysAt: () => baseKeys,
      isKnown: (id) => Object.prototype.hasOwnProperty.call(membership.weights, id),
      largest: () => membership.ids.length,
      recordAt: () => undefined,
      onChange: () => () => false,
    };
  }
  const keyed = config.privateKey !== undefined;
  const members: EpochMember[] = membership.ids.map((id) => ({
    id,
    weight: membership.weights[id],
    ...(publicKeys.has(id) ? { publicKey: publicKeys.get(id) as string } : {}),
  }));
  const initial = Number(config.initialState.rank());
  let base = [epochOf(0, null, members, config.faultTolerance, keyed)];
  let settled = initial;
  const snapshot = resumed?.snapshot ?? null;
  if (snapshot !== null) {
    settled = snapshot.index;
    // Written by this node: a record that does not read back is as damaged as any other stored record.
    if (snapshot.membership !== undefined) base = epochsOfRecord(membershipRecordSchema.parse(snapshot.membership), keyed);
  } else if (resumed !== null && resumed.entries[0]?.index === 1) {
    // The configured members are the log's first: an app resuming from a state of its own
    // (a ledger's stored head) has every change since in the stored log, read from its start.
    settled = 0;
  }
  const history = new MembershipHistory<StateT, PeerIDT>({
    base,
    settledThrough: settled,
    rankWindow: config.rankWindow ?? DEFAULT_RANK_WINDOW,
    faultTolerance: config.faultTolerance,
    keyed,
    hook,
    logger,
    onMember: (id, peer) => {
      if (peer !== null) peers.set(id, peer);
      else if (!peers.has(id)) peers.set(id, config.memberPeer?.(id) ?? (plainPeer(id) as PeerIDT));
    },
  });
  for (const entry of resumed?.entries ?? []) {
    if (entry.index === history.settledThrough + 1) history.read(entry.index, entry.payload);
  }
  const resumedRank = Number((resumed?.state ?? config.initialState).rank());
  const view = history as unknown as MembershipHistory<unknown, Unique>;
  return {
    history: view,
    input: {
      ...membershipsFor(history.at(resumedRank + 1)?.membership ?? history.latest.membership, history.schedule(), resumedRank + 1),
      membershipSettledThrough: history.settledThrough,
    },
    at: (rank) => history.at(rank)?.membership ?? null,
    keysAt: (rank) => history.at(rank)?.keys ?? null,
    isKnown: (id) => history.isKnown(id),
    largest: () => history.largest(),
    recordAt: (index) => history.recordAt(index),
    onChange(listener) {
      history.listeners.add(listener);
      return () => history.listeners.delete(listener);
    },
  };
}
