import { SimulatedClock } from 'xstate';
import {
  createConsensusEngine,
  type CommitRecord,
  type ConsensusEngine,
  type ConsensusProviders,
  type RoundTimeouts,
  type TraceLogger,
} from '../../../index';
import { Ballot, Batch, Frame, Peer } from '../../support/fixtures';
import { advanceUntil, flush } from '../../support/time';
import type { SpecEvent, SpecState, SpecTransition } from './specTable';

export const SELF = 'n0';
export const PEERS = ['n1', 'n2', 'n3'] as const;
/** Every member proves every rank: the prover set never refuses a test message. */
export const MEMBERS = [SELF, ...PEERS];

/**
 * Two of everything, so that one peer's liveness or proposal can arrive
 * without completing the threshold: a re-entry that does not also move on.
 */
export const THRESHOLDS = { minimumProvers: 2, livenessThreshold: 2, proposalThreshold: 2 } as const;

/**
 * Distinct per state, so a delay wired to the wrong timeout shows up as a
 * wrong elapsed time. Loading's must outlast the sync retry it contains.
 */
export const MODEL_TIMEOUTS: RoundTimeouts = {
  starting: 10,
  loading: 500,
  syncRetry: 20,
  collecting: 30,
  livenessCheck: 40,
  proving: 200,
  publishing: 50,
  voting: 60,
  finalizing: 70,
  verifying: 80,
  stopping: 90,
};

export type HeldMethod =
  | 'synchronize'
  | 'getNextLeaders'
  | 'proveNextState'
  | 'collect'
  | 'sendLiveness'
  | 'sendProposal'
  | 'decideAndSendVote'
  | 'isQuorum'
  | 'finalizeVotes'
  | 'sendConfirmation'
  | 'cleanup';

export interface HeldCall {
  method: HeldMethod;
  signal: AbortSignal;
  /** Settled by the test; an unsettled call ends only by its signal aborting. */
  settled: boolean;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

export type ModelEngine = ConsensusEngine<Frame, Ballot, Peer, Batch>;

/**
 * One real engine whose every provider call (and its cleanup) is held until
 * the test settles it, on a SimulatedClock. Nothing happens unless a driver
 * settles a call, delivers a message or moves the clock, so each SPEC event
 * can be caused on its own.
 */
export class RoundHarness {
  readonly clock = new SimulatedClock();
  readonly engine: ModelEngine;
  /** Every transition the engine reported, in order. */
  readonly transitions: SpecTransition[] = [];
  readonly commits: CommitRecord<Frame, Peer>[] = [];
  readonly providerErrors: string[] = [];
  /** Calls in flight: settled or aborted ones leave this list. */
  private readonly live: HeldCall[] = [];
  /** Settles to how the last `engine.stop()` ended, so disposing the actor never leaves it unhandled. */
  private stopOutcome: Promise<string> | null = null;

  constructor() {
    const hold =
      (method: HeldMethod) =>
      (...args: unknown[]): Promise<never> => {
        const signal = args[args.length - 1] as AbortSignal;
        return new Promise((resolve, reject) => {
          const call: HeldCall = { method, signal, settled: false, resolve: resolve as (v: unknown) => void, reject };
          this.live.push(call);
          // An aborted call belongs to a state instance that is gone; settling
          // it could not reach the machine, so it must not be mistaken for a live one.
          signal.addEventListener('abort', () => this.forget(call), { once: true });
        });
      };
    const providers = {
      sync: { synchronize: hold('synchronize') },
      leader: { getNextLeaders: hold('getNextLeaders'), proveNextState: hold('proveNextState') },
      liveness: { collect: hold('collect'), sendLiveness: hold('sendLiveness') },
      voting: {
        sendProposal: hold('sendProposal'),
        decideAndSendVote: hold('decideAndSendVote'),
        isQuorum: hold('isQuorum'),
        finalizeVotes: hold('finalizeVotes'),
        sendConfirmation: hold('sendConfirmation'),
      },
    } as unknown as ConsensusProviders<Frame, Ballot, Peer, Batch>;
    const traceLogger: TraceLogger = {
      trace: () => {},
      error: (message) => this.providerErrors.push(message),
    };
    this.engine = createConsensusEngine<Frame, Ballot, Peer, Batch>({
      id: new Peer(SELF),
      initialState: Frame.genesis(),
      providers,
      members: MEMBERS.map((name) => new Peer(name)),
      ...THRESHOLDS,
      // Own liveness and votes are not echoed, so casting a vote moves voting
      // between its sub-states without a vote_received re-entry.
      shouldEmitReceiveEventsOnSends: false,
      timeouts: MODEL_TIMEOUTS,
      clock: this.clock,
      traceLogger,
      cleanup: hold('cleanup'),
    });
    this.engine.addListener((from, to, event) => this.transitions.push({ from, event: event as SpecEvent, to }));
    this.engine.onCommit((commit) => this.commits.push(commit));
  }

  state(): SpecState {
    return this.engine.getState();
  }

  /** The sub-state of the current top-level state, e.g. `casting` in voting. */
  subState(): string | undefined {
    const value = this.engine.actor.getSnapshot().value;
    if (typeof value === 'string') return undefined;
    const inner = Object.values(value)[0];
    return typeof inner === 'string' ? inner : undefined;
  }

  context() {
    return this.engine.actor.getSnapshot().context;
  }

  nextRank(): number {
    return this.engine.getActiveRank() + 1;
  }

  /** Senders recorded at the next rank in one of the context's books. */
  sendersAt(book: 'liveness' | 'proposals' | 'votes'): string[] {
    return Object.keys(this.context()[book][String(this.nextRank())] ?? {});
  }

  /** The calls in flight now (a copy). */
  inFlight(): HeldCall[] {
    return [...this.live];
  }

  isHeld(method: HeldMethod): boolean {
    return this.live.some((call) => call.method === method);
  }

  async resolve(method: HeldMethod, value?: unknown): Promise<void> {
    const call = this.take(method);
    call.resolve(value);
    await flush();
  }

  async reject(method: HeldMethod, error: Error): Promise<void> {
    const call = this.take(method);
    call.reject(error);
    await flush();
  }

  /**
   * Moves the clock 1 ms at a time until the engine reports a transition;
   * returns the simulated time that took.
   */
  async waitForTransition(limitMs: number): Promise<number> {
    const before = this.transitions.length;
    const where = `${this.state()}.${this.subState() ?? ''}`;
    try {
      return await advanceUntil(this.clock, () => this.transitions.length > before, limitMs, 1);
    } catch {
      throw new Error(`no transition out of ${where} within ${limitMs} ms of simulated time: a timer did not fire`);
    }
  }

  /** `engine.stop()` resolves only at `stopped`; keep its promise to check that it does. */
  requestStop(): void {
    this.stopOutcome = this.engine.stop().then(
      () => 'resolved',
      (error: Error) => `rejected: ${error.message}`,
    );
  }

  /** How the last `engine.stop()` has ended so far: 'pending', 'resolved' or the rejection. */
  async stopOutcomeSoFar(): Promise<string> {
    if (this.stopOutcome === null) return 'never requested';
    return Promise.race([this.stopOutcome, flush().then(() => 'pending')]);
  }

  /** Ends the actor so no held call outlives the test. */
  dispose(): void {
    this.engine.actor.stop();
  }

  // ---- messages from peers, for the rank being decided ----

  peerLiveness(peer: string): Batch {
    return new Batch(this.nextRank(), [`${peer}-tx-${this.nextRank()}`]);
  }

  peerProposal(prover: string): Frame {
    const active = this.engine.getActiveState();
    return new Frame(this.nextRank(), active.hash, `block-${this.nextRank()}`, prover);
  }

  ballot(voter: string, prover: string): Ballot {
    return new Ballot(this.nextRank(), voter, prover, this.peerProposal(prover).hash);
  }

  private take(method: HeldMethod): HeldCall {
    const matching = this.live.filter((call) => call.method === method);
    if (matching.length !== 1) {
      const held = this.live.map((call) => call.method).join(', ') || 'nothing';
      throw new Error(
        `expected exactly one held ${method} call in ${this.state()}.${this.subState() ?? ''}, found ${matching.length} (held: ${held})`,
      );
    }
    this.forget(matching[0]);
    matching[0].settled = true;
    return matching[0];
  }

  private forget(call: HeldCall): void {
    const index = this.live.indexOf(call);
    if (index >= 0) this.live.splice(index, 1);
  }
}
