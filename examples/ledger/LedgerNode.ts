import {
  DEFAULT_RANK_WINDOW,
  type ConsensusEngine,
  type ConsensusEngineConfig,
  type ConsensusProviders,
} from '../../engine/createConsensusEngine';
import { ConsensusInputError } from '../../engine/errors';
import type { ConsensusClock } from '../../providers/clock';
import type { RandomSource } from '../../providers/random';
import type { Identity } from '../../providers/unique';
import type { VoteDecision } from '../../providers/voting';
import { LedgerStore } from './LedgerStore';
import { claimedIdentity, kindOf, type LedgerMessage } from './messages';
import { byzantineQuorum, defaultProversPerRank, faultTolerance, judgeProposal, leaderSchedule } from './rules';
import { LedgerBatch, LedgerFrame, LedgerPeer, LedgerVote } from './types';

export type LedgerEngine = ConsensusEngine<LedgerFrame, LedgerVote, LedgerPeer, LedgerBatch>;
export type LedgerEngineConfig = ConsensusEngineConfig<LedgerFrame, LedgerVote, LedgerPeer, LedgerBatch>;
/** What a ledger drives: an engine, or a node (`createNode`), which has the engine's API bar its actor. */
export type LedgerRounds = Omit<LedgerEngine, 'actor'>;

/** Frames one sync response may carry: a peer cannot make us hold more per request. */
export const MAX_SYNC_FRAMES = 64;
/**
 * Re-send periods a voter waits before it endorses a prover it asked to skip
 * and whose proposal then arrived: long enough for lost skip requests to be
 * re-sent, short enough that a healed partition does not wait for long.
 */
const LATE_PROPOSAL_GRACE = 3;
/** Requests one synchronize call makes before handing over what it has. */
const MAX_SYNC_REQUESTS = 8;

export interface DurationRange {
  min: number;
  max: number;
}

export interface LedgerNodeOptions {
  self: string;
  /** Every member, in one order all nodes share (the schedule rotates over it). */
  members: readonly string[];
  clock: ConsensusClock;
  /** Proof times and collected mutations are drawn from here. */
  random: RandomSource;
  /** The transport: deliver `message` to peer `to` (this node is the sender). */
  send: (to: string, message: LedgerMessage) => void;
  /** What survives a crash; pass the old one to a restarted node. Default: a fresh ledger. */
  store?: LedgerStore;
  /** Provers per height. Default f + 2, capped at n. */
  proversPerRank?: number;
  /**
   * Votes for one frame that finalize it. Default 2f + 1. Lowering it breaks
   * agreement; it is an option only so tests can prove the checker notices.
   */
  quorumSize?: number;
  /** Simulated time a proof takes. Default 5–20 ms. */
  proofMs?: DurationRange;
  /** How long a voter waits for a prover's proposal before asking to skip it. Default 200 ms. */
  patienceMs?: number;
  /** How long a sync waits for peers' answers. Default 100 ms. */
  syncWaitMs?: number;
  /** Unanswered messages of the pending height are re-sent this often. Default: patienceMs. */
  resendMs?: number;
  /** No progress for this long → re-sync from peers. Default: patienceMs × (provers + 2). */
  stallMs?: number;
  /**
   * After `start()`, wait this long before casting any vote, to hear what
   * peers re-send first (skip requests above all). A restarted node that
   * votes at once may endorse a prover the others already skipped and split
   * the vote. Default 0; give a restarted node about resendMs + patienceMs.
   */
  listenFirstMs?: number;
  /** Must equal the engine's rank window (it bounds what the ledger keeps too). Default 16. */
  rankWindow?: number;
  /** Mutations collected per height. Default 1–3. */
  entriesPerFrame?: DurationRange;
}

/** What became of one delivered message, for traces and evidence. */
export type DeliveryOutcome =
  | 'accepted'
  | 'duplicate'
  | 'forged'
  | 'ignored'
  | 'answered'
  | ConsensusInputError['code'];

export interface LedgerNodeStats {
  votes: number;
  skipsSent: number;
  syncRequests: number;
  framesSynced: number;
  stallSyncs: number;
  resends: number;
  forged: number;
}

export type FinalizedListener = (frame: LedgerFrame, via: 'commit' | 'sync') => void;

interface RoundMemory {
  /** When this node started waiting on the height, the reference for the first deadline. */
  start: number;
  /** When each prover became skipped here, the reference for the next prover's deadline. */
  skippedAt: Map<string, number>;
  /** When this node asked to skip each prover. */
  complained: Map<string, number>;
}

interface SyncRequest {
  id: number;
  responses: Map<string, LedgerFrame[]>;
}

/**
 * One node of a small replicated ledger, written as an example of providers
 * for `createConsensusEngine` (and the application the simulator and CLI run).
 *
 * The rules, all in the providers, none in the engine:
 * - **leader schedule**: at height h the provers are the members rotated by h,
 *   f + 2 of them, in priority order; each proves a frame of its own
 *   collected mutations chained to the last finalized frame;
 * - **voting**: a voter endorses the highest-priority *valid* proposal
 *   (`judgeProposal`); it waits for prover i until `patienceMs` after prover
 *   i − 1 was skipped, then announces `skip`; a prover is skipped once 2f + 1
 *   nodes asked to skip it (or its proposal is invalid and they all saw so),
 *   or f + 1 voters endorsed a lower-priority prover; and once f + 1 voters
 *   endorsed one valid proposal, a voter joins them. This keeps honest voters
 *   together when a prover is silent, invalid or late;
 * - **quorum**: 2f + 1 votes naming one frame hash; **finalization** picks that
 *   frame, the state a quorum endorsed;
 * - **safety data**: a node votes and proposes at most once per height, across
 *   restarts (`LedgerStore`);
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
  readonly members: readonly string[];
  readonly store: LedgerStore;
  readonly schedule: (height: number) => string[];
  readonly quorumSize: number;
  /** Skip requests that skip a prover: 2f + 1, whatever `quorumSize` says. */
  readonly skipQuorum: number;
  readonly providers: ConsensusProviders<LedgerFrame, LedgerVote, LedgerPeer, LedgerBatch>;
  readonly stats: LedgerNodeStats = {
    votes: 0,
    skipsSent: 0,
    syncRequests: 0,
    framesSynced: 0,
    stallSyncs: 0,
    resends: 0,
    forged: 0,
  };

  private readonly clock: ConsensusClock;
  private readonly random: RandomSource;
  private readonly transport: (to: string, message: LedgerMessage) => void;
  private readonly selfPeer: LedgerPeer;
  private readonly f: number;
  private readonly proversPerRank: number;
  private readonly proofMs: DurationRange;
  private readonly entriesPerFrame: DurationRange;
  readonly patienceMs: number;
  readonly syncWaitMs: number;
  readonly resendMs: number;
  readonly stallMs: number;
  readonly rankWindow: number;
  readonly listenFirstMs: number;
  /** No vote before this time (see `listenFirstMs`). */
  private quietUntil = Number.NEGATIVE_INFINITY;

  private engine: LedgerRounds | null = null;
  private halted = false;
  private timer: unknown = null;
  private lastProgress: number;
  private lastInducedSync = Number.NEGATIVE_INFINITY;
  /** Accepted proposals by height and prover: what `decideAndSendVote` chooses from. */
  private readonly view = new Map<number, Map<string, LedgerFrame>>();
  /** Skip requests by height, then prover, then requester. */
  private readonly skips = new Map<number, Map<string, Set<string>>>();
  /** Whose proposal each voter endorsed, by height (first vote per voter). */
  private readonly endorsements = new Map<number, Map<string, string>>();
  private readonly rounds = new Map<number, RoundMemory>();
  private readonly collected = new Map<number, LedgerBatch>();
  /** This node's messages per height, re-sent while the height is undecided. */
  private readonly outbox = new Map<number, Map<string, LedgerMessage>>();
  private readonly waiters = new Set<() => void>();
  private readonly futureSenders = new Set<string>();
  private syncSequence = 0;
  private syncRequest: SyncRequest | null = null;
  private pendingSync: LedgerFrame[] = [];
  private readonly finalizedListeners = new Set<FinalizedListener>();

  constructor(options: LedgerNodeOptions) {
    const { self, members } = options;
    if (!members.includes(self)) throw new RangeError(`${self} is not among the members`);
    if (new Set(members).size !== members.length) throw new RangeError('members must be distinct');
    this.self = self;
    this.members = [...members];
    this.clock = options.clock;
    this.random = options.random;
    this.transport = options.send;
    this.store = options.store ?? new LedgerStore();
    this.selfPeer = new LedgerPeer(self);
    this.f = faultTolerance(members.length);
    this.proversPerRank = options.proversPerRank ?? defaultProversPerRank(members.length);
    this.schedule = leaderSchedule(this.members, this.proversPerRank);
    this.quorumSize = options.quorumSize ?? byzantineQuorum(members.length);
    this.skipQuorum = byzantineQuorum(members.length);
    this.proofMs = options.proofMs ?? { min: 5, max: 20 };
    this.entriesPerFrame = options.entriesPerFrame ?? { min: 1, max: 3 };
    this.patienceMs = options.patienceMs ?? 200;
    this.syncWaitMs = options.syncWaitMs ?? 100;
    this.resendMs = options.resendMs ?? this.patienceMs;
    this.stallMs = options.stallMs ?? this.patienceMs * (this.proversPerRank + 2);
    this.rankWindow = options.rankWindow ?? DEFAULT_RANK_WINDOW;
    this.listenFirstMs = options.listenFirstMs ?? 0;
    this.lastProgress = this.clock.now();
    this.providers = this.createProviders();
  }

  /** The engine configuration this ledger expects; add timeouts, a logger, … */
  engineConfig(): LedgerEngineConfig {
    return {
      id: this.selfPeer,
      initialState: this.store.head(),
      providers: this.providers,
      members: this.members.map((name) => new LedgerPeer(name)),
      minimumProvers: this.proversPerRank,
      // One live prover is enough to go on; the voting rule does the waiting.
      livenessThreshold: 1,
      proposalThreshold: 1,
      rankWindow: this.rankWindow,
      clock: this.clock,
    };
  }

  /** Binds the engine (or node) this ledger's providers serve. */
  attach(engine: LedgerRounds): void {
    this.engine = engine;
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
    this.syncRequest = null;
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
    const kind = kindOf(message);
    if (kind === 'garbage') return 'ignored';
    const engine = this.requireEngine();
    const m = message as LedgerMessage;
    try {
      switch (m.kind) {
        case 'liveness':
          return this.authentic(from, m.peer) ?? engine.receiveLivenessCheck(m.peer as LedgerPeer, m.collected as LedgerBatch);
        case 'proposal': {
          const forged = this.authentic(from, m.peer);
          if (forged) return forged;
          const result = engine.receiveProposal(m.peer as LedgerPeer, m.proposal as LedgerFrame);
          this.noteProposal(from, m.proposal);
          return result;
        }
        case 'vote': {
          const forged = this.authentic(from, m.voter);
          if (forged) return forged;
          const result = engine.receiveVote(m.proposer as LedgerPeer, m.voter as LedgerPeer, m.vote as LedgerVote);
          this.noteVote(from, m.vote);
          return result;
        }
        case 'confirmation':
          return this.authentic(from, m.peer) ?? engine.receiveConfirmation(m.peer as LedgerPeer, m.state as LedgerFrame);
        case 'skip':
          return this.noteSkip(from, m.rank, m.prover);
        case 'sync_request':
          return this.answerSync(from, m.id, m.after);
        case 'sync_response':
          return this.collectSyncResponse(from, m.id, m.frames);
      }
    } catch (error) {
      if (!(error instanceof ConsensusInputError)) throw error;
      if (error.code === 'future_rank') this.noteFutureRank(from);
      return error.code;
    }
  }

  // ---- providers -------------------------------------------------------

  private createProviders(): ConsensusProviders<LedgerFrame, LedgerVote, LedgerPeer, LedgerBatch> {
    return {
      sync: { synchronize: (existing, signal) => this.synchronize(existing, signal) },
      leader: {
        getNextLeaders: async (prior) => this.schedule(prior.height + 1).map((name) => new LedgerPeer(name)),
        proveNextState: (prior, collected, signal) => this.prove(prior, collected, signal),
      },
      liveness: {
        collect: async () => this.collect(),
        sendLiveness: async (_prior, collected) => {
          this.publish(collected.height, 'liveness', { kind: 'liveness', peer: this.selfPeer, collected });
        },
      },
      voting: {
        sendProposal: async (proposal) => {
          this.noteProposal(this.self, proposal);
          this.publish(proposal.height, 'proposal', { kind: 'proposal', peer: this.selfPeer, proposal });
        },
        decideAndSendVote: (proposals, signal) => this.decideAndSendVote(proposals, signal),
        isQuorum: async (votes) => this.leadingFrame(votes) !== null,
        finalizeVotes: async (proposals, votes) => this.finalizeVotes(proposals, votes),
        sendConfirmation: async (state) => {
          this.broadcast({ kind: 'confirmation', peer: this.selfPeer, state });
        },
      },
    };
  }

  private collect(): LedgerBatch {
    const height = this.active().height + 1;
    this.roundFor(height);
    let batch = this.collected.get(height);
    if (batch === undefined) {
      // A function of (node, height), not a draw: a restarted node must announce
      // the same batch again, or its second liveness message is an equivocation.
      const { min, max } = this.entriesPerFrame;
      const count = min + (Number.parseInt(LedgerFrame.hashOf(height, '', this.self, []).slice(0, 8), 16) % (max - min + 1));
      const entries = Array.from({ length: count }, (_, i) => `tx:${this.self}:${height}:${i}`);
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
    await this.sleep(this.random.integer(this.proofMs.min, this.proofMs.max), signal);
    const entries = collected.height === height ? collected.entries : this.collect().entries;
    const frame = LedgerFrame.create(height, prior.hash, this.self, entries);
    this.store.saveProposal(frame);
    return frame;
  }

  private async decideAndSendVote(
    proposals: ReadonlyMap<Identity, LedgerFrame>,
    signal: AbortSignal,
  ): Promise<VoteDecision<LedgerVote, LedgerPeer>> {
    const head = this.active();
    const height = head.height + 1;
    const remembered = this.store.voteAt(height);
    if (remembered !== undefined) {
      this.noteVote(this.self, remembered);
      this.publish(height, 'vote', this.voteMessage(remembered));
      return { proposer: new LedgerPeer(remembered.proposer), vote: remembered };
    }
    for (const [sender, frame] of proposals) this.noteProposal(sender, frame);
    for (;;) {
      signal.throwIfAborted();
      const step = this.nextStep(height, head);
      for (const prover of step.complain) this.requestSkip(height, prover);
      if (step.choose !== undefined) {
        const vote = new LedgerVote(height, this.self, step.choose.prover, step.choose.hash);
        this.store.saveVote(vote);
        this.stats.votes += 1;
        this.noteVote(this.self, vote);
        this.publish(height, 'vote', this.voteMessage(vote));
        return { proposer: new LedgerPeer(vote.proposer), vote };
      }
      await this.waitForChange(step.wakeAt, signal);
    }
  }

  /**
   * The voting rule. Provers are considered in priority order; a skipped one
   * (2f + 1 skip requests) is passed over. The first one not skipped decides:
   * its valid proposal gets the vote; an invalid one, or none by its
   * deadline, gets a skip request and we wait for the others' requests.
   */
  private nextStep(height: number, head: LedgerFrame): { choose?: LedgerFrame; complain: string[]; wakeAt: number | null } {
    const now = this.clock.now();
    const crowd = this.crowdChoice(height, head);
    if (crowd !== undefined) return { choose: crowd, complain: [], wakeAt: null };
    if (now < this.quietUntil) return { complain: [], wakeAt: this.quietUntil };
    const round = this.roundFor(height);
    const complain: string[] = [];
    let since = round.start;
    for (const prover of this.schedule(height)) {
      if (this.isSkipped(height, prover)) {
        if (!round.skippedAt.has(prover)) round.skippedAt.set(prover, now);
        since = round.skippedAt.get(prover)!;
        continue;
      }
      const frame = this.view.get(height)?.get(prover);
      if (frame !== undefined && judgeProposal(frame, prover, head, this.schedule) === 'valid') {
        // Asked to skip it, then it showed up: give the others' requests (and
        // a re-send of any lost one) time to arrive before endorsing it after
        // all, or we may split the vote with those who skipped it.
        const asked = round.complained.get(prover);
        const relent = asked === undefined ? now : asked + LATE_PROPOSAL_GRACE * this.resendMs;
        if (now < relent) return { complain, wakeAt: relent };
        return { choose: frame, complain, wakeAt: null };
      }
      const deadline = since + this.patienceMs;
      if (frame === undefined && now < deadline) return { complain, wakeAt: deadline };
      if (!round.complained.has(prover)) complain.push(prover);
      return { complain, wakeAt: null };
    }
    // Every prover skipped: only a round change (SPEC §2.8) could help.
    return { complain, wakeAt: null };
  }

  /**
   * The highest-priority prover f + 1 voters already endorsed (so at least one
   * honest voter did), if we hold its valid proposal. Joining them beats
   * following our own view when it differs: a vote split between honest
   * nodes never resolves without a round change.
   */
  private crowdChoice(height: number, head: LedgerFrame): LedgerFrame | undefined {
    const counts = new Map<string, number>();
    for (const endorsed of this.endorsements.get(height)?.values() ?? []) counts.set(endorsed, (counts.get(endorsed) ?? 0) + 1);
    for (const prover of this.schedule(height)) {
      if ((counts.get(prover) ?? 0) <= this.f) continue;
      const frame = this.view.get(height)?.get(prover);
      if (frame !== undefined && judgeProposal(frame, prover, head, this.schedule) === 'valid') return frame;
    }
    return undefined;
  }

  /** The frame hash 2f + 1 (or `quorumSize`) votes name, if any; ties go to the lower hash. */
  private leadingFrame(votes: ReadonlyMap<Identity, LedgerVote>): string | null {
    const height = this.active().height + 1;
    const tally = new Map<string, number>();
    for (const [voter, vote] of votes) {
      if (!(vote instanceof LedgerVote) || vote.voter !== voter || vote.height !== height) continue;
      tally.set(vote.frame, (tally.get(vote.frame) ?? 0) + 1);
    }
    const ranked = [...tally].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1));
    return ranked.length > 0 && ranked[0][1] >= this.quorumSize ? ranked[0][0] : null;
  }

  private async finalizeVotes(
    proposals: ReadonlyMap<Identity, LedgerFrame>,
    votes: ReadonlyMap<Identity, LedgerVote>,
  ): Promise<{ state: LedgerFrame; proposer: LedgerPeer }> {
    const hash = this.leadingFrame(votes);
    if (hash === null) throw new Error('no frame has a quorum of votes');
    for (const [sender, frame] of proposals) {
      if (!(frame instanceof LedgerFrame) || frame.hash !== hash || frame.prover !== sender) continue;
      const verdict = judgeProposal(frame, sender, this.active(), this.schedule);
      if (verdict !== 'valid') throw new Error(`the quorum's frame ${hash} is invalid here (${verdict})`);
      return { state: frame, proposer: new LedgerPeer(sender) };
    }
    // We hold another proposal from that prover (it equivocated) or none: a
    // later sync fetches the frame from the peers that finalized it.
    throw new Error(`a quorum endorses ${hash} but its proposal is not held here`);
  }

  private async synchronize(existing: LedgerFrame, signal: AbortSignal): Promise<LedgerFrame> {
    this.pendingSync = [];
    let current = existing;
    const adopted: LedgerFrame[] = [];
    for (let request = 0; request < MAX_SYNC_REQUESTS; request += 1) {
      const responses = await this.requestFrames(current.height, signal);
      const chain = this.agreedChain(current, responses);
      adopted.push(...chain);
      if (chain.length === 0) break;
      current = chain[chain.length - 1];
      if (chain.length < MAX_SYNC_FRAMES) break;
    }
    this.pendingSync = adopted;
    return current;
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

  private noteProposal(sender: string, proposal: unknown): void {
    if (!(proposal instanceof LedgerFrame) || !this.inWindow(proposal.height)) return;
    if (!this.schedule(proposal.height).includes(sender)) return;
    let atHeight = this.view.get(proposal.height);
    if (atHeight === undefined) this.view.set(proposal.height, (atHeight = new Map()));
    // First proposal per prover wins, as in the engine's books.
    if (atHeight.has(sender)) return;
    atHeight.set(sender, proposal);
    this.wake();
  }

  private noteVote(voter: string, vote: unknown): void {
    if (!(vote instanceof LedgerVote) || vote.voter !== voter || !this.inWindow(vote.height)) return;
    if (!this.schedule(vote.height).includes(vote.proposer)) return;
    let atHeight = this.endorsements.get(vote.height);
    if (atHeight === undefined) this.endorsements.set(vote.height, (atHeight = new Map()));
    if (atHeight.has(voter)) return;
    atHeight.set(voter, vote.proposer);
    this.wake();
  }

  /**
   * Whether `prover` is passed over at `height`: 2f + 1 nodes asked to skip
   * it, or f + 1 voters (so at least one honest one, who saw those 2f + 1
   * requests) endorsed a prover of lower priority. The second way lets a node
   * that missed some requests (lost, or sent by a node that then crashed)
   * follow the others instead of splitting the vote.
   */
  private isSkipped(height: number, prover: string): boolean {
    if (this.skipCount(height, prover) >= this.skipQuorum) return true;
    const order = this.schedule(height);
    const rank = order.indexOf(prover);
    let below = 0;
    for (const endorsed of this.endorsements.get(height)?.values() ?? []) if (order.indexOf(endorsed) > rank) below += 1;
    return below > this.f;
  }

  private noteSkip(from: string, rank: unknown, prover: unknown): DeliveryOutcome {
    if (!this.inWindow(rank) || typeof prover !== 'string' || !this.schedule(rank).includes(prover)) return 'ignored';
    if (!this.members.includes(from)) return 'ignored';
    let atRank = this.skips.get(rank);
    if (atRank === undefined) this.skips.set(rank, (atRank = new Map()));
    let requesters = atRank.get(prover);
    if (requesters === undefined) atRank.set(prover, (requesters = new Set()));
    if (requesters.has(from)) return 'duplicate';
    requesters.add(from);
    this.wake();
    return 'accepted';
  }

  private noteFutureRank(from: string): void {
    this.futureSenders.add(from);
    // f + 1 peers past our window: at least one honest node is far ahead.
    if (this.futureSenders.size > this.f) this.induceSync();
  }

  private answerSync(from: string, id: unknown, after: unknown): DeliveryOutcome {
    if (!Number.isSafeInteger(id) || !Number.isSafeInteger(after) || (after as number) < 0) return 'ignored';
    const frames = this.store.framesAfter(after as number, MAX_SYNC_FRAMES).map((frame) => frame.clone());
    this.send(from, { kind: 'sync_response', id, frames });
    return 'answered';
  }

  private collectSyncResponse(from: string, id: unknown, frames: unknown): DeliveryOutcome {
    const request = this.syncRequest;
    if (request === null || id !== request.id || request.responses.has(from) || !Array.isArray(frames)) return 'ignored';
    if (!this.members.includes(from)) return 'ignored';
    const usable = frames.slice(0, MAX_SYNC_FRAMES).filter((frame): frame is LedgerFrame => frame instanceof LedgerFrame);
    request.responses.set(from, usable);
    this.wake();
    return 'accepted';
  }

  // ---- sync ------------------------------------------------------------

  private async requestFrames(after: number, signal: AbortSignal): Promise<Map<string, LedgerFrame[]>> {
    const request: SyncRequest = { id: ++this.syncSequence, responses: new Map() };
    this.syncRequest = request;
    this.stats.syncRequests += 1;
    this.broadcast({ kind: 'sync_request', id: request.id, after });
    const deadline = this.clock.now() + this.syncWaitMs;
    try {
      while (request.responses.size < this.members.length - 1 && this.clock.now() < deadline) {
        await this.waitForChange(deadline, signal);
      }
    } finally {
      if (this.syncRequest === request) this.syncRequest = null;
    }
    return request.responses;
  }

  /** The longest chain on `from` whose every frame f + 1 responders agree on. */
  private agreedChain(from: LedgerFrame, responses: Map<string, LedgerFrame[]>): LedgerFrame[] {
    const byHeight = new Map<number, Map<string, { frame: LedgerFrame; count: number }>>();
    for (const frames of responses.values()) {
      const seen = new Set<number>();
      for (const frame of frames) {
        if (seen.has(frame.height)) continue;
        seen.add(frame.height);
        let candidates = byHeight.get(frame.height);
        if (candidates === undefined) byHeight.set(frame.height, (candidates = new Map()));
        const entry = candidates.get(frame.hash) ?? { frame, count: 0 };
        entry.count += 1;
        candidates.set(frame.hash, entry);
      }
    }
    const chain: LedgerFrame[] = [];
    let head = from;
    for (;;) {
      const candidates = [...(byHeight.get(head.height + 1)?.values() ?? [])].filter((c) => c.count > this.f);
      if (candidates.length !== 1) break;
      const { frame } = candidates[0];
      const sound =
        frame.isWellFormed() && frame.parent === head.hash && this.schedule(frame.height).includes(frame.prover);
      if (!sound) break;
      chain.push(frame);
      head = frame;
    }
    return chain;
  }

  private adoptSynced(): void {
    const frames = this.pendingSync;
    this.pendingSync = [];
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
    const height = this.store.height();
    for (const map of [this.view, this.skips, this.endorsements, this.rounds, this.collected] as Map<number, unknown>[]) {
      for (const key of [...map.keys()]) if (key <= height) map.delete(key);
    }
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

  private publish(rank: number, key: string, message: LedgerMessage): void {
    if (this.inWindow(rank)) {
      let messages = this.outbox.get(rank);
      if (messages === undefined) this.outbox.set(rank, (messages = new Map()));
      messages.set(key, message);
    }
    this.broadcast(message);
  }

  private requestSkip(height: number, prover: string): void {
    const round = this.roundFor(height);
    round.complained.set(prover, this.clock.now());
    this.store.saveSkip(height, prover);
    this.stats.skipsSent += 1;
    this.noteSkip(this.self, height, prover);
    this.publish(height, `skip:${prover}`, { kind: 'skip', rank: height, prover });
  }

  private voteMessage(vote: LedgerVote): LedgerMessage {
    return { kind: 'vote', proposer: new LedgerPeer(vote.proposer), voter: this.selfPeer, vote };
  }

  private skipCount(height: number, prover: string): number {
    return this.skips.get(height)?.get(prover)?.size ?? 0;
  }

  private roundFor(height: number): RoundMemory {
    let round = this.rounds.get(height);
    if (round === undefined) {
      round = { start: this.clock.now(), skippedAt: new Map(), complained: new Map() };
      this.rounds.set(height, round);
      // Skip requests made before a crash still stand; say them again.
      for (const prover of this.store.skipsAt(height)) {
        round.complained.set(prover, round.start);
        this.noteSkip(this.self, height, prover);
        this.publish(height, `skip:${prover}`, { kind: 'skip', rank: height, prover });
      }
    }
    return round;
  }

  private broadcast(message: LedgerMessage): void {
    for (const member of this.members) if (member !== this.self) this.send(member, message);
  }

  private send(to: string, message: LedgerMessage): void {
    if (!this.halted) this.transport(to, message);
  }

  private requireEngine(): LedgerRounds {
    if (this.engine === null) throw new Error(`ledger node ${this.self}: attach(engine) first`);
    return this.engine;
  }

  // ---- time ------------------------------------------------------------

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Resolves on the next change to proposals, skips or sync answers, or at `wakeAt`. */
  private waitForChange(wakeAt: number | null, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      let timer: unknown = null;
      const cleanup = () => {
        this.waiters.delete(done);
        signal.removeEventListener('abort', onAbort);
        if (timer !== null) this.clock.clearTimeout(timer);
      };
      const done = () => {
        cleanup();
        resolve();
      };
      const onAbort = () => {
        cleanup();
        reject(signal.reason);
      };
      this.waiters.add(done);
      signal.addEventListener('abort', onAbort, { once: true });
      if (wakeAt !== null) timer = this.clock.setTimeout(done, Math.max(0, wakeAt - this.clock.now()));
    });
  }

  private sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const onAbort = () => {
        this.clock.clearTimeout(timer);
        reject(signal.reason);
      };
      const timer = this.clock.setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
