// The ledger node's public types and options: what a node is configured with and what it reports.
import type { ConsensusEngine, ConsensusEngineConfig, MessagingMode } from '../../engine/createConsensusEngine';
import type { ConsensusInputError, ProposalError } from '../../engine/errors';
import type { ConsensusClock } from '../../providers/clock';
import type { RandomSource } from '../../providers/random';
import type { SignatureVerifier } from '../../engine/signing/verifier';
import type { LedgerMessage } from './messages';
import type { LedgerStore } from './LedgerStore';
import type { LedgerBatch, LedgerFrame, LedgerPeer, LedgerVote } from './types';

/** A client's mutation, proposed through `engine.propose`: an entry as frames carry them. */
export type LedgerPayload = string;
export type LedgerEngine = ConsensusEngine<LedgerFrame, LedgerVote, LedgerPeer, LedgerBatch, LedgerPayload>;
export type LedgerEngineConfig = ConsensusEngineConfig<LedgerFrame, LedgerVote, LedgerPeer, LedgerBatch, LedgerPayload>;
/** What a ledger drives: an engine, or a node (`createNode`), which has the engine's API bar its actor. */
export type LedgerRounds = Omit<LedgerEngine, 'actor'>;

/** Each attempt of a height waits this many times longer than the one before. */
export const LEDGER_ATTEMPT_GROWTH = 1.5;
/** No attempt waits longer than this many times the first: a full turn of proposers must stay affordable. */
export const LEDGER_ATTEMPT_CAP = 8;

/**
 * Round-change rules broken on purpose, for tests that show the safety
 * checker notices: `commit-on-votes` commits as soon as 2f + 1 votes lock a
 * value (the node hands its engine the voters as a commit certificate);
 * `ignore-locks` votes for a later attempt's proposal whatever the lock says,
 * sends that vote and counts it itself (the engine would not: it sends no
 * vote its lock forbids, so the node hands its own vote back to it as if a
 * peer's). Both need engines without keys: signatures make them impossible.
 */
export type UnsafeRoundRule = 'commit-on-votes' | 'ignore-locks';

/** A ledger node's keys, for its engine: the node itself never signs or checks anything. */
export interface LedgerKeys {
  /** This node's private key (32-byte seed, hex). */
  privateKey: string;
  /** Every member's public key (hex). */
  publicKeys: Readonly<Record<string, string>>;
  /** One verifier shared by the engines of a process. */
  verifier?: SignatureVerifier;
}

export interface DurationRange {
  min: number;
  max: number;
}

export interface LedgerNodeOptions {
  self: string;
  /**
   * Every member, in one order all nodes share (the schedule rotates over
   * it); with `membershipChanges`, the founders.
   */
  members: readonly string[];
  /**
   * Committed frames may add or remove a member (`m:add:<name>:<key>`,
   * `m:remove:<name>`, see membership.ts), and this node may start outside
   * `members` to join later. Every node of a cluster must agree on it.
   * Default false.
   */
  membershipChanges?: boolean;
  /**
   * Everyone this node can reach, members or not (its address book). While
   * it is not a member of the newest membership it has read (a joiner that
   * has not read its own admission, whose founders may all have left since),
   * it asks all of them for the committed entries it lacks: the entries'
   * certificates, not the senders, are what it trusts. Default: `members`.
   */
  peers?: readonly string[];
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
  /** Keys for the engine, which then signs and checks every vote and confirmation. Default: none (crash faults only). */
  keys?: LedgerKeys;
  /** Test-only: a round-change rule to break (see `UnsafeRoundRule`). */
  unsafeRule?: UnsafeRoundRule;
  /** Simulated time a proof takes. Default 5–20 ms. */
  proofMs?: DurationRange;
  /**
   * A prover with no client's entry to batch waits this long before proving
   * a frame of its own entries, so an idle cluster commits at this pace
   * rather than as fast as it can. Default: none (`proofMs` alone).
   */
  idleProofMs?: number;
  /**
   * In attempt 0, how long a voter waits for each higher-priority prover's
   * proposal before it settles for the next one's. Default 200 ms.
   */
  patienceMs?: number;
  /** How long a sync waits for peers' answers. Default 100 ms. */
  syncWaitMs?: number;
  /** Unanswered messages of the pending height are re-sent this often. Default: patienceMs; twice that with linear messaging, whose happy path takes two hops more. */
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
  /**
   * The engine's `messaging`: `linear` sends each vote and confirmation only
   * to the member the engine names (`to`), which broadcasts the proof. Needs
   * `keys`. Default `all-to-all`.
   */
  messaging?: MessagingMode;
  /**
   * How far ahead of this node's clock a proposed frame's time may be for it
   * to get this node's vote. It assumes the members' clocks agree within it;
   * see `DEFAULT_MAX_CLOCK_DRIFT_MS`. Default 1,000 ms.
   */
  maxClockDriftMs?: number;
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
  | ConsensusInputError['code']
  | `payload_${ProposalError['code']}`;

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
