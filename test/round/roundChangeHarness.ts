import { SimulatedClock } from 'xstate';
import {
  createConsensusEngine,
  DEFAULT_ROUND_TIMEOUTS,
  type CommitRecord,
  type ConsensusEngine,
  type ConsensusEngineConfig,
  type ConsensusProviders,
  type RoundContext,
  type RoundEventType,
  type RoundStateName,
  type RoundTimeouts,
} from '../../index';
import type { AttemptChange } from '../../engine/createConsensusEngine';
import type { AttemptPosition } from '../../providers/voting';
import { createMembership } from '../../guards/quorum';
import { InMemorySafetyStorage, type RoundSafetyRecord, type RoundSafetyStorage } from '../../providers/storage';
import { Ballot, Batch, Frame, fixtureCodec, Peer } from '../support/fixtures';
import { advance, advanceUntil, flush } from '../support/time';

/**
 * One engine of a four-member cluster (n0 … n3, f = 1), its peers played by
 * the test: every message is injected with an explicit position, every
 * provider call and every durable save is recorded in one journal, and time
 * only moves on the engine's SimulatedClock.
 */

export const MEMBERS = ['n0', 'n1', 'n2', 'n3'];

export type RoundChangeEngine = ConsensusEngine<Frame, Ballot, Peer, Batch>;
type Providers = ConsensusProviders<Frame, Ballot, Peer, Batch>;
type Voting = Providers['voting'];

export const peer = (name: string) => new Peer(name);

/** A proposal for `height`: its identity covers the payload, so two payloads are two values. */
export const proposalFrame = (prover: string, payload: string, height = 1) =>
  new Frame(height, height === 1 ? Frame.genesis().hash : `parent-${height - 1}`, payload, prover);

/** `voter`'s vote for `value`, endorsing the prover that made it. */
export const ballotFor = (voter: string, value: Frame) => new Ballot(value.height, voter, value.prover, value.hash);

/** A nil vote at `rank`: it endorses no prover and no value. */
export const nilBallot = (voter: string, rank: number) => new Ballot(rank, voter, '', 'nil');

export interface VotingHandlers {
  sendProposal: Voting['sendProposal'];
  decideAndSendVote: Voting['decideAndSendVote'];
  finalizeVotes: Voting['finalizeVotes'];
  sendConfirmation: Voting['sendConfirmation'];
  sendNilConfirmation: NonNullable<Voting['sendNilConfirmation']>;
}

/** What decideAndSendVote was offered: prover → proposal identity, and the position. */
export interface VoteOffer {
  offered: Record<string, string>;
  position: AttemptPosition;
}

export interface TimedAttemptChange extends AttemptChange {
  at: number;
}

export interface TimedTransition {
  at: number;
  from: RoundStateName;
  to: RoundStateName;
  event: RoundEventType;
}

export interface RoundChangeNodeOptions {
  /** This node's id. Default 'n0', which is not a prover: it only votes. */
  id?: string;
  /** Provers of every rank, priority order; attempt a > 0 has provers[a % length] only. */
  provers?: string[];
  timeouts?: Partial<RoundTimeouts>;
  /** Shared with a restarted node to model a crash. Default: a fresh one. */
  storage?: InMemorySafetyStorage;
  /** Where provider calls and durable saves are written, in order. Default: a fresh array. */
  journal?: string[];
  config?: Partial<ConsensusEngineConfig<Frame, Ballot, Peer, Batch>>;
}

/** Describes a saved safety record in one line, for exact ordering assertions. */
export function describeRecord(record: RoundSafetyRecord): string {
  const lock = record.lock === null ? 'none' : `${record.lock.contentId}@${record.lock.attempt}`;
  return `saved rank=${record.rank} voted=${record.votedAttempt} confirmed=${record.confirmedAttempt} lock=${lock}`;
}

/** The storage as the engine sees it: every save is journalled once it is durable. */
class JournalledStorage implements RoundSafetyStorage {
  constructor(
    private readonly inner: InMemorySafetyStorage,
    private readonly journal: string[],
  ) {}
  loadRoundSafety() {
    return this.inner.loadRoundSafety();
  }
  async saveRoundSafety(record: RoundSafetyRecord) {
    await this.inner.saveRoundSafety(record);
    this.journal.push(describeRecord(record));
  }
}

export class RoundChangeNode {
  readonly clock = new SimulatedClock();
  readonly engine: RoundChangeEngine;
  readonly storage: InMemorySafetyStorage;
  readonly journal: string[];
  readonly provers: string[];
  readonly handlers: VotingHandlers;
  readonly offers: VoteOffer[] = [];
  /** Every proposal this node sent, with the attempt it cites as valid. */
  readonly proposalsSent: Array<{ value: string; attempt: number; validAttempt: number | null }> = [];
  readonly confirmationsSent: Array<{ value: string | null; position: AttemptPosition }> = [];
  readonly attemptChanges: TimedAttemptChange[] = [];
  readonly commits: Array<CommitRecord<Frame, Peer> & { at: number }> = [];
  readonly transitions: TimedTransition[] = [];
  readonly self: string;
  /** What proving does; by default this node is no prover and refuses. */
  private prover: () => Promise<Frame> = async () => {
    throw new Error(`${this.self} is not a prover in these scenarios`);
  };

  constructor(options: RoundChangeNodeOptions = {}) {
    this.self = options.id ?? 'n0';
    this.provers = options.provers ?? ['n1', 'n2', 'n3'];
    this.storage = options.storage ?? new InMemorySafetyStorage();
    this.journal = options.journal ?? [];
    const self = this.self;
    const journal = this.journal;

    // Honest defaults: vote for the first proposal offered, nil when none is;
    // finalize the one locked proposal (the engine counts the quorums).
    this.handlers = {
      sendProposal: async () => {},
      decideAndSendVote: async (proposals, _signal, position) => {
        const first = [...proposals.entries()][0];
        if (first === undefined) return { proposer: null, vote: nilBallot(self, position.rank) };
        const [prover, value] = first;
        return { proposer: peer(prover), vote: new Ballot(value.height, self, prover, value.hash) };
      },
      finalizeVotes: async (proposals) => {
        const [prover, value] = [...proposals.entries()][0];
        return { state: value, proposer: peer(prover) };
      },
      sendConfirmation: async () => {},
      sendNilConfirmation: async () => {},
    };
    const handlers = this.handlers;
    const voting: Voting = {
      sendProposal: (proposal, signal, position) => {
        journal.push(`send proposal ${proposal.hash} attempt=${position.attempt}`);
        this.proposalsSent.push({ value: proposal.hash, attempt: position.attempt, validAttempt: position.validAttempt });
        return handlers.sendProposal(proposal, signal, position);
      },
      decideAndSendVote: (proposals, signal, position) => {
        const offered = Object.fromEntries([...proposals.entries()].map(([prover, value]) => [prover, value.hash]));
        this.offers.push({ offered, position: { ...position } });
        journal.push(`send vote attempt=${position.attempt}`);
        return handlers.decideAndSendVote!(proposals, signal, position);
      },
      finalizeVotes: (proposals, votes, signal) => handlers.finalizeVotes(proposals, votes, signal),
      sendConfirmation: (state, signal, position) => {
        this.confirmationsSent.push({ value: state.hash, position: { ...position } });
        journal.push(`send confirmation ${state.hash} attempt=${position.attempt}`);
        return handlers.sendConfirmation(state, signal, position);
      },
      sendNilConfirmation: (position, signal) => {
        this.confirmationsSent.push({ value: null, position: { ...position } });
        journal.push(`send nil confirmation attempt=${position.attempt}`);
        return handlers.sendNilConfirmation(position, signal);
      },
    };
    const providers: Providers = {
      sync: { synchronize: async (existing) => existing },
      leader: {
        getNextLeaders: async () => this.provers.map(peer),
        proveNextState: () => this.prover(),
      },
      liveness: {
        collect: async () => new Batch(this.engine.getActiveRank() + 1, ['tx']),
        sendLiveness: async () => {},
      },
      voting,
    };

    this.engine = createConsensusEngine<Frame, Ballot, Peer, Batch>({
      id: peer(self),
      initialState: Frame.genesis(),
      providers,
      codec: fixtureCodec,
      clock: this.clock,
      members: MEMBERS.map(peer),
      storage: new JournalledStorage(this.storage, journal),
      timeouts: { starting: 10, ...options.timeouts },
      ...options.config,
    });
    this.engine.addListener((from, to, event) => this.transitions.push({ at: this.clock.now(), from, to, event }));
    this.engine.onAttemptChange((change) => this.attemptChanges.push({ ...change, at: this.clock.now() }));
    this.engine.onCommit((commit) => this.commits.push({ ...commit, at: this.clock.now() }));
  }

  /**
   * Starts the engine and brings it to voting in attempt 0 of `activeRank + 1`:
   * the first prover's liveness completes liveness_check, and this node,
   * not a prover, goes straight on to vote.
   */
  async startVoting(): Promise<void> {
    this.engine.start();
    await this.awaitVoting();
  }

  /** Announces the first prover alive for the next rank and waits until this node votes in it. */
  async awaitVoting(limitMs = 1_000): Promise<void> {
    this.engine.receiveLivenessCheck(peer(this.provers[0]), new Batch(this.engine.getActiveRank() + 1, ['tx']));
    await advanceUntil(this.clock, () => this.engine.getState() === 'voting', limitMs, 1);
  }

  /** Makes this node prove with `prove` (it must be among the provers to be asked). */
  setProver(prove: () => Promise<Frame>): void {
    this.prover = prove;
  }

  /** Moves simulated time 1 ms at a time, so every timer fires at its own instant. */
  step(ms: number): Promise<void> {
    return advance(this.clock, ms, 1);
  }

  /** Advances until `done()` holds; fails after `limitMs` of simulated time. */
  until(done: () => boolean, limitMs: number): Promise<number> {
    return advanceUntil(this.clock, done, limitMs, 1);
  }

  settle(): Promise<void> {
    return flush();
  }

  // Peers' messages, each with its explicit position; each settles before returning.

  async proposal(from: string, value: Frame, attempt: number, validAttempt: number | null = null): Promise<void> {
    this.engine.receiveProposal(peer(from), value, { attempt, validAttempt });
    await flush();
  }

  /** `voter`'s vote for `value`, naming as its proposer `proposer` (by default the frame's prover). */
  async vote(voter: string, value: Frame, attempt: number, proposer = value.prover): Promise<void> {
    this.engine.receiveVote(peer(proposer), peer(voter), ballotFor(voter, value), { attempt, proposal: value.hash });
    await flush();
  }

  async nilVote(voter: string, attempt: number, rank = this.engine.getActiveRank() + 1): Promise<void> {
    this.engine.receiveNilVote(peer(voter), nilBallot(voter, rank), { attempt });
    await flush();
  }

  async confirm(from: string, value: Frame, attempt: number): Promise<void> {
    this.engine.receiveConfirmation(peer(from), value, { attempt });
    await flush();
  }

  async confirmNil(from: string, attempt: number, rank = this.engine.getActiveRank() + 1): Promise<void> {
    this.engine.receiveNilConfirmation(peer(from), { rank, attempt });
    await flush();
  }

  /** The times this node entered voting from proving: each one arms the attempt's timer. */
  votingEntries(): number[] {
    return this.transitions.filter((t) => t.from === 'proving' && t.to === 'voting').map((t) => t.at);
  }

  context(): RoundContext {
    return this.engine.actor.getSnapshot().context;
  }
}

/**
 * A round context as a node n0 would hold it in attempt `attempt` of rank 1
 * with provers n1, n2, n3 known: what the pure guards are judged on.
 */
export function guardContext(overrides: Partial<RoundContext> = {}): RoundContext {
  const genesis = Frame.genesis();
  return {
    self: peer('n0'),
    selfId: 'n0',
    activeState: genesis,
    activeRank: 0,
    nextState: null,
    nextProposer: null,
    collected: null,
    nextProvers: ['n1', 'n2', 'n3'].map(peer),
    nextProversRank: 1,
    livenessAnnounced: false,
    liveness: {},
    proposals: {},
    votes: {},
    confirmations: {},
    attempt: 0,
    votedAttempt: -1,
    confirmedAttempt: -1,
    confirmationSentAttempt: -1,
    attemptExtended: -1,
    lock: null,
    valid: null,
    finding: null,
    attemptsSeen: {},
    provenValue: null,
    polka: null,
    restored: null,
    attemptWindow: 4,
    attested: {},
    thresholds: { provers: 1, liveness: 1, proposals: 1 },
    timeouts: { ...DEFAULT_ROUND_TIMEOUTS },
    rankWindow: 16,
    membership: createMembership(MEMBERS.map((id) => ({ id, weight: 1 }))),
    shouldEmitReceiveEventsOnSends: true,
    ...overrides,
  };
}

/** The error `receive` threw; fails the test if the message was accepted instead. */
export function refusalOf(receive: () => unknown): unknown {
  let result: unknown;
  try {
    result = receive();
  } catch (error) {
    return error;
  }
  throw new Error(`expected the message to be refused, but it was ${String(result)}`);
}
