import {
  DEFAULT_ATTEMPT_WINDOW,
  DEFAULT_RANK_WINDOW,
  type ConsensusEngine,
  type ConsensusEngineConfig,
  type ConsensusProviders,
} from '../../engine/createConsensusEngine';
import { ConsensusInputError } from '../../engine/errors';
import { isQuorum, weightOfSenders } from '../../guards/quorum';
import type { ConsensusClock } from '../../providers/clock';
import type { RandomSource } from '../../providers/random';
import type { Identity } from '../../providers/unique';
import type { AttemptPosition, VoteDecision } from '../../providers/voting';
import { LedgerStore } from './LedgerStore';
import { SignatureBook } from './SignatureBook';
import { confirmationPayload, Keyring, votePayload, type Signer } from './signing';
import { claimedIdentity, kindOf, rankOfMessage, type LedgerMessage } from './messages';
import { ledgerCodec } from './codec';
import { attemptProposers, defaultProversPerRank, judgeProposal, leaderSchedule } from './rules';
import { LedgerBatch, LedgerFrame, LedgerPeer, LedgerVote } from './types';

export type LedgerEngine = ConsensusEngine<LedgerFrame, LedgerVote, LedgerPeer, LedgerBatch>;
export type LedgerEngineConfig = ConsensusEngineConfig<LedgerFrame, LedgerVote, LedgerPeer, LedgerBatch>;
/** What a ledger drives: an engine, or a node (`createNode`), which has the engine's API bar its actor. */
export type LedgerRounds = Omit<LedgerEngine, 'actor'>;

/** Each attempt of a height waits this many times longer than the one before. */
export const LEDGER_ATTEMPT_GROWTH = 1.5;
/** No attempt waits longer than this many times the first: a full turn of proposers must stay affordable. */
export const LEDGER_ATTEMPT_CAP = 8;

/** Where a signed vote or confirmation is kept in a `SignatureBook`, within its height. */
const signedKey = (attempt: number, frameHash: string) => `${attempt}|${frameHash}`;

/** What a nil vote names instead of a frame hash. */
export const NIL_FRAME = 'nil';

/** Frames one sync response may carry: a peer cannot make us hold more per request. */
export const MAX_SYNC_FRAMES = 64;
/** Requests one synchronize call makes before handing over what it has. */
const MAX_SYNC_REQUESTS = 8;

/**
 * Round-change rules broken on purpose, for tests that show the safety
 * checker notices: `commit-on-votes` commits as soon as 2f + 1 votes lock a
 * value (the node hands its engine the voters as a commit certificate);
 * `ignore-locks` votes for a later attempt's proposal whatever the lock says,
 * and counts that vote itself (the engine would not: its lock guard refuses
 * the choice, so the node hands its own vote back to it as if a peer's);
 * `read-twice` checks a relayed certificate's frame as it reads it and hands
 * the engine the frame as it reads it again, instead of one copy of it.
 */
export type UnsafeRoundRule = 'commit-on-votes' | 'ignore-locks' | 'read-twice';

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
  /** Told of every message this node publishes, once, before it goes to any peer (a lone node has none). */
  onPublish?: (message: LedgerMessage) => void;
  /** What survives a crash; pass the old one to a restarted node. Default: a fresh ledger. */
  store?: LedgerStore;
  /** Provers per height. Default f + 2, capped at n. */
  proversPerRank?: number;
  /** Every member's confirmation keys; this node signs with its own. Default: a keyring derived from the members. */
  keyring?: Keyring;
  /** Test-only: a round-change rule to break (see `UnsafeRoundRule`). */
  unsafeRule?: UnsafeRoundRule;
  /** Simulated time a proof takes. Default 5–20 ms. */
  proofMs?: DurationRange;
  /**
   * In attempt 0, how long a voter waits for each higher-priority prover's
   * proposal before it settles for the next one's. Default 200 ms.
   */
  patienceMs?: number;
  /** How long a sync waits for peers' answers. Default 100 ms. */
  syncWaitMs?: number;
  /** Unanswered messages of the pending height are re-sent this often. Default: patienceMs. */
  resendMs?: number;
  /** No commit and no new attempt for this long → re-sync from peers. Default: three times the longest attempt. */
  stallMs?: number;
  /**
   * After `start()`, wait this long before casting any vote, to hear what
   * peers re-send first. Default 0.
   */
  listenFirstMs?: number;
  /** How long attempt 0 of a height may take before the engine moves to attempt 1. Default patienceMs × (provers + 1). */
  attemptMs?: number;
  /** Must equal the engine's rank window (it bounds what the ledger keeps too). Default 16. */
  rankWindow?: number;
  /** Mutations collected per height. Default 1–3. */
  entriesPerFrame?: DurationRange;
}

/** The fields a vote's signature covers, read once. */
interface SignedVoteFields {
  height: number;
  attempt: number;
  proposer: string;
  frame: string | null;
}

/**
 * A peer's message with each of its own fields read once (a shallow copy);
 * null when even that throws (a Proxy, a getter that throws).
 */
function readOnce(message: unknown): LedgerMessage | null {
  if (typeof message !== 'object' || message === null) return null;
  try {
    return { ...message } as LedgerMessage;
  } catch {
    return null;
  }
}

/** A frame rebuilt from its plain data by the ledger's codec: the copy the checks and the engine share. */
function frameOnce(value: unknown): LedgerFrame | null {
  if (!(value instanceof LedgerFrame)) return null;
  try {
    return ledgerCodec.state.decode(JSON.parse(JSON.stringify(value)));
  } catch {
    return null;
  }
}

/** The `read-twice` breakage: a peer's frame used as sent, read as often as the code reads it. */
function trustedAsSent(value: unknown): LedgerFrame | null {
  return value instanceof LedgerFrame ? value : null;
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
  nilVotes: number;
  syncRequests: number;
  framesSynced: number;
  stallSyncs: number;
  resends: number;
  forged: number;
}

export type FinalizedListener = (frame: LedgerFrame, via: 'commit' | 'sync') => void;

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
  /** Who may propose in each attempt of a height (the engine's rotation). */
  readonly proposersOf: (height: number, attempt: number) => string[];
  readonly providers: ConsensusProviders<LedgerFrame, LedgerVote, LedgerPeer, LedgerBatch>;
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
  private readonly proversPerRank: number;
  private readonly proofMs: DurationRange;
  private readonly entriesPerFrame: DurationRange;
  readonly patienceMs: number;
  readonly syncWaitMs: number;
  readonly resendMs: number;
  readonly stallMs: number;
  readonly rankWindow: number;
  readonly listenFirstMs: number;
  readonly attemptMs: number;
  private readonly unsafeRule: UnsafeRoundRule | undefined;
  private readonly keyring: Keyring;
  private readonly signer: Signer;
  /** Signed confirmations by height, then `attempt|frame`, then signer. */
  private readonly confirmationSignatures: SignatureBook<string>;
  /** Signed votes for frames by height, then `attempt|frame`, then voter: the stuff of lock proofs. */
  private readonly voteSignatures: SignatureBook<{ proposer: string; signature: string }>;
  /** Commit certificates of the last heights this node finalized, and when, for peers still deciding them. */
  private readonly certificates = new Map<number, { message: LedgerMessage & { kind: 'certificate' }; at: number }>();
  /** When each peer was last sent the certificate of a height. */
  private readonly certificateSent = new Map<string, number>();
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
  private readonly waiters = new Set<() => void>();
  private readonly futureSenders = new Set<string>();
  /** Peers heard about heights past the one this node decides: they finalized it. */
  private readonly aheadSenders = new Set<string>();
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
    this.onPublish = options.onPublish;
    this.store = options.store ?? new LedgerStore();
    this.selfPeer = new LedgerPeer(self);
    this.proversPerRank = options.proversPerRank ?? defaultProversPerRank(members.length);
    this.schedule = leaderSchedule(this.members, this.proversPerRank);
    this.proposersOf = attemptProposers(this.members, this.schedule);
    this.proofMs = options.proofMs ?? { min: 5, max: 20 };
    this.entriesPerFrame = options.entriesPerFrame ?? { min: 1, max: 3 };
    this.patienceMs = options.patienceMs ?? 200;
    this.syncWaitMs = options.syncWaitMs ?? 100;
    this.resendMs = options.resendMs ?? this.patienceMs;
    // Past a few attempts: a sync restarts the round, so syncing sooner would
    // cut short the very attempts that get past a faulty proposer.
    this.attemptMs = options.attemptMs ?? this.patienceMs * (this.proversPerRank + 1);
    this.stallMs = options.stallMs ?? 3 * LEDGER_ATTEMPT_CAP * this.attemptMs;
    this.rankWindow = options.rankWindow ?? DEFAULT_RANK_WINDOW;
    this.listenFirstMs = options.listenFirstMs ?? 0;
    this.unsafeRule = options.unsafeRule;
    this.keyring = options.keyring ?? new Keyring(this.members);
    this.signer = this.keyring.signerFor(self);
    // Room for every member's key in each attempt the engine keeps, twice over.
    const keysPerHeight = this.members.length * 2 * (2 * DEFAULT_ATTEMPT_WINDOW + 1);
    this.confirmationSignatures = new SignatureBook(keysPerHeight);
    this.voteSignatures = new SignatureBook(keysPerHeight);
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
      codec: ledgerCodec,
      // `deliver` returns every refusal's code to its caller, who counts them.
      warnOnRefusals: false,
      minimumProvers: this.proversPerRank,
      // One live prover is enough to go on; the voting rule does the waiting.
      livenessThreshold: 1,
      proposalThreshold: 1,
      rankWindow: this.rankWindow,
      clock: this.clock,
      timeouts: {
        attempt: this.attemptMs,
        attemptGrowth: LEDGER_ATTEMPT_GROWTH,
        attemptMax: LEDGER_ATTEMPT_CAP * this.attemptMs,
      },
    };
  }

  /** Binds the engine (or node) this ledger's providers serve. */
  attach(engine: LedgerRounds): void {
    this.engine = engine;
    // A new attempt is progress too: syncing would restart the round and cut the attempt short.
    engine.onAttemptChange(() => {
      this.lastProgress = this.clock.now();
    });
    engine.onCommit(({ state, attempt }) => {
      this.keepCertificate(state, attempt);
      this.finalized([state], 'commit');
    });
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
          const signed = this.signedVote(m);
          const forged = this.authentic(from, m.voter) ?? this.unsignedVote(from, m, signed);
          if (forged) return forged;
          const position = { attempt: m.attempt, proposal: m.proposal } as { attempt?: number; proposal?: string };
          // Kept even if the engine refuses it (an equivocation): it is still that voter's signed vote.
          this.keepVoteSignature(from, m, signed);
          return engine.receiveVote(m.proposer as LedgerPeer, m.voter as LedgerPeer, m.vote as LedgerVote, position);
        }
        case 'nil_vote': {
          const forged = this.authentic(from, m.voter);
          if (forged) return forged;
          return engine.receiveNilVote(m.voter as LedgerPeer, m.vote as LedgerVote, { attempt: m.attempt } as { attempt?: number });
        }
        case 'confirmation': {
          // The frame the signature is checked over is the one kept and the one the engine gets.
          const frame = frameOnce(m.state);
          const forged = this.authentic(from, m.peer) ?? this.unsigned(from, m, frame);
          if (forged) return forged;
          const position = { attempt: m.attempt } as { attempt?: number };
          // Kept even if the engine refuses it (an equivocation): it is still that signer's confirmation.
          if (frame !== null && Number.isSafeInteger(m.attempt ?? 0)) {
            this.keepSignature(from, frame, m.attempt as number | undefined, m.signature as string);
          }
          return engine.receiveConfirmation(m.peer as LedgerPeer, (frame ?? m.state) as LedgerFrame, position);
        }
        case 'certificate':
          return this.acceptCertificate(m);
        case 'lock_proof':
          return this.acceptLockProof(m);
        case 'nil_confirmation': {
          const position = { rank: m.rank, attempt: m.attempt } as { rank: number; attempt: number };
          return this.authentic(from, m.peer) ?? engine.receiveNilConfirmation(m.peer as LedgerPeer, position);
        }
        case 'sync_request':
          return this.answerSync(from, m.id, m.after);
        case 'sync_response':
          return this.collectSyncResponse(from, m.id, m.frames);
      }
    } catch (error) {
      if (!(error instanceof ConsensusInputError)) throw error;
      if (error.code === 'future_rank') this.noteFutureRank(from);
      if (error.code === 'stale_rank') this.helpStraggler(from, m);
      return error.code;
    }
  }

  /** A confirmation must carry its sender's signature, or nobody could pass it on. */
  private unsigned(from: string, m: LedgerMessage & { kind: 'confirmation' }, frame: LedgerFrame | null): 'forged' | undefined {
    const attempt = m.attempt ?? 0;
    if (frame === null || !Number.isSafeInteger(attempt)) return undefined;
    const payload = confirmationPayload(from, frame.height, attempt as number, frame.hash);
    if (this.keyring.verify(from, payload, m.signature)) return undefined;
    this.stats.forged += 1;
    return 'forged';
  }

  private keepSignature(origin: string, frame: LedgerFrame, attempt: number | undefined, signature: string): void {
    if (this.inWindow(frame.height)) this.confirmationSignatures.add(frame.height, signedKey(attempt ?? 0, frame.hash), origin, signature);
  }

  /**
   * A vote must name the frame it endorses and carry its voter's signature
   * over it, or it could not go into a lock proof. Votes too malformed to
   * read are left to the engine, which says why it refuses them.
   */
  private unsignedVote(from: string, m: LedgerMessage & { kind: 'vote' }, signed: SignedVoteFields | null): 'forged' | undefined {
    if (signed === null) return undefined;
    const { height, attempt, proposer, frame } = signed;
    if (frame !== null && this.keyring.verify(from, votePayload(from, height, attempt, proposer, frame), m.signature)) return undefined;
    this.stats.forged += 1;
    return 'forged';
  }

  /** The fields a vote's signature covers, when they are readable. */
  private signedVote(m: LedgerMessage & { kind: 'vote' }): SignedVoteFields | null {
    const height = rankOfMessage(m);
    const attempt = m.attempt ?? 0;
    const proposer = claimedIdentity(m.proposer);
    if (height === null || !Number.isSafeInteger(attempt) || proposer === undefined) return null;
    return { height, attempt: attempt as number, proposer, frame: typeof m.proposal === 'string' ? m.proposal : null };
  }

  private keepVoteSignature(from: string, m: LedgerMessage & { kind: 'vote' }, signed = this.signedVote(m)): void {
    if (signed === null || signed.frame === null || !this.inWindow(signed.height) || typeof m.signature !== 'string') return;
    this.voteSignatures.add(signed.height, signedKey(signed.attempt, signed.frame), from, { proposer: signed.proposer, signature: m.signature });
  }

  /**
   * This node locked on `frame` in `attempt`: the 2f + 1 signed votes behind
   * the lock go out with the height's re-sends. Only a height still undecided
   * after a resend period needs them, and most heights commit sooner: sending
   * every proof at once would cost each peer O(n) signature checks per lock.
   */
  private publishLockProof(frame: LedgerFrame, attempt: number): void {
    const signers = this.voteSignatures.signers(frame.height, signedKey(attempt, frame.hash));
    if (!this.weighsQuorum(signers.keys())) return;
    const votes = [...signers].map(([origin, { proposer, signature }]) => ({ origin, proposer, signature }));
    this.keepForResend(frame.height, 'lock_proof', { kind: 'lock_proof', rank: frame.height, attempt, frame: frame.hash, votes });
  }

  /**
   * Every signature checked; then the proof goes to the engine whole, which
   * weighs its voters itself and counts them for the frame even where it
   * holds another vote from one of them (an equivocator's), and each vote
   * goes in as if its voter sent it.
   */
  private acceptLockProof(m: LedgerMessage & { kind: 'lock_proof' }): DeliveryOutcome {
    const { rank, attempt, frame, votes } = m;
    if (!this.inWindow(rank) || !Number.isSafeInteger(attempt) || (attempt as number) < 0 || typeof frame !== 'string') return 'ignored';
    if (!Array.isArray(votes) || votes.length > this.members.length) return 'ignored';
    const valid = new Map<string, { proposer: string; signature: string }>();
    const key = signedKey(attempt as number, frame);
    const held = this.voteSignatures.signers(rank, key);
    for (const entry of votes as unknown[]) {
      const { origin, proposer, signature } = (entry ?? {}) as { origin?: unknown; proposer?: unknown; signature?: unknown };
      if (typeof origin !== 'string' || typeof proposer !== 'string') return 'forged';
      // A signature this node already checked (the very same) need not be checked again.
      const known = held.get(origin);
      const checked = known !== undefined && known.signature === signature && known.proposer === proposer;
      if (!checked && !this.keyring.verify(origin, votePayload(origin, rank, attempt as number, proposer, frame), signature)) return 'forged';
      valid.set(origin, { proposer, signature: signature as string });
    }
    if (!this.weighsQuorum(valid.keys())) return 'ignored';
    const engine = this.requireEngine();
    const outcome = engine.receiveLockProof({ rank, attempt: attempt as number, value: frame, voters: [...valid.keys()] });
    for (const [origin, signed] of valid) {
      this.voteSignatures.add(rank, key, origin, signed);
      const vote = new LedgerVote(rank, origin, signed.proposer, frame);
      try {
        engine.receiveVote(new LedgerPeer(signed.proposer), new LedgerPeer(origin), vote, { attempt: attempt as number, proposal: frame });
      } catch (error) {
        if (!(error instanceof ConsensusInputError)) throw error;
      }
    }
    return outcome;
  }

  /** Keeps the signed confirmations that committed `frame`, to hand to stragglers. */
  private keepCertificate(frame: LedgerFrame, attempt: number): void {
    const signers = this.confirmationSignatures.signers(frame.height, signedKey(attempt, frame.hash));
    if (!this.weighsQuorum(signers.keys())) return;
    const signatures = [...signers].map(([origin, signature]) => ({ origin, signature }));
    const message = { kind: 'certificate' as const, rank: frame.height, attempt, state: frame, signatures };
    this.certificates.set(frame.height, { message, at: this.clock.now() });
    for (const height of [...this.certificates.keys()]) if (height < frame.height - this.rankWindow) this.certificates.delete(height);
  }

  /**
   * A peer is still deciding a height this node finalized. If a Byzantine
   * node confirmed only to some, the rest can never gather 2f + 1
   * confirmations on their own; the certificate carries them. Not at once:
   * what arrives within half a resend period of this node's commit is mostly
   * the height's own late traffic from peers about to commit, and a peer
   * still undecided re-sends every resend period, so it hears soon enough.
   */
  private helpStraggler(from: string, m: LedgerMessage): void {
    if (!this.members.includes(from)) return;
    const rank = rankOfMessage(m);
    const kept = rank === null ? undefined : this.certificates.get(rank);
    if (kept === undefined || this.clock.now() - kept.at < this.resendMs / 2) return;
    const certificate = kept.message;
    const key = `${from}|${rank}`;
    const last = this.certificateSent.get(key);
    if (last !== undefined && this.clock.now() - last < this.resendMs) return;
    this.certificateSent.set(key, this.clock.now());
    if (this.certificateSent.size > this.members.length * this.rankWindow) {
      for (const [old, at] of this.certificateSent) if (this.clock.now() - at >= this.resendMs) this.certificateSent.delete(old);
    }
    this.send(from, certificate);
  }

  /** Every signature checked, then the certificate goes to the engine, which weighs its signers itself. */
  private acceptCertificate(m: LedgerMessage & { kind: 'certificate' }): DeliveryOutcome {
    const { attempt, signatures } = m;
    // Checked, kept and handed to the engine as one copy: a relayer's frame cannot change between them.
    const state = this.unsafeRule === 'read-twice' ? trustedAsSent(m.state) : frameOnce(m.state);
    if (state === null || !state.isWellFormed() || state.height !== m.rank || !this.inWindow(state.height)) {
      return 'ignored';
    }
    if (!Number.isSafeInteger(attempt) || (attempt as number) < 0 || !Array.isArray(signatures)) return 'ignored';
    if (signatures.length > this.members.length) return 'ignored';
    const valid = new Map<string, string>();
    for (const entry of signatures as unknown[]) {
      const { origin, signature } = (entry ?? {}) as { origin?: unknown; signature?: unknown };
      const payload = typeof origin === 'string' ? confirmationPayload(origin, state.height, attempt as number, state.hash) : '';
      if (typeof origin !== 'string' || !this.keyring.verify(origin, payload, signature)) return 'forged';
      valid.set(origin, signature as string);
    }
    if (!this.weighsQuorum(valid.keys())) return 'ignored';
    for (const [origin, signature] of valid) this.keepSignature(origin, state, attempt as number, signature);
    return this.requireEngine().receiveCommitCertificate(state, { attempt: attempt as number, signers: [...valid.keys()] });
  }

  /** Whether these members weigh more than the faulty weight, so at least one of them is honest. */
  private includesHonest(members: Iterable<string>): boolean {
    const membership = this.requireEngine().getMembership();
    return weightOfSenders(membership, members) >= membership.honest;
  }

  /** Whether these members weigh a quorum, by the engine's count: the ledger never counts one itself. */
  private weighsQuorum(signers: Iterable<string>): boolean {
    return isQuorum(this.requireEngine().getMembership(), signers);
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
        sendProposal: async (proposal, _signal, { attempt, validAttempt }) => {
          this.noteProposal(this.self, proposal, attempt);
          const message: LedgerMessage = { kind: 'proposal', peer: this.selfPeer, proposal, attempt, validAttempt };
          this.publish(proposal.height, `proposal:${attempt}`, message);
        },
        decideAndSendVote: (proposals, signal, position) => this.decideAndSendVote(proposals, signal, position),
        finalizeVotes: async (proposals) => this.finalizeVotes(proposals),
        sendConfirmation: async (state, _signal, { attempt }) => {
          const signature = this.signer.sign(confirmationPayload(this.self, state.height, attempt, state.hash));
          this.keepSignature(this.self, state, attempt, signature);
          const message: LedgerMessage = { kind: 'confirmation', peer: this.selfPeer, state, attempt, signature };
          this.publish(state.height, `confirmation:${attempt}`, message);
          this.publishLockProof(state, attempt);
          if (this.unsafeRule === 'commit-on-votes') this.commitOnVotes(state, attempt);
        },
        sendNilConfirmation: async ({ rank, attempt }) => {
          this.publish(rank, `confirmation:${attempt}`, { kind: 'nil_confirmation', peer: this.selfPeer, rank, attempt });
        },
      },
    };
  }

  private collect(): LedgerBatch {
    const height = this.active().height + 1;
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

  /**
   * The voting rule. In attempt 0 every scheduled prover may propose: vote
   * for the highest-priority valid proposal, waiting `patienceMs` for each
   * prover in turn before settling for the next. In a later attempt the
   * engine offers only that attempt's proposer's proposal, and only if this
   * node's lock allows it. Nothing valid to vote for: a nil vote.
   */
  private async decideAndSendVote(
    offered: ReadonlyMap<Identity, LedgerFrame>,
    signal: AbortSignal,
    { rank: height, attempt }: AttemptPosition,
  ): Promise<VoteDecision<LedgerVote, LedgerPeer>> {
    const head = this.active();
    const remembered = this.store.voteAt(height, attempt);
    if (remembered !== undefined) return this.castVote(remembered, attempt);
    if (this.clock.now() < this.quietUntil) await this.waitForChange(this.quietUntil, signal);
    // In attempt 0 a scheduled prover's own frame; later, the attempt's proposer may re-propose a
    // frame any member proved in an earlier attempt.
    const mayProve = attempt === 0 ? this.schedule : () => this.members;
    const valid = (prover: string, frame: LedgerFrame | undefined): frame is LedgerFrame =>
      frame !== undefined && judgeProposal(frame, frame.prover, head, mayProve) === 'valid' && (attempt > 0 || frame.prover === prover);
    if (attempt > 0 && this.unsafeRule === 'ignore-locks') {
      const [proposer] = this.proposersOf(height, attempt);
      const frame = this.view.get(height)?.get(`${attempt}:${proposer}`);
      const decision = this.castVote(this.voteFor(height, valid(proposer, frame) ? [proposer, frame] : null), attempt);
      if (decision.proposer !== null) this.countOwnVote(decision, attempt);
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
      await this.waitForChange(wakeAt, signal);
    }
  }

  /**
   * The `commit-on-votes` breakage: the node hands its own engine the voters
   * behind its lock as if they had confirmed, so it commits on votes alone.
   */
  private commitOnVotes(frame: LedgerFrame, attempt: number): void {
    const voters = [...this.voteSignatures.signers(frame.height, signedKey(attempt, frame.hash)).keys()];
    try {
      this.requireEngine().receiveCommitCertificate(frame, { attempt, signers: voters });
    } catch (error) {
      if (!(error instanceof ConsensusInputError)) throw error;
    }
  }

  /** The `ignore-locks` breakage: the node's own vote goes into its engine's books whatever its lock said. */
  private countOwnVote({ proposer, vote }: VoteDecision<LedgerVote, LedgerPeer>, attempt: number): void {
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

  private castVote(vote: LedgerVote, attempt: number): VoteDecision<LedgerVote, LedgerPeer> {
    const nil = vote.frame === NIL_FRAME;
    if (this.store.voteAt(vote.height, attempt) === undefined) {
      this.store.saveVote(vote, attempt);
      if (nil) this.stats.nilVotes += 1;
      else this.stats.votes += 1;
    }
    let message: LedgerMessage;
    if (nil) {
      message = { kind: 'nil_vote', voter: this.selfPeer, vote, attempt };
    } else {
      const signature = this.signer.sign(votePayload(this.self, vote.height, attempt, vote.proposer, vote.frame));
      const proposer = new LedgerPeer(vote.proposer);
      message = { kind: 'vote', proposer, voter: this.selfPeer, vote, attempt, proposal: vote.frame, signature };
      this.keepVoteSignature(this.self, message);
    }
    this.publish(vote.height, `vote:${attempt}`, message);
    return { proposer: nil ? null : new LedgerPeer(vote.proposer), vote };
  }

  /** The engine hands over the locked proposal; it must still be a valid frame here. */
  private async finalizeVotes(proposals: ReadonlyMap<Identity, LedgerFrame>): Promise<{ state: LedgerFrame; proposer: LedgerPeer }> {
    const [entry] = [...proposals.entries()];
    if (entry === undefined) throw new Error('no locked proposal to finalize');
    const [sender, frame] = entry;
    // Any member may have proved it, in the attempt it was its turn.
    const verdict = judgeProposal(frame, frame.prover, this.active(), () => this.members);
    if (verdict !== 'valid') throw new Error(`the quorum's frame ${frame.hash} is invalid here (${verdict})`);
    return { state: frame, proposer: new LedgerPeer(sender) };
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
    this.wake();
  }

  /**
   * f + 1 peers talking about a height above the one being decided include an
   * honest one that finalized it; if this node still lacks the confirmations
   * to follow (a Byzantine peer may have confirmed something else to it), a
   * sync fetches the frame.
   */
  private noteAhead(from: string, message: LedgerMessage): void {
    if (!this.members.includes(from) || message.kind === 'sync_request' || message.kind === 'sync_response') return;
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
    const byHeight = new Map<number, Map<string, { frame: LedgerFrame; responders: string[] }>>();
    for (const [responder, frames] of responses) {
      const seen = new Set<number>();
      for (const frame of frames) {
        if (seen.has(frame.height)) continue;
        seen.add(frame.height);
        let candidates = byHeight.get(frame.height);
        if (candidates === undefined) byHeight.set(frame.height, (candidates = new Map()));
        const entry = candidates.get(frame.hash) ?? { frame, responders: [] };
        entry.responders.push(responder);
        candidates.set(frame.hash, entry);
      }
    }
    const chain: LedgerFrame[] = [];
    let head = from;
    for (;;) {
      const candidates = [...(byHeight.get(head.height + 1)?.values() ?? [])].filter((c) => this.includesHonest(c.responders));
      if (candidates.length !== 1) break;
      const { frame } = candidates[0];
      const sound =
        frame.isWellFormed() && frame.parent === head.hash && this.members.includes(frame.prover);
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
    this.aheadSenders.clear();
    const height = this.store.height();
    for (const map of [this.view, this.collected] as Map<number, unknown>[]) {
      for (const key of [...map.keys()]) if (key <= height) map.delete(key);
    }
    this.confirmationSignatures.dropThrough(height);
    this.voteSignatures.dropThrough(height);
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

  private publish(rank: number, key: string, message: LedgerMessage): void {
    if (this.halted) return;
    this.onPublish?.(message);
    this.keepForResend(rank, key, message);
    this.broadcast(message);
  }

  /** Re-sent while the height is undecided (see `resend`). */
  private keepForResend(rank: number, key: string, message: LedgerMessage): void {
    if (!this.inWindow(rank)) return;
    let messages = this.outbox.get(rank);
    if (messages === undefined) this.outbox.set(rank, (messages = new Map()));
    messages.set(key, message);
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
