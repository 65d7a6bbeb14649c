import { SimulatedClock } from 'xstate';
import type { ElectionRole } from '../../machines/election.machine';
import type { ElectionMessage } from '../../machines/election.schemas';
import { createNode, type ConsensusNode } from '../../node/createNode';
import type { NodeConfig } from '../../node/config';
import { createSeededRandom } from '../../providers/random';
import { InMemoryElectionStorage } from '../../providers/storage';
import type { RoundEventType, RoundStateName } from '../../machines/round.types';
import { Ballot, Batch, Frame, fixtureCodec, Peer } from '../support/fixtures';
import { sleep } from '../support/time';

/**
 * One node (`n1` of `n1`, `n2`, `n3`) whose peers the test plays: it delivers
 * their election messages by hand and reads what the node sends. The round's
 * providers never finish a proof or a vote, so a round stays undecided.
 */

export type SoloTestNode = ConsensusNode<Frame, Ballot, Peer, Batch>;

export interface Solo {
  readonly node: SoloTestNode;
  readonly clock: SimulatedClock;
  readonly storage: InMemoryElectionStorage;
  readonly outbound: { to: string; message: ElectionMessage }[];
  readonly roles: { from_role: ElectionRole; to_role: ElectionRole; term: number }[];
  readonly leaders: { leader: string | null; term: number }[];
  readonly transitions: { from: RoundStateName; to: RoundStateName; event: RoundEventType }[];
  deliver(from: string, message: ElectionMessage): Promise<void>;
  advance(ms: number): Promise<void>;
}

export interface SoloOptions {
  readonly storage?: InMemoryElectionStorage;
  readonly clock?: SimulatedClock;
  readonly seed?: number;
  readonly start?: boolean;
  readonly config?: Partial<NodeConfig<Frame, Ballot, Peer, Batch>>;
}

export const MEMBERS = ['n1', 'n2', 'n3'] as const;

export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Providers that announce and record but never prove or vote: the round waits in proving, then voting. */
export function inertProviders(clock: SimulatedClock): NodeConfig<Frame, Ballot, Peer, Batch>['providers'] {
  const never = (signal: AbortSignal) => sleep(clock, 24 * 60 * 60 * 1000, signal) as Promise<never>;
  return {
    sync: { synchronize: async (existing) => existing },
    prover: { proveNextState: (_prior, _collected, signal) => never(signal) },
    liveness: {
      collect: async () => new Batch(1, ['tx-1']),
      sendLiveness: async () => {},
    },
    voting: {
      sendProposal: async () => {},
      decideAndSendVote: (_proposals, signal) => never(signal),
      finalizeVotes: (_proposals, _votes, signal) => never(signal),
      sendConfirmation: async () => {},
    },
  };
}

export async function solo(options: SoloOptions = {}): Promise<Solo> {
  const clock = options.clock ?? new SimulatedClock();
  const storage = options.storage ?? new InMemoryElectionStorage();
  const node = createNode<Frame, Ballot, Peer, Batch>({
    id: new Peer('n1'),
    initialState: Frame.genesis(),
    members: MEMBERS.map((name) => new Peer(name)),
    providers: inertProviders(clock),
    codec: fixtureCodec,
    election: { storage, random: createSeededRandom(options.seed ?? 11) },
    clock,
    timeouts: { starting: 10, proving: 20 },
    ...options.config,
  });
  const solo: Solo = {
    node,
    clock,
    storage,
    outbound: [],
    roles: [],
    leaders: [],
    transitions: [],
    async deliver(from, message) {
      node.receiveElectionMessage(from, message);
      await flush();
    },
    async advance(ms) {
      for (let elapsed = 0; elapsed < ms; elapsed += 1) {
        clock.increment(1);
        await flush();
      }
    },
  };
  node.onOutbound((to, message) => solo.outbound.push({ to: to.identity(), message }));
  node.onRoleChange((from_role, to_role, term) => solo.roles.push({ from_role, to_role, term }));
  node.onLeaderChange((leader, term) => solo.leaders.push({ leader: leader?.identity() ?? null, term }));
  node.addListener((from, to, event) => solo.transitions.push({ from, to, event }));
  if (options.start ?? true) {
    node.start();
    await flush();
  }
  return solo;
}

export const heartbeat = (leaderId: string, term: number): ElectionMessage => ({ type: 'heartbeat', term, leaderId });

export const requestVote = (candidateId: string, term: number): ElectionMessage => ({
  type: 'request_vote',
  preVote: false,
  term,
  candidateId,
  lastLogTerm: 0,
  lastLogIndex: 0,
});
