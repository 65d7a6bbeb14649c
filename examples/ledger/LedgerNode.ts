import { DEFAULT_RANK_WINDOW, type ConsensusProviders } from '../../engine/createConsensusEngine';
import { ConsensusInputError } from '../../engine/errors';
import { weightOfSenders } from '../../guards/quorum';
import type { ConsensusClock } from '../../providers/clock';
import type { RandomSource } from '../../providers/random';
import type { Identity } from '../../providers/unique';
import type { AttemptPosition, VoteDecision, VotePosition } from '../../providers/voting';
import type { MessagingMode } from '../../engine/createConsensusEngine';
import { LedgerStore } from './LedgerStore';
import { LedgerSync } from './ledgerSync';
import { deliverServiceMessage } from './serviceMessages';
import { Waiting } from './waiting';
import { CommitOnVotes } from './commitOnVotes';
import { frameOnce, readOnce } from './messageReading';
import {
  LEDGER_ATTEMPT_CAP,
  type DeliveryOutcome,
  type DurationRange,
  type FinalizedListener,
  type LedgerEngineConfig,
  type LedgerKeys,
  type LedgerNodeOptions,
  type LedgerNodeStats,
  type LedgerPayload,
  type LedgerRounds,
  type UnsafeRoundRule,
} from './nodeTypes';
import { claimedIdentity, kindOf, rankOfMessage, type LedgerMessage } from './messages';
import { ledgerEngineConfig } from './engineConfig';
import { LedgerMembers } from './membership';
import { DEFAULT_MAX_CLOCK_DRIFT_MS, frameTimeAfter, isOwnEntry, judgeProposal } from './rules';
import { LedgerBatch, LedgerFrame, LedgerPeer, LedgerVote } from './types';

// The node's types, options and sync limit live in their own modules; importers keep reading them from here.
export {
  LEDGER_ATTEMPT_CAP,
  LEDGER_ATTEMPT_GROWTH,
  type DeliveryOutcome,
  type DurationRange,
  type FinalizedListener,
  type LedgerEngine,
  type LedgerEngineConfig,
  type LedgerKeys,
  type LedgerNodeOptions,
  type LedgerNodeStats,
  type LedgerRounds,
  type UnsafeRoundRule,
} from './nodeTypes';
export { MAX_SYNC_FRAMES } from './ledgerSync';
export { LEDGER_CHAIN_ID } from './engineConfig';

/** What a nil vote names instead of a frame hash. */
export const NIL_FRAME = 'nil';

/**
 * One node of a small replicated ledger, written as an example of providers
 * for `createConsensusEngine` (and the application the simulator and CLI run).
 *
 * The rules, all in the providers, none in the engine:
 * - **leader schedule**: at height h the provers are the members rotated by h,
 *   f + 2 of them, in priority order; each proves a frame of its own
 *   collected mutations chained to the last finalized frame, stamped with
 *   its clock but never earlier than that frame;
 * - **voting**: a voter endorses the highest-priority *valid* proposal
 *   (`judgeProposal`, its time at most `maxClockDriftMs` ahead of the
 *   voter's clock); it waits for prover i until `patienceMs` after prover
 *   i − 1 was skipped, then announces `skip`; a prover is skipped once 2f + 1
 *   nodes asked to skip it (or its proposal is invalid and they all saw so),
 *   or f + 1 voters endorsed a lower-priority prover; and once f + 1 voters
 *   endorsed one valid proposal, a voter joins them. This keeps honest voters
 *   together when a prover is silent, invalid or late;
 * - **quorum**: 2f + 1 votes naming one frame hash; **finalization** picks that
 *   frame, the state a quorum endorsed;
 * - **safety data**: a node votes and proposes at most once per height, across
 *   restarts (`LedgerStore`);
 * - **signatures, lock proofs, certificates**: the engine's, given `keys`;
 *   the ledger carries what the engine hands out and feeds what arrives back;
 * - **catch-up**: unanswered messages are re-sent; a node that makes no
 *   progress for `stallMs`, or hears from f + 1 peers about ranks beyond its
 *   window, re-syncs: it asks every peer for finalized frames and adopts a
 *   frame only when f + 1 peers (so at least one honest one) report it.
 *
 * Usage: create the node, create the engine from `engineConfig()`, `attach`
 * the engine, feed every message from the network to `deliver`, `start()`.
 */
export class LedgerNode {
  readonly self: string;
  /** The members of each height: the founders (`options.members`), then what committed changes made of them. */
  readonly membership: LedgerMembers;
  readonly store: LedgerStore;
  /** The provers of a height, highest priority first. */
  readonly schedule: (height: number) => string[];
  /** Who may propose in each attempt of a height (the engine's rotation). */
  readonly proposersOf: (height: number, attempt: number) => string[];
  readonly providers: ConsensusProviders<LedgerFrame, LedgerVote, LedgerPeer, LedgerBatch, LedgerPayload>;
  readonly stats: LedgerNodeStats = {
    votes: 0,
    nilVotes: 0,
    syncRequests: 0,
    framesSynced: 0,
    stallSyncs: 0,
    resends: 0,
    forged: 0,
  };

  private readonly clock: ConsensusClock;
  private readonly random: RandomSource;
  private readonly transport: (to: string, message: LedgerMessage) => void;
  private readonly onPublish: ((message: LedgerMessage) => void) | undefined;
  private readonly selfPeer: LedgerPeer;
  private readonly proofMs: DurationRange;
  private readonly idleProofMs: number;
  private readonly entriesPerFrame: DurationRange;
  readonly patienceMs: number;
  readonly syncWaitMs: number;
  readonly resendMs: number;
  readonly stallMs: number;
  readonly rankWindow: number;
  readonly listenFirstMs: number;
  readonly attemptMs: number;
  readonly maxClockDriftMs: number;
  private readonly unsafeRule: UnsafeRoundRule | undefined;
  private readonly messaging: MessagingMode | undefined;
  private readonly keys: LedgerKeys | undefined;
  /** Only under the `commit-on-votes` breakage. */
  private readonly commitOnVotes: CommitOnVotes | null;
  /** Catch-up from peers, and answers to theirs. */
  private readonly sync: LedgerSync;
  /** No vote before this time (see `listenFirstMs`). */
  private quietUntil = Number.NEGATIVE_INFINITY;

  private engine: LedgerRounds | null = null;
  private halted = false;
  private timer: unknown = null;
  private lastProgress: number;
  private lastInducedSync = Number.NEGATIVE_INFINITY;
  /** Proposals by height, then `attempt:prover`: what a vote waits for. */
  private readonly view = new Map<number, Map<string, LedgerFrame>>();
  private readonly collected = new Map<number, LedgerBatch>();
  /** This node's messages per height, re-sent while the height is undecided. */
  private readonly outbox = new Map<number, Map<string, LedgerMessage>>();
  private readonly futureSenders = new Set<string>();
  /** Peers heard about heights past the one this node decides: they finalized it. */
  private readonly aheadSenders = new Set<string>();
  private readonly finalizedListeners = new Set<FinalizedListener>();
  /** Who a node outside the membership asks for entries (`LedgerNodeOptions.peers`). */
  private readonly addressBook: readonly string[];
  /** Votes and syncs wait here for proposals, skips or sync answers to change. */
  private readonly waiting: Waiting;

  constructor(options: LedgerNodeOptions) {
    const { self, members } = options;
    const changing = options.membershipChanges === true;
    // A node may start outside the founders only if a committed change is to make it a member.
    if (!members.includes(self) && !changing) throw new RangeError(`${self} is not among the members`);
    if (new Set(members).size !== members.length) throw new RangeError('members must be distinct');
    this.self = self;
    this.membership = new LedgerMembers([...members], options.proversPerRank, changing);
    this.addressBook = [...(options.peers ?? members)];
    this.clock = options.clock;
    this.random = options.random;
    this.transport = options.send;
    this.onPublish = options.onPublish;
    this.store = options.store ?? new LedgerStore();
    this.selfPeer = new LedgerPeer(self);
    // Checked once against the founders, then followed height by height.
    this.membership.schedule(1);
    this.schedule = (height) => this.membership.schedule(height);
    this.proposersOf = (height, attempt) => this.membership.proposersOf(height, attempt);
    this.proofMs = options.proofMs ?? { min: 5, max: 20 };
    this.idleProofMs = options.idleProofMs ?? 0;
    this.entriesPerFrame = options.entriesPerFrame ?? { min: 1, max: 3 };
    this.patienceMs = options.patienceMs ?? 200;
    this.syncWaitMs = options.syncWaitMs ?? 100;
    this.resendMs = options.resendMs ?? (options.messaging === 'linear' ? 2 : 1) * this.patienceMs;
    // Past a few attempts: a sync restarts the round, so syncing sooner would
    // cut short the very attempts that get past a faulty proposer.
    this.attemptMs = options.attemptMs ?? this.patienceMs * (this.membership.provers(1) + 1);
    this.stallMs = options.stallMs ?? 3 * LEDGER_ATTEMPT_CAP * this.attemptMs;
    this.rankWindow = options.rankWindow ?? DEFAULT_RANK_WINDOW;
    this.listenFirstMs = options.listenFirstMs ?? 0;
    this.maxClockDriftMs = options.maxClockDriftMs ?? DEFAULT_MAX_CLOCK_DRIFT_MS;
    if (!(this.maxClockDriftMs >= 0)) throw new RangeError(`maxClockDriftMs must be non-negative, got ${this.maxClockDriftMs}`);
    this.unsafeRule = options.unsafeRule;
    this.messaging = options.messaging;
    this.commitOnVotes = this.unsafeRule === 'commit-on-votes' ? new CommitOnVotes((height) => this.inWindow(height)) : null;
    this.keys = options.keys;
    this.waiting = new Waiting(this.clock);
    this.sync = new LedgerSync({
      self,
      members: this.membership,
      store: this.store,
      stats: this.stats,
      clock: this.clock,
      syncWaitMs: this.syncWaitMs,
      send: (to, message) => this.send(to, message),
      broadcast: (message) => this.broadcast(message),
      wake: () => this.waiting.wake(),
      waitForChange: (wakeAt, signal) => this.waiting.waitForChange(wakeAt, signal),
      includesHonest: (members) => this.includesHonest(members),
    });
    this.lastProgress = this.clock.now();
    this.providers = this.createProviders();
  }

  /** The engine configuration this ledger expects; add timeouts, a logger, … */
  engineConfig(): LedgerEngineConfig {
    return ledgerEngineConfig({
      self: this.selfPeer,
      members: this.membership,
      keys: this.keys,
      head: this.store.head(),
      providers: this.providers,
      resendMs: this.resendMs,
      rankWindow: this.rankWindow,
      attemptMs: this.attemptMs,
      clock: this.clock,
      ...(this.messaging === undefined ? {} : { messaging: this.messaging }),
    });
  }

  /** Binds the engine (or node) this ledger's providers serve. */
  attach(engine: LedgerRounds): void {
    this.engine = engine;
    this.membership.bind(engine);
    // A new attempt is progress too: syncing would restart the round and cut the attempt short.
    engine.onAttemptChange(() => {
      this.lastProgress = this.clock.now();
    });
    engine.onCommit(({ state }) => this.finalized([state], 'commit'));
    engine.addListener((_from, _to, event) => {
      if (event === 'sync_complete') this.adoptSynced();
    });
  }

  /** Starts the engine and the re-send / stall timer. */
  start(): void {
    this.requireEngine().start();
    this.lastProgress = this.clock.now();
    this.quietUntil = this.clock.now() + this.listenFirstMs;
    this.scheduleTick();
  }

  /** A crash: no more sends, no more timers. The engine is the caller's to stop. */
  halt(): void {
    this.halted = true;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.sync.cancel();
  }

  onFinalized(listener: FinalizedListener): () => void {
    this.finalizedListeners.add(listener);
    return () => this.finalizedListeners.delete(listener);
  }

  /** The last finalized frame this node persisted. */
  head(): LedgerFrame {
    return this.store.head();
  }

  /**
   * The engine's active state: what the round in progress builds on. Read
   * from the engine rather than the store because the engine calls the next
   * round's providers before it delivers `onCommit` for the last one.
   */
  private active(): LedgerFrame {
    return this.engine === null ? this.store.head() : this.engine.getActiveState();
  }

  /**
   * Feeds a message that arrived from `from` (the transport vouches for the
   * sender, as a signature would). Consensus messages go to the engine; a
   * refusal is returned as its code, never thrown.
   */
  deliver(from: string, message: unknown): DeliveryOutcome {
    if (this.halted) return 'ignored';
    // Every field is read once, here: a peer's getter cannot show the checks one value and use another.
    const m = readOnce(message);
    if (m === null || kindOf(m) === 'garbage') return 'ignored';
    const engine = this.requireEngine();
    this.noteAhead(from, m);
    try {
      switch (m.kind) {
        case 'liveness':
          return this.authentic(from, m.peer) ?? engine.receiveLivenessCheck(m.peer as LedgerPeer, m.collected as LedgerBatch);
        case 'proposal': {
          const forged = this.authentic(from, m.peer);
          if (forged) return forged;
          const position = { attempt: m.attempt, validAttempt: m.validAttempt } as { attempt?: number; validAttempt?: number | null };
          // The ledger's own view waits on the same copy the engine judges.
          const frame = frameOnce(m.proposal);
          const result = engine.receiveProposal(m.peer as LedgerPeer, (frame ?? m.proposal) as LedgerFrame, position);
          this.noteProposal(from, frame, m.attempt);
          return result;
        }
        case 'vote': {
          const forged = this.authentic(from, m.voter);
          if (forged) return forged;
          const position = { attempt: m.attempt, proposal: m.proposal, signature: m.signature } as { attempt?: number; proposal?: string; signature?: string };
          this.commitOnVotes?.noteVoter(from, m.vote, m.attempt);
          return engine.receiveVote(m.proposer as LedgerPeer, m.voter as LedgerPeer, m.vote as LedgerVote, position);
        }
        case 'nil_vote': {
          const forged = this.authentic(from, m.voter);
          if (forged) return forged;
          const position = { attempt: m.attempt, signature: m.signature } as { attempt?: number; signature?: string };
          return engine.receiveNilVote(m.voter as LedgerPeer, m.vote as LedgerVote, position);
        }
        case 'confirmation': {
          const forged = this.authentic(from, m.peer);
          if (forged) return forged;
          const position = { attempt: m.attempt, signature: m.signature } as { attempt?: number; signature?: string };
          return engine.receiveConfirmation(m.peer as LedgerPeer, m.state as LedgerFrame, position);
        }
        case 'certificate':
          return engine.receiveCommitCertificate(m.state as LedgerFrame, m.certificate as Parameters<LedgerRounds['receiveCommitCertificate']>[1]);
        case 'lock_proof':
          return engine.receiveLockProof(m.proof as Parameters<LedgerRounds['receiveLockProof']>[0]);
        case 'nil_confirmation': {
          const position = { rank: m.rank, attempt: m.attempt, signature: m.signature } as { rank: number; attempt: number; signature?: string };
          return this.authentic(from, m.peer) ?? engine.receiveNilConfirmation(m.peer as LedgerPeer, position);
        }
        default:
          return deliverServiceMessage(engine, this.sync, from, m);
      }
    } catch (error) {
      if (!(error instanceof ConsensusInputError)) throw error;
      if (error.code === 'future_rank') this.noteFutureRank(from);
      if (error.code === 'invalid_signature') {
        this.stats.forged += 1;
        return 'forged';
      }
      return error.code;
    }
  }

  /** Whether these members weigh more than the faulty weight, so at least one of them is honest. */
  private includesHonest(members: Iterable<string>): boolean {
    const membership = this.requireEngine().getMembership();
    return weightOfSenders(membership, members) >= membership.honest;
  }

  // ---- providers -------------------------------------------------------

  private createProviders(): ConsensusProviders<LedgerFrame, LedgerVote, LedgerPeer, LedgerBatch, LedgerPayload> {
    return {
      sync: { synchronize: (existing, signal) => this.sync.synchronize(existing, signal) },
      leader: {
        getNextLeaders: async (prior) => this.schedule(prior.height + 1).map((name) => new LedgerPeer(name)),
        proveNextState: (prior, collected, signal) => this.prove(prior, collected, signal),
      },
      liveness: {
        collect: async (_signal, batch) => this.collect(batch),
        sendLiveness: async (_prior, collected) => {
          this.publish(collected.height, 'liveness', { kind: 'liveness', peer: this.selfPeer, collected });
        },
      },
      voting: {
        sendProposal: async (proposal, _signal, { attempt, validAttempt }) => {
          this.noteProposal(this.self, proposal, attempt);
          const message: LedgerMessage = { kind: 'proposal', peer: this.selfPeer, proposal, attempt, validAttempt };
          this.publish(proposal.height, `proposal:${attempt}`, message);
        },
        decideVote: (proposals, signal, position) => this.decideVote(proposals, signal, position),
        sendVote: async (decision, _signal, position) => this.sendVote(decision, position),
        finalizeVotes: async (proposals) => this.finalizeVotes(proposals),
        sendConfirmation: async (state, _signal, { attempt, signature, to }) => {
          const message: LedgerMessage = { kind: 'confirmation', peer: this.selfPeer, state, attempt, signature };
          this.publish(state.height, `confirmation:${attempt}`, message, to);
          this.commitOnVotes?.commit(this.requireEngine(), state, attempt);
        },
        sendNilConfirmation: async ({ rank, attempt, signature }) => {
          this.publish(rank, `confirmation:${attempt}`, { kind: 'nil_confirmation', peer: this.selfPeer, rank, attempt, signature });
        },
      },
      relay: {
        // Only a height still undecided after a re-send period needs it, and most commit sooner.
        sendLockProof: (proof) => this.keepForResend(proof.rank, 'lock_proof', { kind: 'lock_proof', proof }),
        sendCertificate: (to, state, certificate) => this.send(to.name, { kind: 'certificate', state, certificate }),
        broadcastLockProof: (proof) => this.broadcast({ kind: 'lock_proof', proof }),
        broadcastCertificate: (state, certificate) => this.broadcast({ kind: 'certificate', state, certificate }),
        requestEntries: (first, last) => this.askForEntries({ kind: 'entries_request', first, last }),
        forwardPayload: (payload) => this.broadcast({ kind: 'payload', payload }),
        sendEntries: (to, entries) => this.send(to.name, { kind: 'entries', entries }),
        requestReadIndex: (nonce) => this.broadcast({ kind: 'read_index_request', nonce }),
        sendReadIndex: (to, nonce, index) => this.send(to.name, { kind: 'read_index', nonce, index }),
      },
    };
  }

  /** `proposed`: the clients' entries the engine drew for the next height; without any, the node makes its own. */
  private collect(proposed: readonly string[] = []): LedgerBatch {
    const height = this.active().height + 1;
    let batch = this.collected.get(height);
    if (batch === undefined) {
      // A restarted node must announce the same batch again, or its second
      // liveness message is an equivocation: what it announces is stored first,
      // whether clients' entries or its own (a function of (node, height)).
      let entries = this.store.batchAt(height);
      if (entries === undefined) {
        if (proposed.length > 0) {
          entries = [...proposed];
        } else {
          const { min, max } = this.entriesPerFrame;
          const count = min + (Number.parseInt(LedgerFrame.hashOf(height, '', this.self, 0, []).slice(0, 8), 16) % (max - min + 1));
          entries = Array.from({ length: count }, (_, i) => `tx:${this.self}:${height}:${i}`);
        }
        this.store.saveBatch(height, entries);
      }
      batch = new LedgerBatch(height, this.self, entries);
      this.collected.set(height, batch);
    }
    return batch;
  }

  private async prove(prior: LedgerFrame, collected: LedgerBatch, signal: AbortSignal): Promise<LedgerFrame> {
    const height = prior.height + 1;
    const proposed = this.store.proposalAt(height);
    if (proposed !== undefined) {
      // Proposing twice at one height would be equivocation, restarts included.
      if (proposed.parent !== prior.hash) throw new Error(`already proposed at ${height} on another parent`);
      return proposed;
    }
    const entries = collected.height === height ? collected.entries : this.collect().entries;
    const idle = this.idleProofMs > 0 && entries.every((entry) => isOwnEntry(entry, this.self));
    await this.waiting.sleep(idle ? this.idleProofMs : this.random.integer(this.proofMs.min, this.proofMs.max), signal);
    const frame = LedgerFrame.create(height, prior.hash, this.self, frameTimeAfter(prior, this.clock.now()), entries);
    this.store.saveProposal(frame);
    return frame;
  }

  /**
   * The voting rule. In attempt 0 every scheduled prover may propose: vote
   * for the highest-priority valid proposal, waiting `patienceMs` for each
   * prover in turn before settling for the next. In a later attempt the
   * engine offers only that attempt's proposer's proposal, and only if this
   * node's lock allows it. Nothing valid to vote for: a nil vote.
   */
  private async decideVote(
    offered: ReadonlyMap<Identity, LedgerFrame>,
    signal: AbortSignal,
    { rank: height, attempt }: AttemptPosition,
  ): Promise<VoteDecision<LedgerVote, LedgerPeer>> {
    const head = this.active();
    const remembered = this.store.voteAt(height, attempt);
    if (remembered !== undefined) return this.castVote(remembered, attempt);
    if (this.clock.now() < this.quietUntil) await this.waiting.waitForChange(this.quietUntil, signal);
    // In attempt 0 a scheduled prover's own frame; later, the attempt's proposer may re-propose a
    // frame any member proved in an earlier attempt.
    const mayProve = attempt === 0 ? this.schedule : () => this.membership.at(height);
    // Read at each judgement: a frame from a prover whose clock runs ahead becomes votable as this node's catches up.
    const valid = (prover: string, frame: LedgerFrame | undefined): frame is LedgerFrame =>
      frame !== undefined &&
      judgeProposal(frame, frame.prover, head, mayProve, Math.floor(this.clock.now()) + this.maxClockDriftMs) === 'valid' &&
      (attempt > 0 || frame.prover === prover);
    if (attempt > 0 && this.unsafeRule === 'ignore-locks') {
      const [proposer] = this.proposersOf(height, attempt);
      const frame = this.view.get(height)?.get(`${attempt}:${proposer}`);
      const decision = this.castVote(this.voteFor(height, valid(proposer, frame) ? [proposer, frame] : null), attempt);
      if (decision.proposer !== null) this.sendAndCountOwnVote(decision, attempt);
      return decision;
    }
    if (attempt > 0 || offered.size === 0) {
      const [prover, frame] = [...offered.entries()][0] ?? [];
      return this.castVote(this.voteFor(height, prover !== undefined && valid(prover, frame) ? [prover, frame] : null), attempt);
    }
    for (const [sender, frame] of offered) this.noteProposal(sender, frame, 0);
    const start = this.clock.now();
    for (;;) {
      signal.throwIfAborted();
      const now = this.clock.now();
      let wakeAt: number | null = null;
      let chosen: [string, LedgerFrame] | null = null;
      for (const [index, prover] of this.schedule(height).entries()) {
        const frame = this.view.get(height)?.get(`0:${prover}`);
        if (valid(prover, frame)) {
          chosen = [prover, frame];
          break;
        }
        const deadline = start + (index + 1) * this.patienceMs;
        if (now < deadline) {
          wakeAt = deadline;
          break;
        }
      }
      if (chosen !== null || wakeAt === null) return this.castVote(this.voteFor(height, chosen), attempt);
      await this.waiting.waitForChange(wakeAt, signal);
    }
  }

  /**
   * The `ignore-locks` breakage (engines without keys): the node sends its
   * vote itself and puts it into its engine's books whatever its lock said;
   * the engine, which would not send a vote its lock forbids, is bypassed.
   */
  private sendAndCountOwnVote({ proposer, vote }: VoteDecision<LedgerVote, LedgerPeer>, attempt: number): void {
    this.sendVote({ proposer, vote }, { rank: vote.height, attempt, proposal: vote.frame });
    try {
      this.requireEngine().receiveVote(proposer as LedgerPeer, this.selfPeer, vote, { attempt, proposal: vote.frame });
    } catch (error) {
      if (!(error instanceof ConsensusInputError)) throw error;
    }
  }

  /** A vote for `choice`'s frame, or a nil vote. */
  private voteFor(height: number, choice: [string, LedgerFrame] | null): LedgerVote {
    return choice === null
      ? new LedgerVote(height, this.self, '', NIL_FRAME)
      : new LedgerVote(height, this.self, choice[0], choice[1].hash);
  }

  /** Records the vote (once per height and attempt, restarts included) and returns it as the decision. */
  private castVote(vote: LedgerVote, attempt: number): VoteDecision<LedgerVote, LedgerPeer> {
    const nil = vote.frame === NIL_FRAME;
    if (this.store.voteAt(vote.height, attempt) === undefined) {
      this.store.saveVote(vote, attempt);
      if (nil) this.stats.nilVotes += 1;
      else this.stats.votes += 1;
    }
    return { proposer: nil ? null : new LedgerPeer(vote.proposer), vote };
  }

  /** The vote the engine let through, with the signature it made. */
  private sendVote({ proposer, vote }: VoteDecision<LedgerVote, LedgerPeer>, { attempt, proposal, signature, to }: VotePosition): void {
    const message: LedgerMessage =
      proposer === null
        ? { kind: 'nil_vote', voter: this.selfPeer, vote, attempt, signature }
        : { kind: 'vote', proposer: new LedgerPeer(proposer.name), voter: this.selfPeer, vote, attempt, proposal, signature };
    this.publish(vote.height, `vote:${attempt}`, message, to);
    if (proposer !== null) this.commitOnVotes?.noteVoter(this.self, vote, attempt);
  }

  /** The engine hands over the locked proposal; it must still be a valid frame here. */
  private async finalizeVotes(proposals: ReadonlyMap<Identity, LedgerFrame>): Promise<{ state: LedgerFrame; proposer: LedgerPeer }> {
    const [entry] = [...proposals.entries()];
    if (entry === undefined) throw new Error('no locked proposal to finalize');
    const [sender, frame] = entry;
    // Any member may have proved it, in the attempt it was its turn; the drift bound is the voters', and they voted.
    const verdict = judgeProposal(frame, frame.prover, this.active(), (height) => this.membership.at(height));
    if (verdict !== 'valid') throw new Error(`the quorum's frame ${frame.hash} is invalid here (${verdict})`);
    return { state: frame, proposer: new LedgerPeer(sender) };
  }

  // ---- messages in -----------------------------------------------------

  /** A message claiming a sender other than the link's is dropped, as a bad signature would be. */
  private authentic(from: string, claimed: unknown): 'forged' | undefined {
    const id = claimedIdentity(claimed);
    if (id !== undefined && id !== from) {
      this.stats.forged += 1;
      return 'forged';
    }
    return undefined;
  }

  private inWindow(height: unknown): height is number {
    const base = this.active().height;
    return Number.isSafeInteger(height) && (height as number) > base && (height as number) <= base + this.rankWindow;
  }

  private noteProposal(sender: string, proposal: unknown, attempt: unknown): void {
    if (!(proposal instanceof LedgerFrame) || !this.inWindow(proposal.height)) return;
    const at = attempt ?? 0;
    if (!Number.isSafeInteger(at) || (at as number) < 0 || (at as number) > 64) return;
    if (!this.proposersOf(proposal.height, at as number).includes(sender)) return;
    let atHeight = this.view.get(proposal.height);
    if (atHeight === undefined) this.view.set(proposal.height, (atHeight = new Map()));
    // First proposal per prover and attempt wins, as in the engine's books.
    const key = `${at as number}:${sender}`;
    if (atHeight.has(key)) return;
    atHeight.set(key, proposal);
    this.waiting.wake();
  }

  /**
   * f + 1 peers talking about a height above the one being decided include an
   * honest one that finalized it; if this node still lacks the confirmations
   * to follow (a Byzantine peer may have confirmed something else to it), a
   * sync fetches the frame.
   */
  private noteAhead(from: string, message: LedgerMessage): void {
    if (!this.membership.at(this.active().height + 1).includes(from) || message.kind === 'sync_request' || message.kind === 'sync_response') return;
    const rank = rankOfMessage(message);
    if (rank === null || rank <= this.active().height + 1) return;
    this.aheadSenders.add(from);
    const settled = this.clock.now() - Math.max(this.lastProgress, this.lastInducedSync) >= 2 * this.resendMs;
    if (settled && this.includesHonest(this.aheadSenders)) this.induceSync();
  }

  private noteFutureRank(from: string): void {
    this.futureSenders.add(from);
    // f + 1 peers past our window: at least one honest node is far ahead.
    if (this.includesHonest(this.futureSenders)) this.induceSync();
  }

  private adoptSynced(): void {
    const frames = this.sync.takeAdopted();
    if (frames.length > 0) this.finalized(frames, 'sync');
  }

  // ---- progress, gossip, stalls ---------------------------------------

  private finalized(frames: LedgerFrame[], via: 'commit' | 'sync'): void {
    for (const frame of frames) {
      if (frame.height <= this.store.height()) continue;
      this.store.append(frame);
      if (via === 'sync') this.stats.framesSynced += 1;
      for (const listener of this.finalizedListeners) listener(frame, via);
    }
    this.lastProgress = this.clock.now();
    this.futureSenders.clear();
    this.aheadSenders.clear();
    const height = this.store.height();
    for (const map of [this.view, this.collected] as Map<number, unknown>[]) {
      for (const key of [...map.keys()]) if (key <= height) map.delete(key);
    }
    this.commitOnVotes?.forget(height);
    // The just-finalized height's messages stay: a peer that missed our vote
    // for it cannot finalize it from anything else once we have moved on.
    for (const key of [...this.outbox.keys()]) if (key < height) this.outbox.delete(key);
  }

  private scheduleTick(): void {
    if (this.halted) return;
    this.timer = this.clock.setTimeout(() => this.tick(), this.resendMs);
  }

  private tick(): void {
    this.timer = null;
    if (this.halted) return;
    const now = this.clock.now();
    if (now - this.lastProgress >= this.resendMs) this.resend();
    if (now - Math.max(this.lastProgress, this.lastInducedSync) >= this.stallMs) {
      this.stats.stallSyncs += 1;
      this.induceSync();
    }
    this.scheduleTick();
  }

  private induceSync(): void {
    const engine = this.engine;
    if (engine === null || this.halted) return;
    const state = engine.getState();
    if (state === 'stopped' || state === 'stopping' || state === 'starting' || state === 'loading') return;
    this.lastInducedSync = this.clock.now();
    this.futureSenders.clear();
    this.aheadSenders.clear();
    engine.induceSync();
  }

  private resend(): void {
    const height = this.store.height();
    for (const [rank, messages] of this.outbox) {
      if (rank < height) continue;
      for (const message of messages.values()) {
        this.stats.resends += 1;
        this.broadcast(message);
      }
    }
  }

  /** Kept for re-sends (to everyone); sent now to `to` alone when the engine names one (linear messaging), else to everyone. */
  private publish(rank: number, key: string, message: LedgerMessage, to?: string): void {
    if (this.halted) return;
    this.onPublish?.(message);
    this.keepForResend(rank, key, message);
    if (to === undefined) this.broadcast(message);
    else if (to !== this.self) this.send(to, message);
  }

  /** Re-sent while the height is undecided (see `resend`). */
  private keepForResend(rank: number, key: string, message: LedgerMessage): void {
    if (!this.inWindow(rank)) return;
    let messages = this.outbox.get(rank);
    if (messages === undefined) this.outbox.set(rank, (messages = new Map()));
    messages.set(key, message);
  }

  /** Missing entries are asked of the audience, and of the whole address book while this node is not yet (or no longer) a member. */
  private askForEntries(message: LedgerMessage): void {
    const audience = this.membership.audience(this.active().height + 1);
    const outside = !this.membership.at(Number.MAX_SAFE_INTEGER).includes(this.self);
    for (const peer of outside ? new Set([...audience, ...this.addressBook]) : audience) if (peer !== this.self) this.send(peer, message);
  }

  private broadcast(message: LedgerMessage): void {
    for (const member of this.membership.audience(this.active().height + 1)) if (member !== this.self) this.send(member, message);
  }

  private send(to: string, message: LedgerMessage): void {
    if (!this.halted) this.transport(to, message);
  }

  private requireEngine(): LedgerRounds {
    if (this.engine === null) throw new Error(`ledger node ${this.self}: attach(engine) first`);
    return this.engine;
  }
}
