import { SimulatedClock, type InspectionEvent } from 'xstate';
import {
  createConsensusEngine,
  type CommitRecord,
  type ConsensusEngine,
  type ConsensusProviders,
  type RoundTimeouts,
  type TraceLogger,
} from '../../../index';
import type { RoundSafetyStorage } from '../../../providers/storage';
import { Ballot, Batch, Frame, fixtureCodec, Peer } from '../../support/fixtures';
import { advanceUntil, flush } from '../../support/time';
import type { SpecEvent, SpecState, SpecTransition } from './specTable';

export const SELF = 'n0';
export const PEERS = ['n1', 'n2', 'n3'] as const;
/** Every member proves every rank: the prover set never refuses a test message. */
export const MEMBERS = [SELF, ...PEERS];
/**
 * The provers in priority order. Attempt a's proposer is the a-th of them
 * (SPEC §2.8: the proposer rotates with the attempt), so this node proposes
 * in attempt 0 only, with everyone, and declines to prove in attempts 1–3.
 */
export const PROVERS = [SELF, ...PEERS];

/**
 * Two of everything, so that one peer's liveness or proposal can arrive
 * without completing the threshold: a re-entry that does not also move on.
 */
export const THRESHOLDS = { minimumProvers: 2, livenessThreshold: 2, proposalThreshold: 2 } as const;

/** f + 1 of the four members: two peers heard at a higher attempt move this node there. */
export const SKIP_EVIDENCE = 2;

/**
 * Distinct per state, so a delay wired to the wrong timeout shows up as a
 * wrong elapsed time. Loading's must outlast the sync retry it contains.
 * An attempt outlasts every state timeout a path waits out inside it (at
 * most two verifying timeouts, 160 ms), so only the drivers that wait for it
 * see it; it is odd so that it never falls due with a state's own timer.
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
  attempt: 253,
  attemptGrowth: 2,
  attemptMax: 1_012,
};

export type HeldMethod =
  | 'synchronize'
  | 'getNextLeaders'
  | 'proveNextState'
  | 'collect'
  | 'sendLiveness'
  | 'sendProposal'
  | 'decideAndSendVote'
  | 'finalizeVotes'
  | 'sendConfirmation'
  | 'sendNilConfirmation'
  | 'loadRoundSafety'
  | 'saveRoundSafety'
  | 'cleanup';

/** Storage calls carry no AbortSignal: a write under way cannot be taken back. */
const STORAGE_METHODS: readonly HeldMethod[] = ['loadRoundSafety', 'saveRoundSafety'];

export interface HeldCall {
  method: HeldMethod;
  /** What the engine passed, signal included. */
  args: unknown[];
  /**
   * Aborted when the state instance that made the call is left. For storage
   * calls the harness aborts it itself at the next top-level transition:
   * every state that reads or writes storage does so in a sub-step left only
   * when the call settles or the state is.
   */
  signal: AbortSignal;
  /** Settled by the test; an unsettled call ends only by its signal aborting. */
  settled: boolean;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

export type ModelEngine = ConsensusEngine<Frame, Ballot, Peer, Batch>;

/**
 * One real engine whose every provider call (storage and cleanup included)
 * is held until the test settles it, on a SimulatedClock. Nothing happens
 * unless a driver settles a call, delivers a message or moves the clock, so
 * each SPEC event can be caused on its own.
 */
export class RoundHarness {
  readonly clock = new SimulatedClock();
  readonly engine: ModelEngine;
  /** Every transition the engine reported, in order. */
  readonly transitions: SpecTransition[] = [];
  readonly commits: CommitRecord<Frame, Peer>[] = [];
  readonly providerErrors: string[] = [];
  readonly attemptChanges: { from: number; to: number; reason: string }[] = [];
  /** When this node's attempt timer last started: with the round's liveness check, and again when voting starts. */
  attemptStartedAt: number | null = null;
  /** Calls in flight: settled or aborted ones leave this list. */
  private readonly live: HeldCall[] = [];
  private readonly storageAborts = new Map<HeldCall, AbortController>();
  /** Settles to how the last `engine.stop()` ended, so disposing the actor never leaves it unhandled. */
  private stopOutcome: Promise<string> | null = null;

  constructor() {
    const track = (method: HeldMethod, args: unknown[], signal: AbortSignal) =>
      new Promise<never>((resolve, reject) => {
        const call: HeldCall = { method, args, signal, settled: false, resolve: resolve as (v: unknown) => void, reject };
        this.live.push(call);
        // An aborted call belongs to a state instance that is gone; settling
        // it could not reach the machine, so it must not be mistaken for a live one.
        signal.addEventListener('abort', () => this.forget(call), { once: true });
      });
    const hold =
      (method: HeldMethod) =>
      (...args: unknown[]): Promise<never> => {
        const signal = args.find((arg): arg is AbortSignal => arg instanceof AbortSignal);
        if (signal === undefined) throw new Error(`${method} was called without an AbortSignal`);
        return track(method, args, signal);
      };
    const holdStorage =
      (method: HeldMethod) =>
      (...args: unknown[]): Promise<never> => {
        const controller = new AbortController();
        const promise = track(method, args, controller.signal);
        const call = this.live[this.live.length - 1];
        this.storageAborts.set(call, controller);
        return promise;
      };
    const providers = {
      sync: { synchronize: hold('synchronize') },
      leader: { getNextLeaders: hold('getNextLeaders'), proveNextState: hold('proveNextState') },
      liveness: { collect: hold('collect'), sendLiveness: hold('sendLiveness') },
      voting: {
        sendProposal: hold('sendProposal'),
        decideAndSendVote: hold('decideAndSendVote'),
        finalizeVotes: hold('finalizeVotes'),
        sendConfirmation: hold('sendConfirmation'),
        sendNilConfirmation: hold('sendNilConfirmation'),
      },
    } as unknown as ConsensusProviders<Frame, Ballot, Peer, Batch>;
    const storage = {
      loadRoundSafety: holdStorage('loadRoundSafety'),
      saveRoundSafety: holdStorage('saveRoundSafety'),
    } as unknown as RoundSafetyStorage;
    const traceLogger: TraceLogger = {
      trace: () => {},
      error: (message) => this.providerErrors.push(message),
    };
    this.engine = createConsensusEngine<Frame, Ballot, Peer, Batch>({
      id: new Peer(SELF),
      initialState: Frame.genesis(),
      providers,
      storage,
      // Four equal members: the engine's quorum is 3 (f = 1), which the three peers make up alone.
      members: MEMBERS.map((name) => new Peer(name)),
      codec: fixtureCodec,
      ...THRESHOLDS,
      // Own liveness, votes and confirmations are not echoed, so casting a
      // vote or sending a confirmation moves between sub-steps without a
      // re-entry, and only peers' messages count towards a quorum.
      shouldEmitReceiveEventsOnSends: false,
      timeouts: MODEL_TIMEOUTS,
      clock: this.clock,
      traceLogger,
      cleanup: hold('cleanup'),
      inspect: (inspection) => this.abortStorageCallsOnLeaving(inspection),
    });
    this.engine.addListener((from, to, event) => {
      this.transitions.push({ from, event: event as SpecEvent, to });
      // The attempt's clock runs while liveness is awaited, and again from the start of voting (RoundTimeouts.attempt).
      if (from === 'collecting' && to === 'liveness_check') this.attemptStartedAt = this.clock.now();
      if (to === 'voting' && (from === 'proving' || from === 'publishing')) this.attemptStartedAt = this.clock.now();
    });
    this.engine.onCommit((commit) => this.commits.push(commit));
    this.engine.onAttemptChange(({ from, to, reason }) => this.attemptChanges.push({ from, to, reason }));
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

  attempt(): number {
    return this.engine.getAttempt();
  }

  /** Senders recorded for the next rank (and, but for liveness, the given attempt) in one of the context's books. */
  sendersAt(book: 'liveness' | 'proposals' | 'votes' | 'confirmations', attempt = this.attempt()): string[] {
    const slot = book === 'liveness' ? String(this.nextRank()) : `${this.nextRank()}/${attempt}`;
    return Object.keys(this.context()[book][slot] ?? {});
  }

  /** The calls in flight now (a copy). */
  inFlight(): HeldCall[] {
    return [...this.live];
  }

  isHeld(method: HeldMethod): boolean {
    return this.live.some((call) => call.method === method);
  }

  /** The one call of `method` in flight, to read what the engine passed it. */
  held(method: HeldMethod): HeldCall {
    const matching = this.live.filter((call) => call.method === method);
    if (matching.length !== 1) {
      const held = this.live.map((call) => call.method).join(', ') || 'nothing';
      throw new Error(
        `expected exactly one held ${method} call in ${this.state()}.${this.subState() ?? ''}, found ${matching.length} (held: ${held})`,
      );
    }
    return matching[0];
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

  /** A prover's proposal; a later attempt's is a block of its own. */
  peerProposal(prover: string, attempt = 0): Frame {
    const active = this.engine.getActiveState();
    const payload = attempt === 0 ? `block-${this.nextRank()}` : `block-${this.nextRank()}-attempt-${attempt}`;
    return new Frame(this.nextRank(), active.hash, payload, prover);
  }

  ballot(voter: string, prover: string, attempt = 0): Ballot {
    return new Ballot(this.nextRank(), voter, prover, this.peerProposal(prover, attempt).hash);
  }

  nilBallot(voter: string): Ballot {
    return new Ballot(this.nextRank(), voter, '', 'nil');
  }

  deliverProposal(prover: string, attempt = 0): void {
    const position = attempt === 0 ? undefined : { attempt, validAttempt: null };
    expect(this.engine.receiveProposal(new Peer(prover), this.peerProposal(prover, attempt), position)).toBe('accepted');
  }

  /** A vote naming the proposal it endorses, so votes match by value (SPEC §2.8). */
  deliverVote(voter: string, prover: string, attempt = 0): void {
    const position = { attempt, proposal: this.peerProposal(prover, attempt).identity() };
    expect(this.engine.receiveVote(new Peer(prover), new Peer(voter), this.ballot(voter, prover, attempt), position)).toBe(
      'accepted',
    );
  }

  deliverNilVote(voter: string, attempt = 0): void {
    expect(this.engine.receiveNilVote(new Peer(voter), this.nilBallot(voter), { attempt })).toBe('accepted');
  }

  /** A peer confirming it locked on `prover`'s proposal of `proposedIn` at `attempt`. */
  deliverConfirmation(peer: string, prover: string, attempt = 0, proposedIn = attempt): void {
    expect(this.engine.receiveConfirmation(new Peer(peer), this.peerProposal(prover, proposedIn), { attempt })).toBe(
      'accepted',
    );
  }

  /**
   * SPEC §2.2's data events sent to the round actor itself, as a driver of
   * the bare machine would: they are recorded and re-enter the state that
   * waits on them. Through the engine a message reaches the actor only when
   * it completes something (a quorum, skip evidence) or is a proposal; the
   * rest is only written into the books, and changes no state.
   */
  sendLivenessEvent(peer: string): void {
    this.engine.actor.send({ type: 'liveness_check_received', peer: new Peer(peer), collected: this.peerLiveness(peer) });
  }

  sendVoteEvent(voter: string, prover: string, attempt = 0): void {
    const ballot = this.ballot(voter, prover, attempt);
    const proposal = this.peerProposal(prover, attempt).identity();
    const ids = { sender: voter, rank: this.nextRank(), contentId: ballot.identity(), proposerId: prover, attempt, endorses: `value:${proposal}` };
    this.engine.actor.send({ type: 'vote_received', proposer: new Peer(prover), voter: new Peer(voter), vote: ballot, ids });
  }

  sendConfirmationEvent(peer: string, prover: string, attempt = 0): void {
    const state = this.peerProposal(prover, attempt);
    const ids = { sender: peer, rank: this.nextRank(), contentId: state.identity(), attempt };
    this.engine.actor.send({ type: 'confirmation_received', peer: new Peer(peer), state, ids });
  }

  /**
   * A lock proof, checked by the engine: the three peers voted, at `attempt`,
   * for a value this node holds no proposal of, so it can only remember it.
   */
  deliverLockProofForUnknownValue(attempt = 0): void {
    const value = new Frame(this.nextRank(), 'elsewhere', `unseen-${attempt}`, PEERS[0]).identity();
    expect(this.engine.receiveLockProof({ rank: this.nextRank(), attempt, value, voters: [...PEERS] })).toBe('accepted');
  }

  deliverNilConfirmation(peer: string, attempt = 0): void {
    expect(this.engine.receiveNilConfirmation(new Peer(peer), { rank: this.nextRank(), attempt })).toBe('accepted');
  }

  /**
   * Storage calls get no signal from the engine. A top-level transition
   * (read from the round actor's microsteps, before the state entered starts
   * its own calls) ends the state instance that made them.
   */
  private abortStorageCallsOnLeaving(inspection: InspectionEvent): void {
    if (inspection.type !== '@xstate.microstep' || inspection.actorRef !== this.engine?.actor) return;
    const transitions = (inspection as unknown as { _transitions: { target?: { path: string[] }[] }[] })._transitions;
    if (!transitions.some((t) => (t.target ?? []).some((target) => target.path.length === 1))) return;
    for (const call of this.live.filter((c) => STORAGE_METHODS.includes(c.method))) {
      this.storageAborts.get(call)?.abort();
      this.storageAborts.delete(call);
    }
  }

  private take(method: HeldMethod): HeldCall {
    const call = this.held(method);
    this.forget(call);
    this.storageAborts.delete(call);
    call.settled = true;
    return call;
  }

  private forget(call: HeldCall): void {
    const index = this.live.indexOf(call);
    if (index >= 0) this.live.splice(index, 1);
  }
}
