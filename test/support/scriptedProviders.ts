import { SimulatedClock } from 'xstate';
import {
  createConsensusEngine,
  type ConsensusEngine,
  type ConsensusEngineConfig,
  type ConsensusProviders,
  type RoundEventType,
  type RoundStateName,
  type TraceLogger,
} from '../../index';
import { Ballot, Batch, Frame, fixtureCodec, Peer } from './fixtures';
import { advanceUntil, flush, sleep } from './time';

/**
 * A single node whose every provider call is recorded and can be scripted per
 * test: replaced, held on a deferred the test settles, or made to throw.
 * Everything runs on one SimulatedClock, so a scenario is exactly repeatable.
 */

export type ScriptedEngine = ConsensusEngine<Frame, Ballot, Peer, Batch>;
type Providers = ConsensusProviders<Frame, Ballot, Peer, Batch>;

/** Every provider method by name, with the signature the engine calls it with. */
export interface ProviderHandlers {
  synchronize: Providers['sync']['synchronize'];
  getNextLeaders: Providers['leader']['getNextLeaders'];
  proveNextState: Providers['leader']['proveNextState'];
  collect: Providers['liveness']['collect'];
  sendLiveness: Providers['liveness']['sendLiveness'];
  sendProposal: Providers['voting']['sendProposal'];
  decideAndSendVote: NonNullable<Providers['voting']['decideAndSendVote']>;
  finalizeVotes: Providers['voting']['finalizeVotes'];
  sendConfirmation: Providers['voting']['sendConfirmation'];
}
export type ProviderMethod = keyof ProviderHandlers;
type Outcome<M extends ProviderMethod> = Awaited<ReturnType<ProviderHandlers[M]>>;

export interface ProviderCall {
  method: ProviderMethod;
  /** The arguments without the AbortSignal (which comes last, or before a trailing position). */
  args: unknown[];
  signal: AbortSignal;
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A held call whose state was left is rejected by nobody; keep Node quiet about
  // the ones a test rejects on purpose after the engine stopped listening.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** The error `act` throws; fails the test if it returns instead. */
export function thrownBy(act: () => unknown): unknown {
  try {
    act();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw, but it returned');
}

export interface LoggedError {
  message: string;
  error: unknown;
}

/** A TraceLogger that keeps everything, in order, for exact assertions. */
export class RecordingTraceLogger implements TraceLogger {
  readonly traces: string[] = [];
  readonly errors: LoggedError[] = [];
  readonly warnings: string[] = [];
  warn(message: string): void {
    this.warnings.push(message);
  }
  trace(message: string): void {
    this.traces.push(message);
  }
  error(message: string, error: unknown): void {
    this.errors.push({ message, error });
  }
}

export type TransitionTriple = [from: RoundStateName, to: RoundStateName, event: RoundEventType];

export interface ScriptedNodeOptions {
  /** This node's peer id. Default 'alice'. */
  id?: string;
  /** Provers of the next rank, as returned by the default getNextLeaders. Default: this node alone. */
  provers?: string[];
  /**
   * The cluster, equal weights (the engine counts quorums over it). Default:
   * this node and the provers, with this node weighing more than all the
   * others together in a crash-only setting (f = 0), so that it alone is a
   * quorum, as a lone node is: tests of one state's behaviour need not play
   * every peer's vote.
   */
  members?: string[];
  /** Members besides this node and the provers, in the default membership (weight 1 each). */
  otherMembers?: string[];
  /** Simulated time the default proof takes; an instant proof would let rounds chain in microtasks forever. */
  proofMs?: number;
  /** Handlers replacing the honest defaults from the start. */
  handlers?: Partial<ProviderHandlers>;
  /** Anything else of the engine's configuration. */
  config?: Partial<ConsensusEngineConfig<Frame, Ballot, Peer, Batch>>;
}

export class ScriptedNode {
  readonly clock = new SimulatedClock();
  readonly logger = new RecordingTraceLogger();
  readonly self: Peer;
  readonly engine: ScriptedEngine;
  /** Every transition the engine reported, in order. */
  readonly transitions: TransitionTriple[] = [];
  /** Every provider call, in the order the engine made them. */
  readonly calls: ProviderCall[] = [];
  /** Transitions (`from -> to [event]`) and provider calls (`call method`) interleaved as they happened. */
  readonly timeline: string[] = [];
  /** The handler each provider method delegates to; replace entries at any time. */
  readonly handlers: ProviderHandlers;
  provers: string[];

  constructor(options: ScriptedNodeOptions = {}) {
    this.self = new Peer(options.id ?? 'alice');
    this.provers = options.provers ?? [this.self.name];
    const proofMs = options.proofMs ?? 10;
    const selfName = this.self.name;
    this.handlers = {
      synchronize: async (existing) => existing,
      getNextLeaders: async () => this.provers.map((name) => new Peer(name)),
      proveNextState: async (prior, collected, signal) => {
        await sleep(this.clock, proofMs, signal);
        return new Frame(prior.height + 1, prior.hash, collected.items.join(','), selfName);
      },
      collect: async () => {
        const height = this.engine.getActiveRank() + 1;
        return new Batch(height, [`tx-${height}`]);
      },
      sendLiveness: async () => {},
      sendProposal: async () => {},
      decideAndSendVote: async (proposals, _signal, { rank }) => {
        const first = [...proposals.entries()][0];
        // Nothing this node may vote for: a nil vote.
        if (first === undefined) return { proposer: null, vote: new Ballot(rank, selfName, '', 'nil') };
        const [proposerId, frame] = first;
        return { proposer: new Peer(proposerId), vote: new Ballot(frame.height, selfName, proposerId, frame.hash) };
      },
      finalizeVotes: async (proposals, votes) => {
        const [vote] = [...votes.values()];
        const frame = proposals.get(vote.proposer)!;
        return { state: frame, proposer: new Peer(vote.proposer) };
      },
      sendConfirmation: async () => {},
      ...options.handlers,
    };
    const route =
      <M extends ProviderMethod>(method: M) =>
      (...all: unknown[]) => {
        const signal = all.find((arg): arg is AbortSignal => arg instanceof AbortSignal) as AbortSignal;
        this.calls.push({ method, args: all.filter((arg) => arg !== signal), signal });
        this.timeline.push(`call ${method}`);
        return (this.handlers[method] as (...a: unknown[]) => unknown)(...all);
      };
    const providers = {
      sync: { synchronize: route('synchronize') },
      leader: { getNextLeaders: route('getNextLeaders'), proveNextState: route('proveNextState') },
      liveness: { collect: route('collect'), sendLiveness: route('sendLiveness') },
      voting: {
        sendProposal: route('sendProposal'),
        decideAndSendVote: route('decideAndSendVote'),
        finalizeVotes: route('finalizeVotes'),
        sendConfirmation: route('sendConfirmation'),
      },
    } as unknown as Providers;
    const others = [...new Set([...this.provers, ...(options.otherMembers ?? [])])].filter((name) => name !== this.self.name);
    const membership = options.members
      ? { members: options.members.map((name) => new Peer(name)) }
      : { members: [{ id: this.self, weight: others.length + 1 }, ...others.map((name) => new Peer(name))], faultTolerance: 0 };
    this.engine = createConsensusEngine<Frame, Ballot, Peer, Batch>({
      id: this.self,
      ...membership,
      initialState: Frame.genesis(),
      providers,
      codec: fixtureCodec,
      clock: this.clock,
      traceLogger: this.logger,
      ...options.config,
    });
    this.engine.addListener((from, to, event) => {
      this.transitions.push([from, to, event]);
      this.timeline.push(`${from} -> ${to} [${event}]`);
    });
  }

  /**
   * From now on each call to `method` waits on a fresh deferred, pushed to the
   * returned (live) array, until the test settles it.
   */
  hold<M extends ProviderMethod>(method: M): Deferred<Outcome<M>>[] {
    const held: Deferred<Outcome<M>>[] = [];
    this.handlers[method] = (() => {
      const call = deferred<Outcome<M>>();
      held.push(call);
      return call.promise;
    }) as unknown as ProviderHandlers[M];
    return held;
  }

  callsTo(method: ProviderMethod): ProviderCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  /** Jumps the clock by exactly `ms` (firing what is due then), then lets promises settle. */
  async tick(ms: number): Promise<void> {
    this.clock.increment(ms);
    await flush();
  }

  /** Settles pending promises without moving time. */
  settle(): Promise<void> {
    return flush();
  }

  /** Advances 1 ms at a time until `state` is current; returns the simulated ms it took. */
  reach(state: RoundStateName, limitMs = 5_000): Promise<number> {
    return advanceUntil(this.clock, () => this.engine.getState() === state, limitMs, 1);
  }

  context() {
    return this.engine.actor.getSnapshot().context;
  }
}

export const peer = (name: string) => new Peer(name);
export const batch = (height: number, items: string[] = [`tx-${height}`]) => new Batch(height, items);
export const frame = (height: number, prover: string, payload = `tx-${height}`) =>
  new Frame(height, height === 1 ? Frame.genesis().hash : `parent-${height - 1}`, payload, prover);
export const ballot = (voter: string, proposal: Frame) =>
  new Ballot(proposal.height, voter, proposal.prover, proposal.hash);
