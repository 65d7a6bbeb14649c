// SPEC §2.8, rule by rule: round change within a rank (attempts, locks, the
// commit rule, skip-ahead, growing timeouts, durable safety data). One engine
// of four members (n0 … n3, f = 1, so 2f + 1 = 3 and f + 1 = 2); n0 is the
// node under test and not a prover; the provers n1, n2, n3 are played by the
// test, which injects every message with its position. Time only moves on the
// engine's SimulatedClock, 1 ms at a time, so every instant asserted is exact.
import { ConsensusInputError, MalformedMessageError } from '../../index';
import { admit } from '../../guards/admission';
import { isValidFinalization } from '../../guards/finalization';
import {
  attemptTimeoutOf,
  mayExtendAttempt,
  citesNewerProof,
  confirmationGroups,
  pastPolkaGroups,
  skipTarget,
  votableProposals,
} from '../../guards/roundChange';
import { slotKey } from '../../machines/rankBook';
import { DEFAULT_ROUND_TIMEOUTS } from '../../machines/round.types';
import type { ProposalRecord, RoundContext, VoteRecord } from '../../machines/round.types';
import { InMemorySafetyStorage } from '../../providers/storage';
import {
  ballotFor,
  guardContext,
  nilBallot,
  peer,
  proposalFrame,
  refusalOf,
  RoundChangeNode,
} from './roundChangeHarness';

/** Attempt 0 of a rank may take T; attempt a, T × 2^a. */
const T = 100;

const proposalRecord = (value: ReturnType<typeof proposalFrame>, validAttempt: number | null): ProposalRecord => ({
  value,
  contentId: value.hash,
  validAttempt,
});

/**
 * Brings `node` to a lock on `value` in attempt 0 of rank 1: `value`'s prover
 * proposes it, the node votes for it, and two peers' votes make 2f + 1.
 */
async function lockInAttemptZero(node: RoundChangeNode, value: ReturnType<typeof proposalFrame>, voters = ['n1', 'n2']) {
  await node.proposal(value.prover, value, 0);
  for (const voter of voters) await node.vote(voter, value, 0);
}

/** The confirmation groups the engine weighs now: attempt, value, senders. */
function weighedConfirmations(node: RoundChangeNode) {
  return confirmationGroups(node.context()).map((group) => ({
    attempt: group.attempt,
    value: group.value,
    senders: [...group.senders].sort(),
  }));
}

/** What must stay the same when a message is refused. */
function footprint(node: RoundChangeNode) {
  const context = node.context();
  return {
    held: node.engine.getHeldMessageCount(),
    attempt: node.engine.getAttempt(),
    state: node.engine.getState(),
    books: JSON.stringify([context.proposals, context.votes, context.confirmations, context.attemptsSeen]),
  };
}

describe('SPEC §2.8 round change', () => {
  describe('rule 1: a lock holds across attempts unless a newer proof of 2f+1 votes is cited', () => {
    it('a node locked on v is offered no proposal when the next attempt proposes w, so it votes nil', async () => {
      const node = new RoundChangeNode({ timeouts: { attempt: T } });
      const v = proposalFrame('n1', 'v');
      const w = proposalFrame('n2', 'w');
      await node.startVoting();
      await lockInAttemptZero(node, v);
      expect(node.context().lock).toMatchObject({ contentId: v.hash, proposerId: 'n1', attempt: 0 });

      await node.until(() => node.engine.getAttempt() === 1, 2 * T);
      // Attempt 1's proposer is provers[1 % 3] = n2.
      await node.proposal('n2', w, 1);

      expect(node.offers).toEqual([
        { offered: { n1: v.hash }, position: { rank: 1, attempt: 0 } },
        { offered: {}, position: { rank: 1, attempt: 1 } },
      ]);
      expect(node.context().votes['1/1']?.n0).toMatchObject({ endorses: 'nil', proposerId: null });
    });

    it('a node locked on v is offered w when the proposal cites a newer attempt in which it holds 2f+1 votes for w', async () => {
      const node = new RoundChangeNode({ timeouts: { attempt: T } });
      const v = proposalFrame('n1', 'v');
      const w = proposalFrame('n2', 'w');
      await node.startVoting();
      await lockInAttemptZero(node, v);
      // Attempt 1 passes without this node seeing its proposal; it lands in attempt 2.
      await node.until(() => node.engine.getAttempt() === 2, 4 * T);
      for (const voter of ['n1', 'n2', 'n3']) await node.vote(voter, w, 1);

      // Attempt 2's proposer is n3: it re-proposes w, citing attempt 1.
      await node.proposal('n3', w, 2, 1);

      expect(node.context().lock).toMatchObject({ contentId: v.hash, attempt: 0 });
      // The engine weighed attempt 1's votes itself: 3 of 4 members are a quorum, remembered.
      expect(node.context().polka).toEqual({ attempt: 1, contentId: w.hash });
      expect(node.offers).toEqual([
        { offered: { n1: v.hash }, position: { rank: 1, attempt: 0 } },
        { offered: { n3: w.hash }, position: { rank: 1, attempt: 2 } },
      ]);
      expect(node.context().votes['1/2']?.n0).toMatchObject({ endorses: `value:${w.hash}`, proposerId: 'n3' });
    });

    it('a node locked on v is offered nothing when the cited attempt holds only 2f votes for w', async () => {
      const node = new RoundChangeNode({ timeouts: { attempt: T } });
      const v = proposalFrame('n1', 'v');
      const w = proposalFrame('n2', 'w');
      await node.startVoting();
      await lockInAttemptZero(node, v);
      await node.until(() => node.engine.getAttempt() === 2, 4 * T);
      for (const voter of ['n1', 'n2']) await node.vote(voter, w, 1);

      await node.proposal('n3', w, 2, 1);

      // The engine weighed the cited votes: 2 of 4 members are no quorum.
      expect(node.context().polka).toEqual({ attempt: 0, contentId: v.hash });
      expect(node.context().provenValue).toBeNull();
      expect(node.offers).toEqual([
        { offered: { n1: v.hash }, position: { rank: 1, attempt: 0 } },
        { offered: {}, position: { rank: 1, attempt: 2 } },
      ]);
    });

    it('a cited proof older than the lock is rejected: locked on v at attempt 1, the node votes nil for w citing attempt 0', async () => {
      const node = new RoundChangeNode({ timeouts: { attempt: T } });
      const w = proposalFrame('n1', 'w');
      const v = proposalFrame('n2', 'v');
      await node.startVoting();
      // 2f + 1 voted for w in attempt 0, whose proposal this node never saw.
      for (const voter of ['n1', 'n2', 'n3']) await node.vote(voter, w, 0);
      await node.until(() => node.engine.getAttempt() === 1, 2 * T);
      // Attempt 1 (proposer n2) decides v for this node: it locks on v at attempt 1.
      await node.proposal('n2', v, 1);
      await node.vote('n1', v, 1);
      await node.vote('n3', v, 1);
      expect(node.context().lock).toMatchObject({ contentId: v.hash, attempt: 1 });
      await node.until(() => node.engine.getAttempt() === 2, 3 * T);

      // Attempt 2's proposer n3 offers w, citing attempt 0: older than the lock.
      await node.proposal('n3', w, 2, 0);

      // The evidence is still held, so only the age of the proof rules it out: it is not even weighed.
      expect(Object.keys(node.context().votes['1/0'] ?? {}).sort()).toEqual(['n1', 'n2', 'n3']);
      expect(node.context().provenValue).toBeNull();
      expect(node.offers).toEqual([
        { offered: { n2: v.hash }, position: { rank: 1, attempt: 1 } },
        { offered: {}, position: { rank: 1, attempt: 2 } },
      ]);
    });

    it('citesNewerProof holds only for a cited attempt no older than the lock and older than the current one', () => {
      const w = proposalFrame('n1', 'w');
      const v = proposalFrame('n2', 'v');
      const lock = { contentId: v.hash, proposerId: 'n2', attempt: 1, value: v };
      const at3 = guardContext({ attempt: 3, lock });
      expect([null, 0, 1, 2, 3].map((cited) => citesNewerProof(at3, proposalRecord(w, cited)))).toEqual([
        false,
        false,
        true,
        true,
        false,
      ]);
      expect(citesNewerProof(guardContext({ attempt: 3, lock: null }), proposalRecord(w, 2))).toBe(false);
    });

    it('votableProposals drops a proposal for another value than the lock unless its proof was accepted', () => {
      const w = proposalFrame('n1', 'w');
      const v = proposalFrame('n2', 'v');
      const lock = { contentId: v.hash, proposerId: 'n2', attempt: 1, value: v };
      // Later attempts rotate over the provers, then the other members: attempt 4's proposer is [n1, n2, n3, n0][4 % 4] = n1.
      const proposals = { '1/4': { n1: proposalRecord(w, 2) } };
      expect(votableProposals(guardContext({ attempt: 4, proposals, lock }))).toEqual({});
      expect(votableProposals(guardContext({ attempt: 4, proposals, lock, provenValue: w.hash }))).toEqual(proposals['1/4']);
      expect(votableProposals(guardContext({ attempt: 4, proposals, lock: { ...lock, contentId: w.hash } }))).toEqual(
        proposals['1/4'],
      );
      expect(votableProposals(guardContext({ attempt: 4, proposals, lock: null }))).toEqual(proposals['1/4']);
    });

    it('2f+1 votes for w this node itself saw in an attempt no older than its lock let it vote for w, an older sighting does not', () => {
      const w = proposalFrame('n1', 'w');
      const v = proposalFrame('n2', 'v');
      const lock = { contentId: v.hash, proposerId: 'n2', attempt: 1, value: v };
      const proposals = { '1/4': { n1: proposalRecord(w, null) } };
      const seenAt = (attempt: number) => guardContext({ attempt: 4, proposals, lock, polka: { attempt, contentId: w.hash } });
      expect(votableProposals(seenAt(2))).toEqual(proposals['1/4']);
      expect(votableProposals(seenAt(1))).toEqual(proposals['1/4']);
      expect(votableProposals(seenAt(0))).toEqual({});
    });
    it('2f+1 votes for w from an attempt the node already left, arriving late, let it vote for w past an older lock, and never lock it', async () => {
      const node = new RoundChangeNode({ timeouts: { attempt: T } });
      const v = proposalFrame('n1', 'v');
      const w = proposalFrame('n2', 'w');
      await node.startVoting();
      await lockInAttemptZero(node, v);
      await node.until(() => node.engine.getAttempt() === 2, 4 * T);
      // Attempt 1's votes reach the node only now (late, or relayed by a node that locked on them).
      for (const voter of ['n1', 'n2', 'n3']) await node.vote(voter, w, 1);

      expect(node.context().polka).toEqual({ attempt: 1, contentId: w.hash });
      expect(node.context().lock).toMatchObject({ contentId: v.hash, attempt: 0 });
      expect(node.confirmationsSent.map((sent) => sent.value)).toEqual([v.hash]);
      expect(node.engine.getState()).toBe('voting');

      // Attempt 2's proposer n3 proposes w without citing anything: the remembered votes suffice.
      await node.proposal('n3', w, 2);
      expect(node.offers).toEqual([
        { offered: { n1: v.hash }, position: { rank: 1, attempt: 0 } },
        { offered: { n3: w.hash }, position: { rank: 1, attempt: 2 } },
      ]);
    });

    it('late 2f+1 votes for a held proposal make it the valid value: the node re-proposes it as a later proposer, citing their attempt', async () => {
      const proposed: Array<{ value: string; attempt: number; validAttempt: number | null }> = [];
      const node = new RoundChangeNode({ timeouts: { attempt: T } });
      node.handlers.sendProposal = async (proposal, _signal, { attempt, validAttempt }) => {
        proposed.push({ value: proposal.hash, attempt, validAttempt });
      };
      const w = proposalFrame('n2', 'w');
      await node.startVoting();
      await node.until(() => node.engine.getAttempt() === 1, 2 * T);
      await node.proposal('n2', w, 1);
      expect(node.context().votes['1/1']?.n0).toMatchObject({ endorses: `value:${w.hash}` });
      await node.until(() => node.engine.getAttempt() === 2, 3 * T);
      // With the node's own vote, attempt 1 had 2f + 1 for w; the node learns it in attempt 2.
      for (const voter of ['n1', 'n3']) await node.vote(voter, w, 1);

      expect(node.context().lock).toBeNull();
      expect(node.confirmationsSent).toEqual([]);
      expect(node.context().valid).toMatchObject({ contentId: w.hash, proposerId: 'n2', attempt: 1 });

      // Attempt 3's proposer is [n1, n2, n3, n0][3 % 4] = n0, this node: it proposes w, citing attempt 1.
      await node.until(() => node.engine.getAttempt() === 3, 5 * T);
      await node.settle();
      expect(proposed).toEqual([{ value: w.hash, attempt: 3, validAttempt: 1 }]);
    });

    // One prover per rank: the proposers of later attempts are members the provers list does not name.
    it('a value re-proposed in a later attempt by its proposer there is locked under that proposer and confirmed', async () => {
      const node = new RoundChangeNode({ id: 'n3', provers: ['n0'], timeouts: { attempt: T } });
      const w = proposalFrame('n1', 'w');
      await node.startVoting();
      await node.until(() => node.engine.getAttempt() === 1, 2 * T);
      // Attempts go n0, n1, n2, n3: n1 proposes w in attempt 1, n2 proposes it again in attempt 2.
      await node.proposal('n1', w, 1);
      await node.until(() => node.engine.getAttempt() === 2, 3 * T);
      await node.proposal('n2', w, 2);
      for (const voter of ['n0', 'n1']) await node.vote(voter, w, 2, 'n2');

      expect(node.context().lock).toMatchObject({ contentId: w.hash, proposerId: 'n2', attempt: 2 });
      expect(node.confirmationsSent).toEqual([{ value: w.hash, position: { rank: 1, attempt: 2 } }]);
      expect(node.engine.getProviderErrorCount()).toBe(0);
    });

    it('isValidFinalization takes a locked value from any member whose turn came by the lock\'s attempt, and no other', () => {
      const w = proposalFrame('n2', 'w');
      // One prover (n1): attempts go n1, n0, n2, n3.
      const locked = (proposerId: string, attempt: number) =>
        guardContext({
          nextProvers: [peer('n1')],
          attempt,
          lock: { contentId: w.hash, proposerId, attempt, value: w },
        });
      expect(isValidFinalization(locked('n2', 2), w, peer('n2'))).toBe(true);
      // Proposed in attempt 2, re-proposed by n3 in attempt 3 and locked there: n2's proposal still counts.
      expect(isValidFinalization(locked('n2', 3), w, peer('n2'))).toBe(true);
      expect(isValidFinalization(locked('n1', 3), w, peer('n1'))).toBe(true);
      // n3's turn comes in attempt 3: locked in attempt 2, a value of its own cannot be the one.
      expect(isValidFinalization(locked('n3', 2), w, peer('n3'))).toBe(false);
      // The provider names another proposer than the lock's, or another value.
      expect(isValidFinalization(locked('n2', 3), w, peer('n0'))).toBe(false);
      expect(isValidFinalization(locked('n2', 3), proposalFrame('n2', 'x'), peer('n2'))).toBe(false);
    });

    it('pastPolkaGroups asks about the values of attempts left since the newest known proof, newest first, never nil', () => {
      const w = proposalFrame('n1', 'w');
      const v = proposalFrame('n2', 'v');
      const vote = (value: ReturnType<typeof proposalFrame>): VoteRecord => {
        const ballot = ballotFor('n1', value);
        return { value: ballot, contentId: ballot.identity(), proposer: peer(value.prover), proposerId: value.prover, endorses: `value:${value.hash}` };
      };
      const nilVote = nilBallot('n1', 1);
      const nil: VoteRecord = { value: nilVote, contentId: nilVote.identity(), proposer: null, proposerId: null, endorses: 'nil' };
      const votes = {
        '1/0': { n1: vote(v) },
        '1/1': { n1: vote(w), n2: nil },
        '1/2': { n1: vote(v), n2: vote(w) },
        '1/3': { n1: vote(w) },
      };
      const groupsAt = (polka: RoundContext['polka']) =>
        pastPolkaGroups(guardContext({ attempt: 3, votes, polka })).map((group) => [group.attempt, group.value]);
      const [first, second] = [v.hash, w.hash].sort();
      expect(groupsAt(null)).toEqual([[2, first], [2, second], [1, w.hash], [0, v.hash]]);
      expect(groupsAt({ attempt: 1, contentId: w.hash })).toEqual([[2, first], [2, second]]);
      expect(groupsAt({ attempt: 2, contentId: w.hash })).toEqual([]);
    });
  });

  describe('rule 2: a commit needs 2f+1 matching confirmations', () => {
    it('2f+1 votes alone do not commit: the node locks and confirms, and commits only on the third matching confirmation', async () => {
      const node = new RoundChangeNode({ timeouts: { attempt: T } });
      const v = proposalFrame('n1', 'v');
      await node.startVoting();
      await lockInAttemptZero(node, v);
      expect(node.confirmationsSent).toEqual([{ value: v.hash, position: { rank: 1, attempt: 0 } }]);
      await node.step(T / 2);
      expect(node.commits).toEqual([]);
      expect(node.engine.getActiveRank()).toBe(0);

      // Its own confirmation and n1's: 2f.
      await node.confirm('n1', v, 0);
      expect(node.commits).toEqual([]);
      expect(node.engine.getActiveRank()).toBe(0);

      await node.confirm('n2', v, 0);
      expect(node.commits).toHaveLength(1);
      expect(node.commits[0]).toMatchObject({ rank: 1, attempt: 0, at: 10 + T / 2 });
      expect(node.commits[0].state.identity()).toBe(v.hash);
      expect(node.commits[0].proposer?.identity()).toBe('n1');
      expect(node.engine.getActiveState().identity()).toBe(v.hash);
    });

    it('confirmations split between two values do not commit', async () => {
      const node = new RoundChangeNode({ timeouts: { attempt: T } });
      const v = proposalFrame('n1', 'v');
      const w = proposalFrame('n2', 'w');
      await node.startVoting();
      await node.confirm('n1', v, 0);
      await node.confirm('n2', v, 0);
      await node.confirm('n3', w, 0);
      await node.step(T / 2);

      expect(node.commits).toEqual([]);
      expect(node.engine.getActiveRank()).toBe(0);
      expect(weighedConfirmations(node)).toEqual([
        { attempt: 0, value: v.hash, senders: ['n1', 'n2'] },
        { attempt: 0, value: w.hash, senders: ['n3'] },
      ]);
    });

    it('confirmations split between attempts do not commit', async () => {
      const node = new RoundChangeNode({ timeouts: { attempt: T } });
      const v = proposalFrame('n1', 'v');
      await node.startVoting();
      await node.confirm('n1', v, 0);
      await node.confirm('n2', v, 0);
      await node.confirm('n3', v, 1);
      await node.step(T / 2);

      expect(node.commits).toEqual([]);
      expect(node.engine.getActiveRank()).toBe(0);
      expect(weighedConfirmations(node)).toEqual([
        { attempt: 0, value: v.hash, senders: ['n1', 'n2'] },
        { attempt: 1, value: v.hash, senders: ['n3'] },
      ]);
    });

    it('2f+1 matching confirmations commit a value whose proposal the node never saw', async () => {
      const node = new RoundChangeNode({ timeouts: { attempt: T } });
      const v = proposalFrame('n1', 'v');
      await node.startVoting();
      for (const peerName of ['n1', 'n2', 'n3']) await node.confirm(peerName, v, 0);

      expect(node.offers).toEqual([]);
      expect(node.commits).toHaveLength(1);
      expect(node.commits[0]).toMatchObject({ rank: 1, attempt: 0, proposer: null, at: 10 });
      expect(node.commits[0].state.identity()).toBe(v.hash);
      expect(node.engine.getActiveRank()).toBe(1);
      expect(node.engine.getActiveState().identity()).toBe(v.hash);
    });

    it('2f+1 matching confirmations of an earlier attempt commit a node that is at a later attempt', async () => {
      const node = new RoundChangeNode({ timeouts: { attempt: T } });
      const v = proposalFrame('n1', 'v');
      await node.startVoting();
      await node.until(() => node.engine.getAttempt() === 1, 2 * T);
      for (const peerName of ['n1', 'n2', 'n3']) await node.confirm(peerName, v, 0);

      expect(node.commits).toHaveLength(1);
      expect(node.commits[0]).toMatchObject({ rank: 1, attempt: 0, at: 10 + T });
      expect(node.commits[0].state.identity()).toBe(v.hash);
      expect(node.engine.getActiveState().identity()).toBe(v.hash);
    });

    it('the committed state is the one the confirmations carry, not the value this node locked on', async () => {
      const node = new RoundChangeNode({ timeouts: { attempt: T } });
      const v = proposalFrame('n1', 'v');
      const w = proposalFrame('n2', 'w');
      await node.startVoting();
      await lockInAttemptZero(node, v);
      // The others never saw attempt 0's votes; they decided w in attempt 1.
      for (const peerName of ['n1', 'n2', 'n3']) await node.confirm(peerName, w, 1);

      expect(node.confirmationsSent).toEqual([{ value: v.hash, position: { rank: 1, attempt: 0 } }]);
      expect(node.commits).toHaveLength(1);
      expect(node.commits[0]).toMatchObject({ rank: 1, attempt: 1, proposer: null });
      expect(node.commits[0].state.identity()).toBe(w.hash);
      expect(node.engine.getActiveState().identity()).toBe(w.hash);
    });

    it('the committed state is the one the confirmations carry even while the node holds its own finalized value in verifying', async () => {
      // Confirmations one by one would make the node skip ahead, clearing the
      // finalized value on the way to attempt 1; a commit certificate is no
      // skip evidence, so the node is still in verifying at attempt 0 with v
      // as its next state when 2f + 1 confirmations for w at attempt 1 arrive.
      const node = new RoundChangeNode({ timeouts: { attempt: T } });
      const v = proposalFrame('n1', 'v');
      const w = proposalFrame('n2', 'w');
      await node.startVoting();
      await lockInAttemptZero(node, v);
      expect(node.engine.getState()).toBe('verifying');
      expect(node.context().nextState?.identity()).toBe(v.hash);

      expect(node.engine.receiveCommitCertificate(w, { attempt: 1, signers: ['n1', 'n2', 'n3'] })).toBe('accepted');
      await node.settle();

      expect(node.engine.getAttempt()).toBe(0);
      expect(node.commits).toHaveLength(1);
      expect(node.commits[0]).toMatchObject({ rank: 1, attempt: 1 });
      expect(node.commits[0].state.identity()).toBe(w.hash);
      expect(node.engine.getActiveState().identity()).toBe(w.hash);
    });

    it('confirmationGroups groups confirmations by attempt and value, and keeps nil only for the current attempt', () => {
      const v = proposalFrame('n1', 'v');
      const w = proposalFrame('n2', 'w');
      const of = (value: typeof v | null) => ({ value, contentId: value === null ? null : value.hash });
      const context = guardContext({
        attempt: 1,
        confirmations: {
          '1/0': { n1: of(v), n2: of(v), n3: of(null) },
          '1/1': { n1: of(w), n2: of(null), n3: of(null) },
        },
      });
      expect(
        confirmationGroups(context).map((group) => ({
          attempt: group.attempt,
          value: group.value,
          finding: group.finding.kind,
          senders: [...group.senders].sort(),
        })),
      ).toEqual([
        { attempt: 0, value: v.hash, finding: 'commit', senders: ['n1', 'n2'] },
        { attempt: 1, value: w.hash, finding: 'commit', senders: ['n1'] },
        { attempt: 1, value: null, finding: 'nil_confirmations', senders: ['n2', 'n3'] },
      ]);
    });
  });

  describe('rule 3: f+1 other senders at a higher attempt make the node skip to it', () => {
    it('f+1 messages from distinct other senders at a higher attempt move the node there (skip_ahead)', async () => {
      const node = new RoundChangeNode({ timeouts: { attempt: T } });
      await node.startVoting();
      await node.nilVote('n1', 2);
      expect(node.engine.getAttempt()).toBe(0);

      await node.confirmNil('n2', 2);

      expect(node.engine.getAttempt()).toBe(2);
      expect(node.attemptChanges).toEqual([{ rank: 1, from: 0, to: 2, reason: 'skip_ahead', at: 10 }]);
      expect(node.engine.getState()).toBe('voting');
    });

    it('f messages at a higher attempt, even of several kinds from one sender, do not move the node', async () => {
      const node = new RoundChangeNode({ timeouts: { attempt: T } });
      await node.startVoting();
      await node.nilVote('n1', 2);
      await node.confirmNil('n1', 2);
      await node.step(T / 2);

      expect(node.engine.getAttempt()).toBe(0);
      expect(node.attemptChanges).toEqual([]);
    });

    it("the node's own messages at a higher attempt do not count towards skipping", async () => {
      const node = new RoundChangeNode({ timeouts: { attempt: T } });
      await node.startVoting();
      await node.nilVote('n0', 2);
      await node.nilVote('n1', 2);
      await node.step(T / 2);
      expect(node.engine.getAttempt()).toBe(0);
      expect(node.attemptChanges).toEqual([]);

      await node.nilVote('n2', 2);
      expect(node.attemptChanges).toEqual([{ rank: 1, from: 0, to: 2, reason: 'skip_ahead', at: 10 + T / 2 }]);
    });

    it('skipTarget is the highest attempt f+1 other senders reached, never counting the node itself', () => {
      const seen = (heard: Record<string, number>, attempt = 0) => guardContext({ attempt, attemptsSeen: { '1': heard } });
      expect(skipTarget(seen({ n1: 3 }))).toBeNull();
      expect(skipTarget(seen({ n1: 3, n2: 2 }))).toBe(2);
      expect(skipTarget(seen({ n1: 3, n2: 5, n3: 4 }))).toBe(4);
      expect(skipTarget(seen({ n0: 4, n1: 4 }))).toBeNull();
      expect(skipTarget(seen({ n1: 1, n2: 1 }, 1))).toBeNull();
    });
  });

  describe('rule 4: attempt timeouts grow with the attempt and reset on commit', () => {
    it('the node moves 0→1 after T, 1→2 after 2T more, waits at most attemptMax (twice, hearing no one), and after a commit times out after T again', async () => {
      const node = new RoundChangeNode({ timeouts: { attempt: T, attemptGrowth: 2, attemptMax: 3 * T } });
      await node.startVoting();
      const [enteredVoting] = node.votingEntries();
      await node.until(() => node.engine.getAttempt() === 4, 20 * T);

      expect(node.attemptChanges.map(({ from, to, reason }) => ({ from, to, reason }))).toEqual([
        { from: 0, to: 1, reason: 'timeout' },
        { from: 1, to: 2, reason: 'timeout' },
        { from: 2, to: 3, reason: 'timeout' },
        { from: 3, to: 4, reason: 'timeout' },
      ]);
      const times = [enteredVoting, ...node.attemptChanges.map((change) => change.at)];
      // T, 2T, then 4T capped to 3T, then 8T capped to 3T; at the cap, a node
      // that heard less than f + 1 in the attempt runs its timer once more.
      expect(times.slice(1).map((at, i) => at - times[i])).toEqual([T, 2 * T, 6 * T, 6 * T]);

      // Commit late in attempt 4, so a timer left over from it would fire early in rank 2.
      await node.step(2.5 * T);
      const v = proposalFrame('n1', 'v');
      for (const peerName of ['n1', 'n2', 'n3']) await node.confirm(peerName, v, 4);
      expect(node.commits.map(({ rank, attempt }) => ({ rank, attempt }))).toEqual([{ rank: 1, attempt: 4 }]);

      await node.awaitVoting();
      const enteredRank2 = node.votingEntries().at(-1) as number;
      await node.until(() => node.attemptChanges.length === 5, 2 * T);
      expect(node.attemptChanges[4]).toEqual({ rank: 2, from: 0, to: 1, reason: 'timeout', at: enteredRank2 + T });
    });

    it('at the cap, a node that heard f + 1 in the attempt leaves it after attemptMax, once', async () => {
      const node = new RoundChangeNode({ timeouts: { attempt: T, attemptGrowth: 2, attemptMax: 3 * T } });
      await node.startVoting();
      await node.until(() => node.engine.getAttempt() === 2, 10 * T);
      const enteredAttempt2 = node.attemptChanges.at(-1)!.at;
      // n1's nil vote in attempt 2: with n0 itself, f + 1 = 2 heard.
      await node.nilVote('n1', 2);
      await node.until(() => node.engine.getAttempt() === 3, 10 * T);
      expect(node.attemptChanges.at(-1)!.at - enteredAttempt2).toBe(3 * T);
    });

    it('attemptTimeoutOf is T × growth^attempt, capped by attemptMax', () => {
      const timeouts = { ...guardContext().timeouts, attempt: T, attemptGrowth: 2, attemptMax: 3 * T };
      expect([0, 1, 2, 3, 10].map((attempt) => attemptTimeoutOf(guardContext({ attempt, timeouts })))).toEqual([
        T,
        2 * T,
        3 * T,
        3 * T,
        3 * T,
      ]);
    });
  });

  describe('rule 5: nil votes lead to a nil confirmation, nil confirmations end the attempt', () => {
    /** A provider that judges every proposal invalid, so the node votes nil. */
    function nilVoter(): RoundChangeNode {
      const node = new RoundChangeNode({ timeouts: { attempt: T } });
      node.handlers.decideAndSendVote = async (_proposals, _signal, position) => ({
        proposer: null,
        vote: nilBallot('n0', position.rank),
      });
      return node;
    }

    it('2f+1 nil votes make the node send a nil confirmation for their position', async () => {
      const node = nilVoter();
      const v = proposalFrame('n1', 'v');
      await node.startVoting();
      await node.proposal('n1', v, 0);
      await node.nilVote('n1', 0);
      expect(node.confirmationsSent).toEqual([]);

      await node.nilVote('n2', 0);

      expect(node.confirmationsSent).toEqual([{ value: null, position: { rank: 1, attempt: 0 } }]);
      expect(node.context().lock).toBeNull();
      expect(node.journal).toEqual([
        'saved rank=1 voted=0 confirmed=-1 lock=none',
        'send vote attempt=0',
        'saved rank=1 voted=0 confirmed=0 lock=none',
        'send nil confirmation attempt=0',
      ]);
    });

    it("2f+1 nil confirmations end the attempt at once (nil_confirmations), before the attempt's timer", async () => {
      const node = nilVoter();
      const v = proposalFrame('n1', 'v');
      await node.startVoting();
      await node.proposal('n1', v, 0);
      await node.nilVote('n1', 0);
      await node.nilVote('n2', 0);
      await node.step(T / 2);
      await node.confirmNil('n1', 0);
      expect(node.engine.getAttempt()).toBe(0);

      await node.confirmNil('n2', 0);

      expect(node.engine.getAttempt()).toBe(1);
      expect(node.attemptChanges).toEqual([{ rank: 1, from: 0, to: 1, reason: 'nil_confirmations', at: 10 + T / 2 }]);
      // Attempt 0's timer went with it: the next move is attempt 1's, 2T later.
      await node.until(() => node.attemptChanges.length === 2, 3 * T);
      expect(node.attemptChanges[1]).toEqual({ rank: 1, from: 1, to: 2, reason: 'timeout', at: 10 + T / 2 + 2 * T });
    });
  });

  describe('rule 6: a restarted node keeps its lock and its votes', () => {
    it('a node restarted over the same storage keeps its lock, resumes at the attempt it voted in and does not vote in it again', async () => {
      const storage = new InMemorySafetyStorage();
      const v = proposalFrame('n1', 'v');
      const w = proposalFrame('n2', 'w');
      const first = new RoundChangeNode({ storage, timeouts: { attempt: T } });
      await first.startVoting();
      await lockInAttemptZero(first, v);
      await first.until(() => first.engine.getAttempt() === 1, 2 * T);
      await first.proposal('n2', w, 1);
      expect(first.offers.map((offer) => offer.position.attempt)).toEqual([0, 1]);
      // The locked value itself is kept, as plain data, and it is the valid value too.
      const kept = { contentId: v.hash, proposerId: 'n1', attempt: 0, value: JSON.parse(JSON.stringify(v)) };
      expect(storage.peekRoundSafety()).toEqual({ rank: 1, votedAttempt: 1, confirmedAttempt: 0, lock: kept, valid: kept, proposal: null });
      await first.engine.stop();

      const second = new RoundChangeNode({ storage, timeouts: { attempt: T } });
      await second.startVoting();
      expect(second.engine.getAttempt()).toBe(1);
      expect(second.context().lock).toMatchObject({ contentId: v.hash, attempt: 0 });

      // Attempt 1's proposal again: this node already voted in attempt 1.
      await second.proposal('n2', w, 1);
      await second.step(T / 2);
      expect(second.offers).toEqual([]);

      // Attempt 2 proposes w again, citing nothing: the restored lock forbids it.
      await second.until(() => second.engine.getAttempt() === 2, 3 * T);
      await second.proposal('n3', w, 2);
      expect(second.offers).toEqual([{ offered: {}, position: { rank: 1, attempt: 2 } }]);
    });

    it('a node restarted over its lock still holds the locked value, and re-proposes it when its turn comes', async () => {
      const storage = new InMemorySafetyStorage();
      const v = proposalFrame('n1', 'v');
      // n0 is the proposer of attempt 3 (the provers n1, n2, n3, then the other members).
      const first = new RoundChangeNode({ storage, timeouts: { attempt: T } });
      await first.startVoting();
      await lockInAttemptZero(first, v);
      await first.engine.stop();

      // Every proposal this node saw is gone with the process; the kept lock brings v back.
      const second = new RoundChangeNode({ storage, journal: [], timeouts: { attempt: T } });
      await second.startVoting();
      expect(second.context().lock).toMatchObject({ contentId: v.hash, attempt: 0 });
      expect(second.context().lock?.value?.identity()).toBe(v.hash);
      expect(second.context().valid?.value?.identity()).toBe(v.hash);
      await second.until(() => second.engine.getAttempt() === 3, 20 * T);
      await second.step(1);
      expect(second.journal.filter((line) => line.startsWith('send proposal'))).toEqual([`send proposal ${v.hash} attempt=3`]);
    });

    it('a proposer restarted within an attempt sends the proposal it kept, never another one', async () => {
      const storage = new InMemorySafetyStorage();
      const w = proposalFrame('n0', 'w');
      const proofs: string[] = [];
      const prove = (node: RoundChangeNode, value: ReturnType<typeof proposalFrame>) =>
        node.setProver(async () => {
          proofs.push(value.hash);
          return value;
        });
      const first = new RoundChangeNode({ storage, provers: ['n0', 'n1', 'n2'], timeouts: { attempt: T } });
      prove(first, w);
      await first.startVoting();
      expect(first.journal.filter((line) => line.startsWith('send proposal'))).toEqual([`send proposal ${w.hash} attempt=0`]);
      expect(storage.peekRoundSafety()?.proposal).toMatchObject({ attempt: 0, contentId: w.hash });
      await first.engine.stop();

      // Restarted, its prover would now make another value: the kept one goes out again instead.
      const second = new RoundChangeNode({ storage, provers: ['n0', 'n1', 'n2'], journal: [], timeouts: { attempt: T } });
      prove(second, proposalFrame('n0', 'another'));
      await second.startVoting();
      expect(second.journal.filter((line) => line.startsWith('send proposal'))).toEqual([`send proposal ${w.hash} attempt=0`]);
      expect(proofs).toEqual([w.hash]);
    });
    it('a node restarted with a value it saw become valid in an attempt it had not voted in resumes at that attempt, and never cites it in that attempt', async () => {
      // A polka seen in attempt 3 before this node voted there: its record says voted 2, valid at 3.
      const storage = new InMemorySafetyStorage();
      const v = proposalFrame('n1', 'v');
      const valid = { contentId: v.hash, proposerId: 'n1', attempt: 3, value: JSON.parse(JSON.stringify(v)) };
      await storage.saveRoundSafety({ rank: 1, votedAttempt: 2, confirmedAttempt: -1, lock: null, valid, proposal: null });
      // n0 proposes in attempt 3 (after the provers n1, n2, n3) and again in attempt 7.
      const node = new RoundChangeNode({ storage, timeouts: { attempt: T, attemptGrowth: 1 } });
      await node.startVoting();
      expect(node.engine.getAttempt()).toBe(3);
      await node.until(() => node.engine.getAttempt() === 7, 10 * T);
      await node.step(1);
      // Tendermint's validRound < round: a value is cited only from an attempt before the proposal's own.
      expect(node.proposalsSent).toEqual([{ value: v.hash, attempt: 7, validAttempt: 3 }]);
    });
  });

  describe('rule 7: safety data is durable before the message it allows is sent', () => {
    it('the vote and the lock are saved before the vote and the confirmation are sent', async () => {
      const node = new RoundChangeNode({ timeouts: { attempt: T } });
      const v = proposalFrame('n1', 'v');
      await node.startVoting();
      await lockInAttemptZero(node, v);

      expect(node.journal).toEqual([
        'saved rank=1 voted=0 confirmed=-1 lock=none',
        'send vote attempt=0',
        `saved rank=1 voted=0 confirmed=0 lock=${v.hash}@0`,
        `send confirmation ${v.hash} attempt=0`,
      ]);
    });

    it('while a save is pending, neither the vote nor the confirmation it guards is sent', async () => {
      const storage = new InMemorySafetyStorage();
      const pending: Array<() => void> = [];
      storage.hooks.beforeSave = () => new Promise<void>((resolve) => pending.push(resolve));
      const node = new RoundChangeNode({ storage, timeouts: { attempt: T } });
      const v = proposalFrame('n1', 'v');
      await node.startVoting();

      await node.proposal('n1', v, 0);
      await node.step(10);
      expect(pending).toHaveLength(1);
      expect(node.offers).toEqual([]);
      pending[0]();
      await node.settle();
      expect(node.offers).toHaveLength(1);

      await node.vote('n1', v, 0);
      await node.vote('n2', v, 0);
      await node.step(10);
      expect(pending).toHaveLength(2);
      expect(node.confirmationsSent).toEqual([]);
      pending[1]();
      await node.settle();
      expect(node.confirmationsSent).toEqual([{ value: v.hash, position: { rank: 1, attempt: 0 } }]);
    });

    it('a lock save slower than the finalizing timeout is waited for, not restarted, and the node confirms', async () => {
      const FINALIZING = 20;
      const storage = new InMemorySafetyStorage();
      const node = new RoundChangeNode({ storage, timeouts: { attempt: 20 * T, finalizing: FINALIZING } });
      const v = proposalFrame('n1', 'v');
      const saves: number[] = [];
      await node.startVoting();
      // From the lock on, the disk takes four finalizing timeouts per write.
      storage.hooks.beforeSave = (record) => {
        if (!('lock' in record) || record.lock === null) return;
        saves.push(node.clock.now());
        return new Promise<void>((resolve) => node.clock.setTimeout(resolve, 4 * FINALIZING));
      };
      await lockInAttemptZero(node, v);
      await node.step(5 * FINALIZING);
      expect(saves).toHaveLength(1);
      expect(node.confirmationsSent).toEqual([{ value: v.hash, position: { rank: 1, attempt: 0 } }]);
    });

    it('a lock save that fails keeps the node from confirming; it is tried again on the finalizing timeout', async () => {
      const FINALIZING = 20;
      const storage = new InMemorySafetyStorage();
      const node = new RoundChangeNode({ storage, timeouts: { attempt: 20 * T, finalizing: FINALIZING } });
      const v = proposalFrame('n1', 'v');
      await node.startVoting();
      let failing = true;
      storage.hooks.beforeSave = (record) => {
        if ('lock' in record && record.lock !== null && failing) throw new Error('disk full');
      };
      await lockInAttemptZero(node, v);
      await node.step(3 * FINALIZING);
      expect(node.confirmationsSent).toEqual([]);
      expect(node.engine.getState()).toBe('finalizing');
      failing = false;
      await node.step(FINALIZING + 1);
      expect(node.confirmationsSent).toEqual([{ value: v.hash, position: { rank: 1, attempt: 0 } }]);
    });
  });

  describe('rule 8: bad positions are refused with typed errors and change nothing', () => {
    it('a negative or fractional attempt is refused as malformed and changes nothing', async () => {
      const node = new RoundChangeNode({ timeouts: { attempt: T } });
      const v = proposalFrame('n1', 'v');
      await node.startVoting();
      const before = footprint(node);

      const refusals = [
        refusalOf(() => node.engine.receiveProposal(peer('n1'), v, { attempt: -1 })),
        refusalOf(() => node.engine.receiveVote(peer('n1'), peer('n2'), ballotFor('n2', v), { attempt: 1.5, proposal: v.hash })),
        refusalOf(() => node.engine.receiveNilVote(peer('n2'), nilBallot('n2', 1), { attempt: -2 })),
        refusalOf(() => node.engine.receiveConfirmation(peer('n3'), v, { attempt: 0.5 })),
        refusalOf(() => node.engine.receiveNilConfirmation(peer('n3'), { rank: 1, attempt: -1 })),
      ];
      await node.settle();

      for (const refusal of refusals) expect(refusal).toBeInstanceOf(MalformedMessageError);
      expect(refusals.map((r) => [(r as ConsensusInputError).code, (r as ConsensusInputError).kind])).toEqual([
        ['malformed', 'proposal'],
        ['malformed', 'vote'],
        ['malformed', 'vote'],
        ['malformed', 'confirmation'],
        ['malformed', 'confirmation'],
      ]);
      expect(footprint(node)).toEqual(before);
    });

    it("a validAttempt that is not earlier than the proposal's attempt is refused as malformed and changes nothing", async () => {
      const node = new RoundChangeNode({ timeouts: { attempt: T } });
      const w = proposalFrame('n2', 'w');
      await node.startVoting();
      const before = footprint(node);

      const same = refusalOf(() => node.engine.receiveProposal(peer('n2'), w, { attempt: 1, validAttempt: 1 }));
      const later = refusalOf(() => node.engine.receiveProposal(peer('n2'), w, { attempt: 1, validAttempt: 2 }));
      const atZero = refusalOf(() => node.engine.receiveProposal(peer('n2'), w, { validAttempt: 0 }));
      await node.settle();

      for (const refusal of [same, later, atZero]) {
        expect(refusal).toBeInstanceOf(MalformedMessageError);
        expect(refusal).toMatchObject({ code: 'malformed', kind: 'proposal' });
      }
      expect(footprint(node)).toEqual(before);
    });

    it("a later attempt's proposal from anyone but that attempt's proposer is refused with not_proposer and changes nothing", async () => {
      const node = new RoundChangeNode({ timeouts: { attempt: T } });
      const w = proposalFrame('n1', 'w');
      await node.startVoting();
      const before = footprint(node);

      // Attempt 1's proposer is n2, attempt 2's is n3.
      const refusals = [
        refusalOf(() => node.engine.receiveProposal(peer('n1'), w, { attempt: 1 })),
        refusalOf(() => node.engine.receiveProposal(peer('n2'), w, { attempt: 2 })),
      ];
      await node.settle();

      expect(footprint(node)).toEqual(before);
      for (const refusal of refusals) {
        expect(refusal).toBeInstanceOf(ConsensusInputError);
        expect(refusal).toMatchObject({ code: 'not_proposer', kind: 'proposal' });
      }
    });

    it('a message for an attempt below the window is refused with stale_attempt and changes nothing', async () => {
      const node = new RoundChangeNode({ timeouts: { attempt: T } });
      const v = proposalFrame('n1', 'v');
      await node.startVoting();
      // f + 1 peers at attempt 5 move the node there; the window (4) then starts at attempt 1.
      await node.nilVote('n1', 5);
      await node.nilVote('n2', 5);
      expect(node.engine.getAttempt()).toBe(5);
      const before = footprint(node);

      const refusals = [
        refusalOf(() => node.engine.receiveProposal(peer('n1'), v, { attempt: 0 })),
        refusalOf(() => node.engine.receiveVote(peer('n1'), peer('n3'), ballotFor('n3', v), { attempt: 0, proposal: v.hash })),
        refusalOf(() => node.engine.receiveNilVote(peer('n3'), nilBallot('n3', 1), { attempt: 0 })),
        refusalOf(() => node.engine.receiveConfirmation(peer('n3'), v, { attempt: 0 })),
        refusalOf(() => node.engine.receiveNilConfirmation(peer('n3'), { rank: 1, attempt: 0 })),
      ];
      await node.settle();

      expect(footprint(node)).toEqual(before);
      for (const refusal of refusals) expect(refusal).toBeInstanceOf(ConsensusInputError);
      expect(refusals.map((r) => [(r as ConsensusInputError).code, (r as ConsensusInputError).kind])).toEqual([
        ['stale_attempt', 'proposal'],
        ['stale_attempt', 'vote'],
        ['stale_attempt', 'vote'],
        ['stale_attempt', 'confirmation'],
        ['stale_attempt', 'confirmation'],
      ]);
    });

    it('admit refuses a non-proposer of a later attempt and attempts below the window with their reasons', () => {
      const proposal = (sender: string, attempt: number) => ({
        kind: 'proposal' as const,
        sender,
        rank: 1,
        contentId: 'w',
        attempt,
      });
      const atZero: RoundContext = guardContext({ attempt: 0 });
      expect(admit(atZero, proposal('n1', 1))).toMatchObject({ admitted: false, reason: 'not_proposer' });
      expect(admit(atZero, proposal('n2', 1))).toEqual({ admitted: true, duplicate: false });

      const atFive = guardContext({ attempt: 5 });
      expect(admit(atFive, proposal('n2', 0))).toMatchObject({ admitted: false, reason: 'stale_attempt' });
      expect(admit(atFive, proposal('n2', 1))).toEqual({ admitted: true, duplicate: false });
    });
  });
});

describe('waiting once at the cap (mayExtendAttempt)', () => {
  // n = 4, f = 1: f + 1 = 2. Attempt 5 of 4 s × 2^a is past the 120 s cap.
  const atCap = 5;
  const vote = (sender: string, attempt: number) => ({ [slotKey(1, attempt)]: { [sender]: { contentId: 'v', proposerId: 'n1', nil: false } } }) as unknown as RoundContext['votes'];

  it('runs the timer once more when the attempt is at the cap and only this node was heard in it', () => {
    expect(attemptTimeoutOf(guardContext({ attempt: atCap }))).toBe(DEFAULT_ROUND_TIMEOUTS.attemptMax);
    expect(mayExtendAttempt(guardContext({ attempt: atCap }))).toBe(true);
  });

  it('not twice in one attempt', () => {
    expect(mayExtendAttempt(guardContext({ attempt: atCap, attemptExtended: atCap }))).toBe(false);
    expect(mayExtendAttempt(guardContext({ attempt: atCap + 1, attemptExtended: atCap }))).toBe(true);
  });

  it('not below the cap: growing attempts overlap on their own', () => {
    expect(attemptTimeoutOf(guardContext({ attempt: 2 }))).toBeLessThan(DEFAULT_ROUND_TIMEOUTS.attemptMax);
    expect(mayExtendAttempt(guardContext({ attempt: 2 }))).toBe(false);
  });

  it('not when f + 1 were heard in the attempt, itself included; a vote of another attempt does not count', () => {
    expect(mayExtendAttempt(guardContext({ attempt: atCap, votes: vote('n2', atCap) }))).toBe(false);
    expect(mayExtendAttempt(guardContext({ attempt: atCap, votes: vote('n2', atCap - 1) }))).toBe(true);
  });
});
