import { SimulatedClock } from 'xstate';
import {
  createConsensusEngine,
  type ConsensusEngine,
  type ConsensusEngineConfig,
  type RoundEventType,
  type RoundStateName,
} from '../../index';
import { Ballot, Batch, Frame, fixtureCodec, Peer } from './fixtures';
import {
  emptyProviderLog,
  honestProviders,
  withFaults,
  type ProviderLog,
  type ProviderMethods,
  type TestProviders,
} from './faultyProviders';

export type SoloEngine = ConsensusEngine<Frame, Ballot, Peer, Batch>;

/** One transition as a listener saw it, stamped with the simulated time. */
export interface TimedTransition {
  at: number;
  from: RoundStateName;
  to: RoundStateName;
  event: RoundEventType;
}

export interface LoggedError {
  message: string;
  error: unknown;
}

export interface FaultHarnessOptions {
  /** This node's id. Default 'n0'. */
  self?: string;
  /** Provers of a height, priority order. Default: this node alone. */
  provers?: (height: number) => string[];
  /** The cluster the engine counts quorums over. Default: this node alone. */
  members?: string[];
  /** Simulated time one proof takes. Default 10 ms. */
  proofMs?: number;
  /** Provider methods to replace, e.g. with the wrappers of faultyProviders. */
  faults?: (honest: TestProviders) => Partial<ProviderMethods>;
  engineConfig?: Partial<ConsensusEngineConfig<Frame, Ballot, Peer, Batch>>;
}

/**
 * One engine on its own simulated clock, with honest providers (some replaced
 * by faulty ones) and a record of everything observable: timed transitions,
 * commits, trace lines and reported errors. Peers are played by the test.
 */
export class FaultHarness {
  readonly clock = new SimulatedClock();
  readonly log: ProviderLog = emptyProviderLog();
  readonly transitions: TimedTransition[] = [];
  readonly commits: Frame[] = [];
  readonly commitTimes: number[] = [];
  readonly errors: LoggedError[] = [];
  readonly traces: string[] = [];
  readonly engine: SoloEngine;
  readonly self: string;

  constructor(options: FaultHarnessOptions = {}) {
    this.self = options.self ?? 'n0';
    const self = this.self;
    const honest = honestProviders(
      {
        self,
        clock: this.clock,
        provers: options.provers ?? (() => [self]),
        proofMs: options.proofMs ?? 10,
        activeRank: () => this.engine.getActiveRank(),
      },
      this.log,
    );
    const providers = options.faults ? withFaults(honest, options.faults(honest)) : honest;
    this.engine = createConsensusEngine<Frame, Ballot, Peer, Batch>({
      id: new Peer(self),
      members: (options.members ?? [self]).map((name) => new Peer(name)),
      initialState: Frame.genesis(),
      providers,
      codec: fixtureCodec,
      clock: this.clock,
      timeouts: { starting: 10 },
      traceLogger: {
        trace: (message) => this.traces.push(message),
        error: (message, error) => this.errors.push({ message, error }),
      },
      ...options.engineConfig,
    });
    this.engine.addListener((from, to, event) => this.transitions.push({ at: this.clock.now(), from, to, event }));
    this.engine.onCommit((commit) => {
      this.commits.push(commit.state);
      this.commitTimes.push(this.clock.now());
    });
  }

  /** Transitions as `from>to[event]@at` strings, for exact sequence assertions. */
  timeline(since = 0): string[] {
    return this.transitions.filter((t) => t.at >= since).map((t) => `${t.from}>${t.to}[${t.event}]@${t.at}`);
  }

  /** Transitions without times, from the `index`-th one on. */
  path(index = 0): string[] {
    return this.transitions.slice(index).map((t) => `${t.from}>${t.to}[${t.event}]`);
  }

  timeoutEvents(): RoundEventType[] {
    return this.transitions.map((t) => t.event).filter((event) => event.endsWith('_timeout'));
  }

  /** The simulated time the engine last entered `state`. */
  enteredAt(state: RoundStateName): number {
    const last = [...this.transitions].reverse().find((t) => t.to === state);
    if (!last) throw new Error(`never entered ${state}`);
    return last.at;
  }
}
