import type { LedgerMessage } from '../examples/ledger/messages';
import { LedgerFrame, LedgerVote } from '../examples/ledger/types';

/**
 * What the checker catches (SPEC §6):
 * - `agreement`: two honest nodes finalized different frames at one height;
 * - `validity`: a finalized frame was never proposed by its prover at a time
 *   that prover was allowed to (a scheduled prover in attempt 0, the
 *   attempt's proposer later), is not well-formed, or is dated before its
 *   parent;
 * - `prefix`: a node's finalized history does not extend itself (a gap, or a
 *   frame not chained to the one before);
 * - `held_messages`: a node holds more peer messages than the bound allows;
 * - `engine_crash`: an engine threw something other than a typed input error,
 *   or its actor died;
 * - `election_safety` (SPEC §3, Raft §5.2): two honest nodes led one term;
 * - `vote_fencing` (SPEC §3): an honest node granted its vote in one term to
 *   two candidates (itself included), across restarts;
 * - `double_message` (SPEC §2.8): an honest node sent two different
 *   proposals, votes or confirmations for one attempt of one rank, restarts
 *   included (re-sending the same one is fine);
 * - `log_matching` (`LogMatching`): an honest node's commit log does not grow
 *   strictly by index, two honest logs differ at one index, or an entry's
 *   certificate does not prove it.
 */
export type ViolationKind =
  | 'agreement'
  | 'validity'
  | 'prefix'
  | 'held_messages'
  | 'engine_crash'
  | 'election_safety'
  | 'vote_fencing'
  | 'double_message'
  | 'log_matching';

export interface Finding {
  kind: ViolationKind;
  /** The height concerned (the node's next height for non-frame findings). */
  rank: number;
  /** The election term concerned, for election findings. */
  term?: number;
  nodes: string[];
  detail: string;
}

export interface SafetyCheckerOptions {
  /** Who may propose in `attempt` of `height`: the schedule in attempt 0, one member (in turn) later. */
  proposersOf: (height: number, attempt: number) => string[];
  /** Most peer messages a node may hold (the engine's bound: 4 books × window × members). */
  maxHeldMessages: number;
}

interface Canonical {
  hash: string;
  node: string;
}

/**
 * Checks every honest node's finalized frames as they happen, against each
 * other and against what was actually proposed. Pure bookkeeping: it never
 * stops anything itself, it returns a finding and the simulator stops.
 */
export class SafetyChecker {
  private readonly canonical = new Map<number, Canonical>();
  private readonly canonicalFrames = new Map<number, LedgerFrame>();
  /** Frame hashes each prover actually sent as a proposal, by height. */
  private readonly proposed = new Map<number, Map<string, string>>();
  private readonly heads = new Map<string, LedgerFrame>();
  private readonly histories = new Map<string, number>();
  /** The honest node that won each term. */
  private readonly leaders = new Map<number, string>();
  /** Whom each honest node voted for, by `node|term`; outlives restarts because the checker does. */
  private readonly ballots = new Map<string, string>();
  /** What each honest node published per `node|kind|rank|attempt`; outlives restarts too. */
  private readonly published = new Map<string, string>();

  constructor(private readonly options: SafetyCheckerOptions) {
    const genesis = LedgerFrame.genesis();
    this.canonical.set(0, { hash: genesis.hash, node: '*' });
    this.canonicalFrames.set(0, genesis);
  }

  /** A node's starting point (genesis, or the head it restarted from). */
  registerNode(node: string, head: LedgerFrame = LedgerFrame.genesis()): void {
    if (!this.heads.has(node)) {
      this.heads.set(node, head);
      this.histories.set(node, head.height);
    }
  }

  /**
   * Records a proposal as sent by `sender` (honest or not) in `attempt`: the
   * raw material of validity, when the sender proved it itself and was
   * allowed to propose then.
   */
  noteProposal(sender: string, frame: unknown, attempt: unknown = 0): void {
    if (!(frame instanceof LedgerFrame) || frame.prover !== sender) return;
    if (!Number.isSafeInteger(attempt) || (attempt as number) < 0) return;
    if (!this.options.proposersOf(frame.height, attempt as number).includes(sender)) return;
    let atHeight = this.proposed.get(frame.height);
    if (atHeight === undefined) this.proposed.set(frame.height, (atHeight = new Map()));
    if (!atHeight.has(frame.hash)) atHeight.set(frame.hash, sender);
  }

  /** The first frame any honest node finalized at `height`, which all others must match. */
  canonicalAt(height: number): LedgerFrame | undefined {
    return this.canonicalFrames.get(height);
  }

  /** Highest height some honest node finalized. */
  frontier(): number {
    return this.canonicalFrames.size - 1;
  }

  finalized(node: string, frame: LedgerFrame): Finding | null {
    const previous = this.heads.get(node) ?? LedgerFrame.genesis();
    const height = frame.height;
    if (height !== previous.height + 1 || frame.parent !== previous.hash) {
      return {
        kind: 'prefix',
        rank: height,
        nodes: [node],
        detail: `${node} finalized ${frame.hash} at ${height} on parent ${frame.parent}, but its history ends at ${previous.height} (${previous.hash})`,
      };
    }
    if (!frame.isWellFormed()) {
      return { kind: 'validity', rank: height, nodes: [node], detail: `${node} finalized a malformed frame ${frame.hash}` };
    }
    if (frame.time < previous.time) {
      return {
        kind: 'validity',
        rank: height,
        nodes: [node],
        detail: `${node} finalized ${frame.hash} at ${height} with time ${frame.time}, before its parent's ${previous.time}`,
      };
    }
    const proposer = this.proposed.get(height)?.get(frame.hash);
    if (proposer === undefined) {
      return {
        kind: 'validity',
        rank: height,
        nodes: [node, frame.prover],
        detail: `${node} finalized ${frame.hash} at ${height}, which ${frame.prover} never proposed in an attempt it was allowed to`,
      };
    }
    const known = this.canonical.get(height);
    if (known !== undefined && known.hash !== frame.hash) {
      return {
        kind: 'agreement',
        rank: height,
        nodes: [known.node, node],
        detail: `${known.node} finalized ${known.hash} at ${height} but ${node} finalized ${frame.hash}`,
      };
    }
    if (known === undefined) {
      this.canonical.set(height, { hash: frame.hash, node });
      this.canonicalFrames.set(height, frame);
    }
    this.heads.set(node, frame);
    this.histories.set(node, height);
    return null;
  }

  heldMessages(node: string, held: number, nextRank: number): Finding | null {
    if (held <= this.options.maxHeldMessages) return null;
    return {
      kind: 'held_messages',
      rank: nextRank,
      nodes: [node],
      detail: `${node} holds ${held} peer messages, above the bound of ${this.options.maxHeldMessages}`,
    };
  }

  /**
   * An honest node became leader of `term` (its role changed to leader).
   * Election safety: at most one leader per term over the whole run.
   */
  leaderElected(node: string, term: number, nextRank: number): Finding | null {
    const known = this.leaders.get(term);
    if (known === undefined) {
      this.leaders.set(term, node);
      return null;
    }
    if (known === node) return null;
    return {
      kind: 'election_safety',
      rank: nextRank,
      term,
      nodes: [known, node],
      detail: `${known} and ${node} both became leader of term ${term}`,
    };
  }

  /**
   * An honest node's vote, as seen on the wire: a granted (non-pre-)vote it
   * sent to `candidate`, or its own vote request (a candidate votes for
   * itself first). Vote fencing: one candidate per node and term, restarts
   * included.
   */
  voteCast(voter: string, candidate: string, term: number, nextRank: number): Finding | null {
    const key = `${voter}|${term}`;
    const known = this.ballots.get(key);
    if (known === undefined) {
      this.ballots.set(key, candidate);
      return null;
    }
    if (known === candidate) return null;
    return {
      kind: 'vote_fencing',
      rank: nextRank,
      term,
      nodes: [voter, known, candidate],
      detail: `${voter} voted for ${known} and for ${candidate} in term ${term}`,
    };
  }

  /**
   * An honest node published a message of its own (before it went to any
   * peer: a lone node sends nothing, and still proposes). Proposals count
   * for validity; and one attempt of one rank gets one proposal, one vote and
   * one confirmation from a node, whatever restarts in between.
   */
  ownMessage(node: string, message: LedgerMessage): Finding | null {
    if (message.kind === 'proposal') this.noteProposal(node, message.proposal, message.attempt ?? 0);
    const said = whatItSays(message);
    if (said === null) return null;
    const key = `${node}|${said.kind}|${said.rank}|${said.attempt}`;
    const known = this.published.get(key);
    if (known === undefined) {
      this.published.set(key, said.content);
      return null;
    }
    if (known === said.content) return null;
    return {
      kind: 'double_message',
      rank: said.rank,
      nodes: [node],
      detail: `${node} sent two different ${said.kind}s for attempt ${said.attempt} of ${said.rank}: ${known} and ${said.content}`,
    };
  }

  /** Every leadership seen so far, by term. */
  leadersByTerm(): ReadonlyMap<number, string> {
    return this.leaders;
  }
}

/** The slot and content of an honest node's proposal, vote or confirmation (a nil one is content `nil`). */
function whatItSays(message: LedgerMessage): { kind: string; rank: number; attempt: number; content: string } | null {
  const raw = 'attempt' in message ? message.attempt : undefined;
  const attempt = typeof raw === 'number' ? raw : 0;
  switch (message.kind) {
    case 'proposal':
      return message.proposal instanceof LedgerFrame ? { kind: 'proposal', rank: message.proposal.height, attempt, content: message.proposal.hash } : null;
    case 'vote':
    case 'nil_vote':
      return message.vote instanceof LedgerVote ? { kind: 'vote', rank: message.vote.height, attempt, content: message.vote.frame } : null;
    case 'confirmation':
      return message.state instanceof LedgerFrame ? { kind: 'confirmation', rank: message.state.height, attempt, content: message.state.hash } : null;
    case 'nil_confirmation':
      return typeof message.rank === 'number' ? { kind: 'confirmation', rank: message.rank, attempt, content: 'nil' } : null;
    default:
      return null;
  }
}
