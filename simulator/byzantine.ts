import type { RandomSource } from '../providers/random';
import { NIL_DIGEST, valueDigestOf, type Statement } from '../engine/signing/index';
import { LEDGER_CHAIN_ID } from '../examples/ledger/LedgerNode';
import { attemptOfMessage, kindOf, rankOfMessage, type LedgerMessage } from '../examples/ledger/messages';
import { frameTimeAfter } from '../examples/ledger/rules';
import { LedgerBatch, LedgerFrame, LedgerPeer, LedgerVote } from '../examples/ledger/types';
import { shiftingFrame, ShiftingCertificates } from './shapeShift';
import { electionJunk, garbageUniques } from './byzantineJunk';
import { BYZANTINE_BEHAVIOURS, type BehaviourOption, type ByzantineBehaviour, type ByzantineContext } from './byzantineBehaviours';

export * from './byzantineBehaviours';
export { electionJunk } from './byzantineJunk';

/** How far ahead of its clock an `invalid` node may date a frame: an hour, beyond any drift honest voters tolerate. */
const FAR_AHEAD_MS = 3_600_000;

/** Messages a flooding node sends each peer per rank. */
export const FLOOD_MESSAGES_PER_PEER = 48;

/**
 * A scripted Byzantine node. It runs no engine: it reacts to the honest
 * frontier (a new height to decide) and to messages, and sends whatever its
 * behaviour calls for. At most f of them keep the cluster safe.
 */
export class ByzantineNode {
  private readonly behaviours = new Map<number, ByzantineBehaviour>();
  /** Valid-looking proposals seen per height and attempt, for equivocating votes. */
  private readonly seen = new Map<string, LedgerFrame[]>();
  /** (height, attempt) slots this node already voted in. */
  private readonly voted = new Set<string>();
  /** The highest attempt acted on per height. */
  private readonly acted = new Map<number, number>();
  private readonly parents = new Map<number, LedgerFrame>();
  /** `split-commit`: the value proposed to half the cluster, and the confirmation of it held back for the favourite, per height. */
  private readonly heldConfirmations = new Map<number, { value: string; confirmation: LedgerMessage }>();
  /** `shape-shift`: honest confirmations gathered into certificates that change once checked. */
  private readonly shifting: ShiftingCertificates;

  constructor(
    private readonly context: ByzantineContext,
    readonly behaviour: BehaviourOption,
  ) {
    this.shifting = new ShiftingCertificates(context.self, context.members, context.sign, context.rankWindow);
  }

  /** The behaviour this node shows at `height` (drawn once per height when mixed). */
  behaviourAt(height: number): ByzantineBehaviour {
    if (this.behaviour !== 'mixed') return this.behaviour;
    let chosen = this.behaviours.get(height);
    if (chosen === undefined) {
      chosen = BYZANTINE_BEHAVIOURS[this.context.random.integer(0, BYZANTINE_BEHAVIOURS.length - 1)];
      this.behaviours.set(height, chosen);
      for (const old of [...this.behaviours.keys()]) if (old < height - this.context.rankWindow) this.behaviours.delete(old);
    }
    return chosen;
  }

  /** Honest nodes are now deciding `height` on `parent`. */
  onHeight(height: number, parent: LedgerFrame): void {
    if (this.acted.has(height)) return;
    this.parents.set(height, parent);
    this.onAttempt(height, 0);
  }

  onMessage(from: string, message: unknown): void {
    const kind = kindOf(message);
    if (kind === 'sync_request') return this.answerSync(from, message as LedgerMessage & { kind: 'sync_request' });
    if (kind === 'garbage' || kind === 'sync_response' || kind === 'liveness') return;
    const m = message as LedgerMessage;
    const height = rankOfMessage(m);
    const attempt = attemptOfMessage(m);
    if (height === null || attempt === null || attempt > 64) return;
    // Honest nodes moved to a later attempt: act in it too.
    if (this.parents.has(height) && attempt > (this.acted.get(height) ?? -1)) this.onAttempt(height, attempt);
    if (m.kind === 'confirmation' && m.state instanceof LedgerFrame && this.behaviourAt(height) === 'split-commit') {
      return this.releaseSplit(from, m.state, attempt);
    }
    if (m.kind === 'confirmation' && m.state instanceof LedgerFrame && this.behaviourAt(height) === 'shape-shift') {
      return this.relayShifting(from, m.state, attempt, m.signature);
    }
    if (m.kind !== 'proposal' || !(m.proposal instanceof LedgerFrame)) return;
    const behaviour = this.behaviourAt(height);
    if (behaviour !== 'equivocate' && behaviour !== 'split-commit') return;
    this.remember(m.proposal, attempt);
    if (behaviour === 'equivocate') this.equivocateVotes(height, attempt);
    else this.voteForFirstProposal(height, attempt);
  }

  private onAttempt(height: number, attempt: number): void {
    this.acted.set(height, attempt);
    for (const old of [...this.acted.keys()]) {
      if (old < height - this.context.rankWindow) {
        this.acted.delete(old);
        this.parents.delete(old);
      }
    }
    const parent = this.parents.get(height);
    if (parent === undefined) return;
    const behaviour = this.behaviourAt(height);
    switch (behaviour) {
      case 'withhold':
        return;
      case 'equivocate':
        return this.equivocateProposals(height, attempt, parent);
      case 'partial':
        return this.proposeToHalf(height, attempt, parent);
      case 'invalid':
        return this.proposeInvalid(height, attempt, parent);
      case 'garbage':
        return attempt === 0 ? this.sendGarbage(height) : undefined;
      case 'flood':
        return attempt === 0 ? this.flood(height, parent) : undefined;
      case 'split-commit':
        return this.proposeAroundFavourite(height, attempt, parent);
      case 'shape-shift':
        return this.proposeShifting(height, attempt, parent);
    }
  }

  /** A proposal whose frame is one value when first read and another after, and a vote for the first. */
  private proposeShifting(height: number, attempt: number, parent: LedgerFrame): void {
    if (!this.proposes(height, attempt)) return;
    const self = this.context.self;
    if (attempt === 0) this.announceLiveness(height);
    const first = LedgerFrame.create(height, parent.hash, self, this.timeAfter(parent), this.entries(height, `${2 * attempt + 1}`));
    const then = LedgerFrame.create(height, parent.hash, self, this.timeAfter(parent), this.entries(height, `${2 * attempt + 2}`));
    for (const to of this.peers) {
      this.context.send(to, { kind: 'proposal', peer: new LedgerPeer(self), proposal: shiftingFrame(first, then, 1), attempt, validAttempt: null });
      this.context.send(to, this.signedVote(height, attempt, self, first.hash));
    }
    this.context.note(`proposes ${first.hash}, which becomes ${then.hash} once read, at ${height}.${attempt}`);
  }

  /** Honest confirmations gathered into a certificate whose frame changes once its signatures are checked. */
  private relayShifting(from: string, frame: LedgerFrame, attempt: number, signature: unknown): void {
    if (typeof signature !== 'string' || !this.context.members.includes(from)) return;
    const other = LedgerFrame.create(frame.height, frame.parent, this.context.self, frame.time, this.entries(frame.height, `shift-${attempt}`));
    const certificate = this.shifting.gather(from, frame, attempt, signature, other);
    if (certificate === null) return;
    for (const to of this.peers) this.context.send(to, certificate);
    this.context.note(`relays a certificate of ${frame.hash} that becomes ${other.hash} once checked, at ${frame.height}.${attempt}`);
  }

  /** The one honest node a `split-commit` node helps to commit at `height`. */
  private favouriteAt(height: number): string {
    return this.halves(height)[0][0];
  }

  /** Votes once per (height, attempt); slots older than the rank window are forgotten. */
  private markVoted(height: number, attempt: number): void {
    this.voted.add(`${height}/${attempt}`);
    for (const old of [...this.voted]) if (Number(old.split('/')[0]) < height - this.context.rankWindow) this.voted.delete(old);
  }

  /** A vote for the attempt's first proposal, to everyone. */
  private voteForFirstProposal(height: number, attempt: number): void {
    const key = `${height}/${attempt}`;
    const [frame] = this.seen.get(key) ?? [];
    if (frame === undefined || this.voted.has(key)) return;
    this.markVoted(height, attempt);
    for (const to of this.peers) this.context.send(to, this.signedVote(height, attempt, frame.prover, frame.hash));
  }

  /**
   * An honest node confirms another value than the one proposed to half the
   * cluster: the held confirmation goes to the favourite, and one of the new
   * value to everyone else, so both values may complete 2f + 1 at once.
   */
  private releaseSplit(from: string, frame: LedgerFrame, attempt: number): void {
    const held = this.heldConfirmations.get(frame.height);
    if (held === undefined || held.value === frame.hash || !this.context.members.includes(from)) return;
    this.heldConfirmations.delete(frame.height);
    const favourite = this.favouriteAt(frame.height);
    this.context.send(favourite, held.confirmation);
    const confirmation = this.signedConfirmation(frame, attempt);
    for (const to of this.peers) if (to !== favourite) this.context.send(to, confirmation);
    this.context.note(`confirms ${held.value} to ${favourite} and ${frame.hash} to the rest at ${frame.height}.${attempt}`);
  }

  /**
   * In attempt 0, a value to half the cluster, its vote to that half, and its
   * confirmation held back; as a later attempt's proposer, a fresh value and
   * its vote to everyone but the favourite.
   */
  private proposeAroundFavourite(height: number, attempt: number, parent: LedgerFrame): void {
    if (!this.proposes(height, attempt)) return;
    const self = this.context.self;
    const frame = LedgerFrame.create(height, parent.hash, self, this.timeAfter(parent), this.entries(height, `${attempt}`));
    const to =
      attempt === 0 ? this.halves(height)[0] : this.peers.filter((peer) => peer !== this.favouriteAt(height));
    if (attempt === 0) {
      this.announceLiveness(height);
      this.heldConfirmations.set(height, { value: frame.hash, confirmation: this.signedConfirmation(frame, 0) });
      for (const old of [...this.heldConfirmations.keys()]) if (old < height - this.context.rankWindow) this.heldConfirmations.delete(old);
    }
    this.propose(to, frame, attempt);
    this.markVoted(height, attempt);
    for (const member of to) this.context.send(member, this.signedVote(height, attempt, self, frame.hash));
    this.context.note(`proposes ${frame.hash} to ${to.join(',')} at ${height}.${attempt}`);
  }

  private signedConfirmation(frame: LedgerFrame, attempt: number): LedgerMessage {
    const { self } = this.context;
    const signature = this.signs('confirmation', frame.height, attempt, frame.hash);
    return { kind: 'confirmation', peer: new LedgerPeer(self), state: frame, attempt, signature };
  }

  /** This node's signature over a statement, as its engine would make it: only the content is a lie. */
  private signs(kind: Statement['kind'], rank: number, attempt: number, value: string | null): string {
    const valueDigest = value === null ? NIL_DIGEST : valueDigestOf(value);
    return this.context.sign({ chainId: LEDGER_CHAIN_ID, kind, rank, attempt, valueDigest });
  }

  private get peers(): string[] {
    return this.context.members.filter((member) => member !== this.context.self);
  }

  /** The peers split in two halves, differently each height. */
  private halves(height: number): [string[], string[]] {
    const peers = this.peers;
    const offset = height % peers.length;
    const rotated = peers.map((_, i) => peers[(i + offset) % peers.length]);
    const cut = Math.ceil(rotated.length / 2);
    return [rotated.slice(0, cut), rotated.slice(cut)];
  }

  /** Whether this node may propose in `attempt`: any prover in attempt 0, the attempt's proposer later. */
  private proposes(height: number, attempt: number): boolean {
    const schedule = this.context.schedule(height);
    if (attempt === 0) return schedule.includes(this.context.self);
    // As the engine rotates later attempts: the provers, then the other members.
    const order = [...schedule, ...this.context.members.filter((member) => !schedule.includes(member))];
    return order[attempt % order.length] === this.context.self;
  }

  /** The time an honest prover would stamp on a frame on `parent` now. */
  private timeAfter(parent: LedgerFrame): number {
    return frameTimeAfter(parent, this.context.now());
  }

  private entries(height: number, tag: string): string[] {
    return [`tx:${this.context.self}:${height}:${tag}`];
  }

  private announceLiveness(height: number): void {
    const collected = new LedgerBatch(height, this.context.self, this.entries(height, '0'));
    for (const to of this.peers) this.context.send(to, { kind: 'liveness', peer: new LedgerPeer(this.context.self), collected });
  }

  private remember(frame: LedgerFrame, attempt: number): void {
    const key = `${frame.height}/${attempt}`;
    const list = this.seen.get(key) ?? [];
    if (!list.some((known) => known.hash === frame.hash)) list.push(frame);
    this.seen.set(key, list);
    for (const old of [...this.seen.keys()]) if (Number(old.split('/')[0]) < frame.height - this.context.rankWindow) this.seen.delete(old);
  }

  private propose(to: readonly string[], frame: LedgerFrame, attempt: number): void {
    const peer = new LedgerPeer(this.context.self);
    for (const member of to) this.context.send(member, { kind: 'proposal', peer, proposal: frame, attempt, validAttempt: null });
  }

  private equivocateProposals(height: number, attempt: number, parent: LedgerFrame): void {
    const self = this.context.self;
    const [left, right] = this.halves(height);
    if (this.proposes(height, attempt)) {
      if (attempt === 0) this.announceLiveness(height);
      const a = LedgerFrame.create(height, parent.hash, self, this.timeAfter(parent), this.entries(height, `${2 * attempt + 1}`));
      const b = LedgerFrame.create(height, parent.hash, self, this.timeAfter(parent), this.entries(height, `${2 * attempt + 2}`));
      this.remember(a, attempt);
      this.remember(b, attempt);
      this.propose(left, a, attempt);
      this.propose(right, b, attempt);
      this.context.note(`equivocates proposals ${a.hash} / ${b.hash} at ${height}.${attempt}`);
    }
    this.equivocateVotes(height, attempt);
  }

  /** Votes and confirmations for two values (or a value and nil) to two halves. */
  private equivocateVotes(height: number, attempt: number): void {
    const key = `${height}/${attempt}`;
    if (this.voted.has(key)) return;
    const candidates = this.seen.get(key) ?? [];
    if (candidates.length === 0) return;
    this.markVoted(height, attempt);
    const self = new LedgerPeer(this.context.self);
    const [left, right] = this.halves(height);
    const [a, b] = candidates;
    for (const [group, frame] of [
      [left, a],
      [right, b],
    ] as const) {
      for (const to of group) {
        if (frame === undefined) {
          const vote = new LedgerVote(height, this.context.self, '', 'nil');
          this.context.send(to, { kind: 'nil_vote', voter: self, vote, attempt, signature: this.signs('nil_vote', height, attempt, null) });
          const signature = this.signs('nil_confirmation', height, attempt, null);
          this.context.send(to, { kind: 'nil_confirmation', peer: self, rank: height, attempt, signature });
        } else {
          this.context.send(to, this.signedVote(height, attempt, frame.prover, frame.hash));
          this.context.send(to, this.signedConfirmation(frame, attempt));
        }
      }
    }
    this.context.note(`equivocates votes ${a.hash} / ${b?.hash ?? 'nil'} at ${height}.${attempt}`);
  }

  /** A vote signed with this node's own key, as honest nodes' are: only its content is a lie. */
  private signedVote(height: number, attempt: number, proposer: string, frameHash: string): LedgerMessage {
    const { self } = this.context;
    const vote = new LedgerVote(height, self, proposer, frameHash);
    const signature = this.signs('vote', height, attempt, frameHash);
    return { kind: 'vote', proposer: new LedgerPeer(proposer), voter: new LedgerPeer(self), vote, attempt, proposal: frameHash, signature };
  }

  /** A valid proposal, and a vote for it, to one half of the cluster only. */
  private proposeToHalf(height: number, attempt: number, parent: LedgerFrame): void {
    if (!this.proposes(height, attempt)) return;
    const self = this.context.self;
    const [half] = this.halves(height + attempt);
    if (attempt === 0) this.announceLiveness(height);
    const frame = LedgerFrame.create(height, parent.hash, self, this.timeAfter(parent), this.entries(height, `${attempt}`));
    this.propose(half, frame, attempt);
    for (const to of half) this.context.send(to, this.signedVote(height, attempt, self, frame.hash));
    this.context.note(`proposes ${frame.hash} to half the cluster at ${height}.${attempt}`);
  }

  private proposeInvalid(height: number, attempt: number, parent: LedgerFrame): void {
    if (!this.proposes(height, attempt)) return;
    const self = this.context.self;
    const honest = this.context.schedule(height).find((prover) => prover !== self) ?? self;
    const time = this.timeAfter(parent);
    const variants: [string, () => LedgerFrame][] = [
      ['wrong parent', () => LedgerFrame.create(height, 'f'.repeat(16), self, time, this.entries(height, '0'))],
      ['skipped height', () => LedgerFrame.create(height, parent.parent, self, time, this.entries(height, '0'))],
      ['forged hash', () => new LedgerFrame(height, parent.hash, self, time, this.entries(height, '0'), '0'.repeat(16))],
      ['another prover', () => LedgerFrame.create(height, parent.hash, honest, time, this.entries(height, '0'))],
      ['bogus mutations', () => LedgerFrame.create(height, parent.hash, self, time, ['DROP TABLE ledger'])],
      ['no mutations', () => LedgerFrame.create(height, parent.hash, self, time, [])],
      // Below genesis's 0 it is not even well-formed: refused all the same.
      ['time before parent', () => LedgerFrame.create(height, parent.hash, self, parent.time - 1, this.entries(height, '0'))],
      ['time far ahead', () => LedgerFrame.create(height, parent.hash, self, time + FAR_AHEAD_MS, this.entries(height, '0'))],
    ];
    const [label, make] = variants[this.context.random.integer(0, variants.length - 1)];
    const frame = make();
    if (attempt === 0) this.announceLiveness(height);
    const peer = new LedgerPeer(self);
    for (const to of this.peers) {
      this.context.send(to, { kind: 'proposal', peer, proposal: frame, attempt, validAttempt: null });
      this.context.send(to, this.signedVote(height, attempt, self, frame.hash));
    }
    this.context.note(`proposes an invalid frame (${label}) ${frame.hash} at ${height}.${attempt}`);
  }

  private sendGarbage(height: number): void {
    const { random } = this.context;
    const self = new LedgerPeer(this.context.self);
    const vote = new LedgerVote(height, this.context.self, this.context.self, 'garbage');
    for (const to of this.peers) {
      const values = garbageUniques(random);
      const pick = () => values[random.integer(0, values.length - 1)];
      const messages: unknown[] = [
        { kind: 'proposal', peer: self, proposal: pick() },
        { kind: 'proposal', peer: pick(), proposal: LedgerFrame.genesis() },
        { kind: 'vote', proposer: self, voter: self, vote: pick() },
        { kind: 'vote', proposer: pick(), voter: self, vote },
        this.signedVote(height, 0, 'mallory', 'garbage'),
        { kind: 'liveness', peer: self, collected: pick() },
        { kind: 'confirmation', peer: self, state: pick() },
        { kind: 'confirmation', peer: pick(), state: pick() },
        { kind: 'nil_confirmation', peer: self, rank: pick(), attempt: pick() },
        { kind: 'certificate', state: pick(), certificate: { rank: height, attempt: 0, signers: [this.context.self], signatures: ['AAAA'] } },
        { kind: 'lock_proof', proof: { rank: height, attempt: 0, value: 'garbage', voters: this.context.members, signatures: [] } },
        { kind: 'confirmation', peer: self, state: LedgerFrame.genesis(), attempt: 0, signature: 'not a signature' },
        { kind: 'proposal', peer: self, proposal: LedgerFrame.genesis(), attempt: -1 },
        { kind: 'vote', proposer: self, voter: self, vote, attempt: 1.5, proposal: 42 },
        { kind: 'sync_response', id: random.integer(0, 100), frames: [pick(), pick()] },
        { kind: 'no such kind' },
        pick(),
      ];
      for (const message of messages) this.context.send(to, message as LedgerMessage);
      if (this.context.sendElection) for (const raw of electionJunk(this.context.self, this.context.members)) this.context.sendElection(to, raw);
    }
    this.context.note(`sends garbage at ${height}`);
  }

  private flood(height: number, parent: LedgerFrame): void {
    const { random, rankWindow, self } = this.context;
    const peer = new LedgerPeer(self);
    for (const to of this.peers) {
      for (let i = 0; i < FLOOD_MESSAGES_PER_PEER; i += 1) {
        // Half just inside the window's far edge, half far beyond it.
        const rank = i % 2 === 0 ? height + random.integer(1, rankWindow) : height + rankWindow + random.integer(1, 1_000_000);
        const frame = LedgerFrame.create(rank, parent.hash, self, this.timeAfter(parent), [`tx:${self}:${rank}:${i}`]);
        const messages: LedgerMessage[] = [
          { kind: 'proposal', peer, proposal: frame },
          this.signedVote(rank, 0, self, frame.hash),
          { kind: 'liveness', peer, collected: new LedgerBatch(rank, self, [`tx:${self}:${rank}:0`]) },
          { kind: 'confirmation', peer, state: frame },
        ];
        this.context.send(to, messages[i % messages.length]);
      }
      // Attempts far beyond any window, on the height being decided.
      const frame = LedgerFrame.create(height, parent.hash, self, this.timeAfter(parent), [`tx:${self}:${height}:far`]);
      this.context.send(to, { kind: 'proposal', peer, proposal: frame, attempt: 1_000 + random.integer(0, 1_000) });
    }
    this.context.note(`floods ${FLOOD_MESSAGES_PER_PEER} messages per peer at ${height}`);
  }

  /** Answers a sync with a forged chain that links onto the real ledger. */
  private answerSync(from: string, request: { id: unknown; after: unknown }): void {
    const after = request.after;
    if (!Number.isSafeInteger(after)) return;
    const behaviour = this.behaviourAt((after as number) + 1);
    if (behaviour === 'withhold') return;
    if (behaviour === 'garbage') {
      const values = garbageUniques(this.context.random);
      this.context.send(from, { kind: 'sync_response', id: request.id, frames: values });
      return;
    }
    const base = this.context.finalizedAt(after as number);
    if (base === undefined) return;
    const frames: LedgerFrame[] = [];
    let parent = base;
    for (let height = base.height + 1; height <= base.height + 4; height += 1) {
      const prover = this.context.schedule(height)[0];
      parent = LedgerFrame.create(height, parent.hash, prover, this.timeAfter(parent), [`tx:${prover}:${height}:9`]);
      frames.push(parent);
    }
    this.context.send(from, { kind: 'sync_response', id: request.id, frames });
  }
}
