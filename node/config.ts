import { z } from 'zod';
import type { ConsensusEngineConfig, ConsensusProviders, MemberConfig } from '../engine/createConsensusEngine';
import { ConsensusConfigError } from '../engine/errors';
import { describeIssues, uniqueSchema } from '../engine/schemas';
import {
  MAX_CLUSTER_SIZE,
  NodeIdSchema,
  resolveElectionInput,
  type ElectionInput,
  type ElectionTiming,
  type LogPosition,
} from '../machines/election.schemas';
import type { StateProver } from '../providers/electionLeader';
import type { LeaderProvider } from '../providers/leader';
import type { RandomSource } from '../providers/random';
import type { ElectionStorage } from '../providers/storage';
import type { Unique } from '../providers/unique';
import type { WaitClock } from '../services/barrierWait';
import type { CoordinationHost } from '../services/host';

/** What the election of a node needs besides the node's id and members. */
export interface NodeElectionConfig {
  /** Where term and vote are kept; must survive the process (SPEC §3). */
  storage: ElectionStorage;
  /** The node's own seeded stream, e.g. `createSeededRandom(seed).fork()`. */
  random: RandomSource;
  /** Overrides for `DEFAULT_ELECTION_TIMING` (150–300 ms elections, 50 ms heartbeats). */
  timing?: Partial<ElectionTiming>;
  /** Thesis §9.6 pre-vote; default on. */
  preVote?: boolean;
  /** Where this node's log ends, for the §5.4.1 vote check. */
  logPosition?: LogPosition;
}

/**
 * The app's providers. Either its prover, and the node orders the provers
 * from the election's leader (the default), or a full `LeaderProvider` of its
 * own, which the node uses as is.
 */
export type NodeProviders<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
  PayloadT = never,
> = Omit<ConsensusProviders<StateT, VoteT, PeerIDT, CollectedT, PayloadT>, 'leader'> &
  (
    | { prover: StateProver<StateT, CollectedT>; leader?: undefined }
    | { leader: LeaderProvider<StateT, PeerIDT, CollectedT>; prover?: undefined }
  );

/**
 * The coordination services on a node: `host` is its state machine (the
 * engine's `stateMachine`, which may then be left out), and `encode` makes
 * the app's payload of a command or a read, as for `enginePort`.
 */
export interface NodeCoordinationConfig<StateT, PayloadT> {
  host: CoordinationHost<StateT>;
  /** A command or a read as the app's payload; throws (e.g. `ProposalError` `too_large`) when it cannot carry it. */
  encode(kind: 'command' | 'read', body: unknown): PayloadT;
  /** What `barriers.wait` reads the time from and sleeps on. Default: the node's clock, so a simulated node waits in simulated time. */
  waitClock?: WaitClock;
}

export interface NodeConfig<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
  PayloadT = never,
> extends Omit<ConsensusEngineConfig<StateT, VoteT, PeerIDT, CollectedT, PayloadT>, 'providers' | 'members'> {
  /**
   * Every member of the cluster, this node included, optionally with a
   * voting weight for the rounds. Election ids are their identities; the
   * election counts one vote per member.
   */
  members: MemberConfig<PeerIDT>[];
  providers: NodeProviders<StateT, VoteT, PeerIDT, CollectedT, PayloadT>;
  election: NodeElectionConfig;
  /**
   * Restart an undecided round when the election names a leader its prover
   * order does not put first. Default: on with the default leader provider,
   * off with an app's own.
   */
  resyncOnLeaderChange?: boolean;
  /** With it the node has `kv`, `locks` and `barriers` clients over its own log (`createNode`'s overloads say so). */
  coordination?: NodeCoordinationConfig<StateT, PayloadT>;
}

const isFunction = (value: unknown) => typeof value === 'function';
const method = (name: string) => z.custom<unknown>(isFunction, { message: `${name} must be a function` });
const withMethods = (methods: string[]) =>
  z.object(Object.fromEntries(methods.map((name) => [name, method(name)]))).loose();

/** A member's identity doubles as its election node id, so it must be one. */
const memberIdSchema = (label: string) =>
  uniqueSchema(label).superRefine((checked, ctx) => {
    const id = NodeIdSchema.safeParse(checked.id);
    if (!id.success) for (const issue of id.error.issues) ctx.addIssue({ code: 'custom', path: ['id'], message: issue.message });
  });

/** A `{ id, weight }` member entry rather than a bare peer id. */
function isWeighted(entry: unknown): entry is { id: unknown } {
  return typeof entry === 'object' && entry !== null && 'id' in entry && !('identity' in entry);
}

/** Only what the node adds or changes; the rest is the engine's to check. */
const nodePartSchema = z
  .object({
    id: memberIdSchema('id'),
    members: z
      .array(z.unknown().transform((entry) => (isWeighted(entry) ? entry.id : entry)).pipe(memberIdSchema('member')))
      .min(1)
      .max(MAX_CLUSTER_SIZE),
    providers: z
      .object({ prover: withMethods(['proveNextState']).optional(), leader: z.unknown().optional() })
      .loose()
      .refine((providers) => (providers.prover === undefined) !== (providers.leader === undefined), {
        message: 'give either providers.prover (the election orders the provers) or providers.leader, not both',
      }),
    election: z
      .object({
        storage: withMethods(['loadHardState', 'saveHardState']),
        random: withMethods(['integer', 'fraction', 'fork']),
        timing: z.unknown().optional(),
        preVote: z.unknown().optional(),
        logPosition: z.unknown().optional(),
      })
      .strict(),
    resyncOnLeaderChange: z.boolean().optional(),
    coordination: z
      .object({
        host: withMethods(['apply', 'snapshot', 'restore', 'readStale']),
        encode: method('encode'),
        waitClock: withMethods(['now', 'sleep']).optional(),
      })
      .strict()
      .optional(),
  })
  .loose()
  .superRefine((config, ctx) => {
    const ids = config.members.map((member) => member.id);
    if (new Set(ids).size !== ids.length) ctx.addIssue({ code: 'custom', path: ['members'], message: 'member identities must be distinct' });
    // A node outside the founders may start only to be added by a committed change.
    if (!ids.includes(config.id.id) && config.membershipChangeIn === undefined) {
      ctx.addIssue({ code: 'custom', path: ['members'], message: 'members must include the node itself' });
    }
  });

export interface ResolvedNodeConfig<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
> {
  /** For `buildRoundEngineMachine`: the node's leader provider goes in once it is built. */
  engine: Omit<ConsensusEngineConfig<StateT, VoteT, PeerIDT, CollectedT>, 'providers'> & {
    providers: Omit<ConsensusProviders<StateT, VoteT, PeerIDT, CollectedT>, 'leader'>;
  };
  election: ElectionInput;
  selfId: string;
  members: PeerIDT[];
  ownLeader: LeaderProvider<StateT, PeerIDT, CollectedT> | null;
  prover: StateProver<StateT, CollectedT> | null;
  resyncOnLeaderChange: boolean;
}

/** Checks what the node adds to an engine configuration; throws `ConsensusConfigError`. */
export function resolveNodeConfig<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
>(config: NodeConfig<StateT, VoteT, PeerIDT, CollectedT>): ResolvedNodeConfig<StateT, VoteT, PeerIDT, CollectedT> {
  const parsed = nodePartSchema.safeParse(config);
  if (!parsed.success) throw new ConsensusConfigError(describeIssues(parsed.error));
  // Clients answered by one machine while the log feeds another would never hear their answers. Checked on the
  // config as given: parsing copies the host.
  if (config.coordination !== undefined && config.stateMachine !== undefined && config.stateMachine !== config.coordination.host) {
    throw new ConsensusConfigError(['stateMachine: with coordination, stateMachine must be coordination.host or left out']);
  }

  const selfId = parsed.data.id.id;
  const { election, providers, resyncOnLeaderChange, members, coordination, ...engineRest } = config;
  const electionInput: ElectionInput = {
    id: selfId,
    peers: parsed.data.members.map((member) => member.id).filter((id) => id !== selfId),
    timing: election.timing,
    preVote: election.preVote,
    logPosition: election.logPosition,
  };
  try {
    resolveElectionInput(electionInput);
  } catch (error) {
    const issues = error instanceof z.ZodError ? describeIssues(error).map((issue) => `election: ${issue}`) : [String(error)];
    throw new ConsensusConfigError(issues);
  }

  const { prover, leader, ...appProviders } = providers;
  return {
    engine: { ...engineRest, members, providers: appProviders, ...(coordination === undefined ? {} : { stateMachine: coordination.host }) },
    election: electionInput,
    selfId,
    members: parsed.data.members.map((member) => member.value as PeerIDT),
    ownLeader: leader ?? null,
    prover: prover ?? null,
    resyncOnLeaderChange: resyncOnLeaderChange ?? leader === undefined,
  };
}
