import type { SimulatedClock } from 'xstate';
import type { ConsensusProviders } from '../../index';
import { Ballot, Batch, Frame, Peer } from './fixtures';
import { sleep } from './time';

export type TestProviders = ConsensusProviders<Frame, Ballot, Peer, Batch>;

/** Every provider method by name, so one can be swapped for a faulty version. */
export interface ProviderMethods {
  synchronize: TestProviders['sync']['synchronize'];
  getNextLeaders: TestProviders['leader']['getNextLeaders'];
  proveNextState: TestProviders['leader']['proveNextState'];
  collect: TestProviders['liveness']['collect'];
  sendLiveness: TestProviders['liveness']['sendLiveness'];
  sendProposal: TestProviders['voting']['sendProposal'];
  decideAndSendVote: TestProviders['voting']['decideAndSendVote'];
  finalizeVotes: TestProviders['voting']['finalizeVotes'];
  sendConfirmation: TestProviders['voting']['sendConfirmation'];
}

export function toMethods(providers: TestProviders): ProviderMethods {
  return {
    synchronize: providers.sync.synchronize.bind(providers.sync),
    getNextLeaders: providers.leader.getNextLeaders.bind(providers.leader),
    proveNextState: providers.leader.proveNextState.bind(providers.leader),
    collect: providers.liveness.collect.bind(providers.liveness),
    sendLiveness: providers.liveness.sendLiveness.bind(providers.liveness),
    sendProposal: providers.voting.sendProposal.bind(providers.voting),
    decideAndSendVote: providers.voting.decideAndSendVote!.bind(providers.voting),
    finalizeVotes: providers.voting.finalizeVotes.bind(providers.voting),
    sendConfirmation: providers.voting.sendConfirmation.bind(providers.voting),
  };
}

export function fromMethods(m: ProviderMethods): TestProviders {
  return {
    sync: { synchronize: m.synchronize },
    leader: { getNextLeaders: m.getNextLeaders, proveNextState: m.proveNextState },
    liveness: { collect: m.collect, sendLiveness: m.sendLiveness },
    voting: {
      sendProposal: m.sendProposal,
      decideAndSendVote: m.decideAndSendVote,
      finalizeVotes: m.finalizeVotes,
      sendConfirmation: m.sendConfirmation,
    },
  };
}

/** Replaces some methods of `providers`, keeping the others. */
export function withFaults(providers: TestProviders, faults: Partial<ProviderMethods>): TestProviders {
  return fromMethods({ ...toMethods(providers), ...faults } as ProviderMethods);
}

/**
 * Throws synchronously (not a rejected promise: the analogue of a Go panic in
 * a provider) on calls number `every`, `2 × every`, …; passes the others on.
 */
export function throwingEvery<A extends unknown[], R>(
  every: number,
  error: (call: number) => Error,
  method: (...args: A) => R,
): (...args: A) => R {
  let calls = 0;
  return (...args: A) => {
    calls += 1;
    if (calls % every === 0) throw error(calls);
    return method(...args);
  };
}

/** Rejects the first call for each key (read from the call's arguments, e.g. its rank), then passes calls on. */
export function rejectingOncePer<A extends unknown[], R>(
  keyOf: (...args: NoInfer<A>) => string,
  error: (key: string) => Error,
  method: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  const failed = new Set<string>();
  return async (...args: A) => {
    const key = keyOf(...args);
    if (!failed.has(key)) {
      failed.add(key);
      throw error(key);
    }
    return method(...args);
  };
}

/** Rejects the first `times` calls, then passes calls on. */
export function rejectingFirst<A extends unknown[], R>(
  times: number,
  error: (call: number) => Error,
  method: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  let calls = 0;
  return async (...args: A) => {
    calls += 1;
    if (calls <= times) throw error(calls);
    return method(...args);
  };
}

/** A call that never resolves on its own: only its AbortSignal ends it. */
export function untilAborted<T>(signal: AbortSignal): Promise<T> {
  return new Promise<T>((_, reject) => {
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** Frames 1…`height` on top of genesis, each proved by `prover`. */
export function chainTo(height: number, prover = 'n0'): Frame[] {
  const frames = [Frame.genesis()];
  for (let h = 1; h <= height; h += 1) frames.push(new Frame(h, frames[h - 1].hash, `tx-${h}`, prover));
  return frames;
}

/** The frame `prover` proposes on top of `prior` (what the honest provers below build). */
export function proposalOf(prior: Frame, prover: string): Frame {
  return new Frame(prior.height + 1, prior.hash, `tx-${prior.height + 1}`, prover);
}

/** The nil vote `voter` casts at `height`: it endorses no proposer and no frame. */
export function nilVoteOf(voter: string, height: number): Ballot {
  return new Ballot(height, voter, '', 'nil');
}

/** The vote `voter` casts for `frame`. */
export function voteFor(voter: string, frame: Frame): Ballot {
  return new Ballot(frame.height, voter, frame.prover, frame.hash);
}

/** What honest providers of one node did, in call order. */
export interface ProviderLog {
  syncExisting: number[];
  leaderPriors: number[];
  proofSignals: AbortSignal[];
  livenessSent: number[];
  proposalsSent: string[];
  votesCast: Ballot[];
  confirmationsSent: number[];
}

export interface HonestProviderOptions {
  self: string;
  clock: SimulatedClock;
  /** Provers of a height, priority order. */
  provers: (height: number) => string[];
  /** Simulated time one proof takes: a round must not chain forever in microtasks. */
  proofMs: number;
  /** The rank a node collects for: its active rank + 1. */
  activeRank: () => number;
}

/**
 * Providers of one honest node that talks to nobody: peers' messages are fed
 * to the engine by the test. Every call is logged for exact assertions.
 */
export function honestProviders(options: HonestProviderOptions, log: ProviderLog): TestProviders {
  const { self, clock, provers, proofMs } = options;
  // finalizeVotes is given the votes of the group that locked; the frame they name is the one to finalize.
  const tally = (votes: ReadonlyMap<string, Ballot>) => {
    const counts = new Map<string, number>();
    for (const vote of votes.values()) counts.set(vote.frame, (counts.get(vote.frame) ?? 0) + 1);
    return counts;
  };
  return {
    sync: {
      synchronize: async (existing) => {
        log.syncExisting.push(existing.height);
        return existing;
      },
    },
    leader: {
      getNextLeaders: async (prior) => {
        log.leaderPriors.push(prior.height);
        return provers(prior.height + 1).map((name) => new Peer(name));
      },
      proveNextState: async (prior, _collected, signal) => {
        log.proofSignals.push(signal);
        await sleep(clock, proofMs, signal);
        return proposalOf(prior, self);
      },
    },
    liveness: {
      collect: async () => {
        const height = options.activeRank() + 1;
        return new Batch(height, [`tx-${height}`]);
      },
      sendLiveness: async (_prior, collected) => {
        log.livenessSent.push(collected.height);
      },
    },
    voting: {
      sendProposal: async (proposal) => {
        log.proposalsSent.push(proposal.hash);
      },
      decideAndSendVote: async (proposals, _signal, { rank }) => {
        const chosen = provers(rank).find((prover) => proposals.has(prover));
        if (chosen === undefined) {
          // Nothing this node may vote for: a nil vote.
          const vote = nilVoteOf(self, rank);
          log.votesCast.push(vote);
          return { proposer: null, vote };
        }
        const vote = voteFor(self, proposals.get(chosen)!);
        log.votesCast.push(vote);
        return { proposer: new Peer(chosen), vote };
      },
      finalizeVotes: async (proposals, votes) => {
        const [frameHash] = [...tally(votes).entries()].sort((a, b) => b[1] - a[1])[0];
        const frame = [...proposals.values()].find((p) => p.hash === frameHash);
        if (!frame) throw new Error(`no proposal recorded for the quorum's frame ${frameHash}`);
        return { state: frame, proposer: new Peer(frame.prover) };
      },
      sendConfirmation: async (state) => {
        log.confirmationsSent.push(state.height);
      },
    },
  };
}

export function emptyProviderLog(): ProviderLog {
  return {
    syncExisting: [],
    leaderPriors: [],
    proofSignals: [],
    livenessSent: [],
    proposalsSent: [],
    votesCast: [],
    confirmationsSent: [],
  };
}
