// SPEC §2.7, item by item: where this engine must do better than the
// reference (seed 002). Each test says what the reference did and why the
// assertion would fail there. One node, peers played by the test, simulated
// time advanced 1 ms at a time so every instant in a timeline is exact.
import {
  EquivocationError,
  RankOutOfWindowError,
  UnexpectedSenderError,
  type ConsensusInputError,
  type RoundContext,
} from '../../index';
import { Ballot, Batch, Frame, Peer } from '../support/fixtures';
import { FaultHarness } from '../support/faultHarness';
import {
  chainTo,
  proposalOf,
  rejectingFirst,
  throwingEvery,
  untilAborted,
  voteFor,
} from '../support/faultyProviders';
import { advance, advanceUntil, flush, sleep } from '../support/time';

const genesis = Frame.genesis();
const peer = (name: string) => new Peer(name);
const members = ['n0', 'n1', 'n2', 'n3'].map(peer);

/** Runs `receive` and returns the refusal it threw (failing if it accepted). */
function refusal(receive: () => unknown): ConsensusInputError {
  try {
    receive();
  } catch (error) {
    return error as ConsensusInputError;
  }
  throw new Error('expected the message to be refused');
}

function contextOf(h: FaultHarness): RoundContext {
  return h.engine.actor.getSnapshot().context;
}

/** Senders recorded per book at one rank: liveness is kept per rank, the other books per slot (attempt 0 here). */
function sendersAt(h: FaultHarness, rank: number) {
  const ctx = contextOf(h);
  const at = (book: Record<string, Record<string, unknown>>, key: string) => Object.keys(book[key] ?? {}).sort();
  const slot = `${rank}/0`;
  return {
    liveness: at(ctx.liveness, String(rank)),
    proposals: at(ctx.proposals, slot),
    votes: at(ctx.votes, slot),
    confirmations: at(ctx.confirmations, slot),
  };
}

const step = (h: FaultHarness, ms: number) => advance(h.clock, ms, 1);
const reach = (h: FaultHarness, state: string, limitMs = 10_000) =>
  advanceUntil(h.clock, () => h.engine.getState() === state, limitMs, 1);

describe('SPEC §2.7: where this engine does better than the reference', () => {
  it('bounded window: messages beyond active + rankWindow are refused and a flood holds at most window × senders × kinds', () => {
    // Reference: Receive* store any rank in unbounded maps and return nil, so
    // the rank-5 proposal is accepted (no RankOutOfWindowError) and the flood
    // leaves 12 000 messages held instead of 48.
    const h = new FaultHarness({ engineConfig: { rankWindow: 4, members } });

    const beyond = refusal(() => h.engine.receiveProposal(peer('n1'), new Frame(5, 'x', 'tx-5', 'n1')));
    expect(beyond).toBeInstanceOf(RankOutOfWindowError);
    expect(beyond).toMatchObject({ code: 'future_rank', kind: 'proposal', rank: 5, activeRank: 0, rankWindow: 4 });
    expect(h.engine.receiveProposal(peer('n1'), new Frame(4, 'x', 'tx-4', 'n1'))).toBe('accepted');

    const outcomes = new Map<string, number>();
    const count = (outcome: string) => outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    const attempt = (receive: () => unknown) => {
      try {
        count(String(receive()));
      } catch (error) {
        count((error as ConsensusInputError).code);
      }
    };
    for (let rank = 1; rank <= 1_000; rank += 1) {
      for (const sender of ['n1', 'n2', 'n3']) {
        const frame = new Frame(rank, `parent-${rank}`, `tx-${rank}`, sender);
        attempt(() => h.engine.receiveLivenessCheck(peer(sender), new Batch(rank, [`tx-${rank}`])));
        attempt(() => h.engine.receiveProposal(peer(sender), frame));
        attempt(() => h.engine.receiveVote(peer(sender), peer(sender), voteFor(sender, frame)));
        attempt(() => h.engine.receiveConfirmation(peer(sender), frame));
      }
    }
    // n1's rank-4 proposal came in before the flood: its flood copy differs
    // (another parent), which is an equivocation, not a new entry.
    expect(Object.fromEntries(outcomes)).toEqual({ accepted: 47, equivocation: 1, future_rank: 996 * 3 * 4 });
    // 4 ranks × 3 senders × 4 kinds; all at attempt 0, so none is kept as skip evidence.
    expect(h.engine.getHeldMessageCount()).toBe(4 * 3 * 4);
  });

  it('senders outside the prover set: next-rank liveness, proposals and votes for non-provers are refused, and earlier ones dropped', async () => {
    // Reference: Receive* never look at nextProvers, so n3's liveness counts
    // towards minimumProvers (own + n3 = 2 → it proves without hearing from
    // its co-prover n1), and every refusal below is a nil error instead.
    const h = new FaultHarness({
      provers: () => ['n0', 'n1'],
      engineConfig: { members, minimumProvers: 2, livenessThreshold: 2 },
    });
    const n1Frame = proposalOf(genesis, 'n1');
    const n3Frame = proposalOf(genesis, 'n3');
    // Before the provers of rank 1 are known nobody can be judged.
    expect(h.engine.receiveLivenessCheck(peer('n3'), new Batch(1, ['tx-1']))).toBe('accepted');
    expect(h.engine.receiveProposal(peer('n3'), n3Frame)).toBe('accepted');
    expect(h.engine.receiveVote(peer('n3'), peer('n2'), voteFor('n2', n3Frame))).toBe('accepted');
    expect(h.engine.receiveVote(peer('n1'), peer('n3'), voteFor('n3', n1Frame))).toBe('accepted');
    // Four messages (at attempt 0: no skip evidence).
    expect(h.engine.getHeldMessageCount()).toBe(4);

    h.engine.start();
    await reach(h, 'liveness_check');
    await step(h, 20);
    // Learning the provers dropped n3's liveness and proposal and n2's vote
    // for n3; n3's vote for the prover n1 stays (voters need not be provers).
    expect(sendersAt(h, 1)).toEqual({ liveness: ['n0'], proposals: [], votes: ['n3'], confirmations: [] });
    expect(h.engine.getState()).toBe('liveness_check');

    const refusals = [
      refusal(() => h.engine.receiveLivenessCheck(peer('n3'), new Batch(1, ['tx-1']))),
      refusal(() => h.engine.receiveProposal(peer('n2'), proposalOf(genesis, 'n2'))),
      refusal(() => h.engine.receiveVote(peer('n3'), peer('n2'), voteFor('n2', n3Frame))),
    ];
    for (const error of refusals) expect(error).toBeInstanceOf(UnexpectedSenderError);
    expect(refusals.map((e) => [e.code, e.kind, (e as UnexpectedSenderError).sender, e.message])).toEqual([
      ['not_prover', 'liveness', 'n3', 'n3 is not a prover of rank 1'],
      ['not_prover', 'proposal', 'n2', 'n2 is not a prover of rank 1'],
      ['not_prover', 'vote', 'n2', 'n3 is not a prover of rank 1'],
    ]);
    expect(sendersAt(h, 1)).toEqual({ liveness: ['n0'], proposals: [], votes: ['n3'], confirmations: [] });

    // The co-prover's liveness is what starts proving.
    expect(h.engine.receiveLivenessCheck(peer('n1'), new Batch(1, ['tx-1']))).toBe('accepted');
    expect(h.engine.getState()).toBe('proving');
  });

  it('votes compared by identity, not by reference: an equal vote is a duplicate, a different one an EquivocationError', () => {
    // Reference: ReceiveVote compares the stored *VoteT pointer with the new
    // one, so a re-delivered copy of the same vote (a new object) already
    // returns "received conflicting vote" where this test expects 'duplicate'.
    const h = new FaultHarness({ members: ['n0', 'n1', 'n2', 'n3'] });
    const n1Frame = proposalOf(genesis, 'n1');
    const vote = voteFor('n2', n1Frame);
    expect(h.engine.receiveVote(peer('n1'), peer('n2'), vote)).toBe('accepted');
    expect(h.engine.receiveVote(peer('n1'), peer('n2'), vote.clone())).toBe('duplicate');
    expect(h.engine.receiveVote(peer('n1'), peer('n2'), new Ballot(1, 'n2', 'n1', n1Frame.hash))).toBe('duplicate');

    const conflicting = voteFor('n2', proposalOf(genesis, 'n3'));
    const error = refusal(() => h.engine.receiveVote(peer('n3'), peer('n2'), conflicting));
    expect(error).toBeInstanceOf(EquivocationError);
    expect(error).toMatchObject({ code: 'equivocation', kind: 'vote', sender: 'n2', rank: 1 });
    expect(h.errors).toEqual([{ message: 'equivocation by n2', error }]);
    // The first vote stands: it is still a duplicate, the other still a conflict.
    expect(h.engine.receiveVote(peer('n1'), peer('n2'), vote.clone())).toBe('duplicate');
    expect(refusal(() => h.engine.receiveVote(peer('n3'), peer('n2'), conflicting.clone()))).toBeInstanceOf(
      EquivocationError,
    );
    // The vote (at attempt 0: no skip evidence).
    expect(h.engine.getHeldMessageCount()).toBe(1);
  });

  it('leaders picked with the synced state: getNextLeaders sees rank 5 after a sync from 0 to 5, never the pre-sync state', async () => {
    // Reference: loading calls GetNextLeaders(data, …) with `data`, the
    // activeState pointer captured before Synchronize replaced it, so the
    // first prior it sees is rank 0, not 5.
    const chain = chainTo(5);
    const synced: number[] = [];
    const h = new FaultHarness({
      faults: () => ({
        synchronize: async (existing) => {
          synced.push(existing.height);
          return chain[5];
        },
      }),
    });
    h.engine.start();
    await advanceUntil(h.clock, () => h.commits.length === 1, 1_000, 1);

    expect(synced).toEqual([0]);
    // Round 1 after the sync asked for rank 6's provers, round 2 for rank 7's.
    expect(h.log.leaderPriors).toEqual([5, 6]);
    expect(h.commits.map((f) => [f.height, f.parent])).toEqual([[6, chain[5].hash]]);
    expect(h.engine.getActiveRank()).toBe(6);
  });

  it('non-provers do not wait out the proving timeout: proving → voting at the instant proving is entered, and no proof', async () => {
    // Reference: every node whose collected is set calls ProveNextState and
    // the proving timer (120 s) is the only way to publish_timeout, so a
    // non-prover leaves proving 120 s later (and has proved for nothing).
    const h = new FaultHarness({ self: 'n3', provers: () => ['n0', 'n1', 'n2'], engineConfig: { members } });
    expect(h.engine.getStateTime()).toBe(0);
    h.engine.start();
    await reach(h, 'liveness_check');
    await step(h, 40);
    const t = h.clock.now();
    expect(t).toBe(50);

    expect(h.engine.receiveLivenessCheck(peer('n0'), new Batch(1, ['tx-1']))).toBe('accepted');
    await flush();
    expect(h.timeline(t)).toEqual([
      `liveness_check>liveness_check[liveness_check_received]@${t}`,
      `liveness_check>proving[prover_signal]@${t}`,
      `proving>voting[publish_timeout]@${t}`,
    ]);
    expect(h.engine.getState()).toBe('voting');
    expect(h.engine.getStateTime()).toBe(0);
    expect(h.log.proofSignals).toEqual([]);
    expect(h.log.livenessSent).toEqual([]);
  });

  it('one mailbox, timeouts owned by their state instance: a left state’s timer never acts, and events sent while busy keep their order', async () => {
    // Reference: a fired time.AfterFunc sends its event from a detached
    // goroutine, racing the event that left the state, so voting_timeout can
    // land after quorum_reached; and induce_sync/stop sent back to back are
    // two goroutines that may arrive in either order.
    // Two members and no fault tolerated: a quorum is both of them.
    const h = new FaultHarness({
      provers: () => ['n0'],
      members: ['n0', 'n1'],
      faults: (honest) => ({
        finalizeVotes: async (proposals, votes, signal) => {
          await sleep(h.clock, 500, signal);
          return honest.voting.finalizeVotes(proposals, votes, signal);
        },
      }),
    });
    h.engine.start();
    await reach(h, 'voting');
    await flush();
    const enteredVoting = h.enteredAt('voting');
    expect(enteredVoting).toBe(20);
    expect(h.timeline(enteredVoting)).toEqual([
      'proving>publishing[proof_complete]@20',
      'publishing>voting[publish_complete]@20',
      'voting>voting[vote_received]@20',
    ]);

    // One ms before voting's timer is due, the quorum's second vote arrives,
    // and with it n1's confirmation (recorded while finalizing; with this
    // node's own it makes the confirmation quorum that commits).
    await step(h, 999);
    const left = h.clock.now();
    expect(left).toBe(enteredVoting + 999);
    const n0Frame = proposalOf(genesis, 'n0');
    expect(h.engine.receiveVote(peer('n0'), peer('n1'), voteFor('n1', n0Frame), { proposal: n0Frame.hash })).toBe(
      'accepted',
    );
    await flush();
    expect(h.engine.getState()).toBe('finalizing');
    expect(h.engine.receiveConfirmation(peer('n1'), n0Frame)).toBe('accepted');
    await step(h, 600);
    expect(h.timeline(left)).toEqual([
      `voting>voting[vote_received]@${left}`,
      `voting>finalizing[quorum_reached]@${left}`,
      `finalizing>verifying[aggregation_done]@${left + 500}`,
      `verifying>verifying[confirmation_received]@${left + 500}`,
      `verifying>collecting[verification_done]@${left + 500}`,
      `collecting>liveness_check[collection_done]@${left + 500}`,
      `liveness_check>proving[prover_signal]@${left + 500}`,
      `proving>publishing[proof_complete]@${left + 510}`,
      `publishing>voting[publish_complete]@${left + 510}`,
      `voting>voting[vote_received]@${left + 510}`,
    ]);
    expect(h.timeoutEvents()).toEqual([]);

    // Sent from a listener, i.e. while the actor is mid-transition: queued
    // and processed in the order sent (stop first would leave induce_sync
    // unhandled in stopping, and loading would never be entered).
    let stopped: Promise<void> | undefined;
    const unsubscribe = h.engine.addListener((_from, to) => {
      if (to !== 'voting' || stopped) return;
      h.engine.induceSync();
      stopped = h.engine.stop();
    });
    const before = h.transitions.length;
    const rank2Frame = proposalOf(h.commits[0], 'n0');
    expect(h.engine.receiveVote(peer('n0'), peer('n1'), voteFor('n1', rank2Frame), { proposal: rank2Frame.hash })).toBe(
      'accepted',
    );
    await stopped;
    unsubscribe();
    // The vote completes the quorum in the same step (the engine weighs it at once); the
    // listener's two events then come in the order sent.
    expect(h.path(before)).toEqual([
      'voting>voting[vote_received]',
      'voting>finalizing[quorum_reached]',
      'finalizing>loading[induce_sync]',
      'loading>stopping[stop]',
      'stopping>stopped[cleanup_complete]',
    ]);
  });

  it('event-driven progress: rounds finish in simulated milliseconds with 1 s timeouts, and no timer fires', async () => {
    // Reference: a voter that does not echo its own vote
    // (shouldEmitReceiveEventsOnSends false) sends no event after voting, so
    // it looks at the votes it already holds only when voting_timeout
    // re-enters voting 1 s later: the commit would come at ≥ 1 030 ms, not 30.
    // A commit needs a quorum of confirmations (SPEC §2.8); this node's own is
    // not echoed, so its two peers' confirmations, arriving as it confirms, make it.
    const voter = new FaultHarness({
      provers: () => ['n1'],
      members: ['n0', 'n1', 'n2'],
      engineConfig: { shouldEmitReceiveEventsOnSends: false },
    });
    const n1Frame = proposalOf(genesis, 'n1');
    voter.engine.start();
    await reach(voter, 'liveness_check');
    const roundStart = voter.enteredAt('collecting');
    await step(voter, 20 - voter.clock.now());
    expect(voter.engine.receiveLivenessCheck(peer('n1'), new Batch(1, ['tx-1']))).toBe('accepted');
    await step(voter, 5);
    // The quorum's votes come before the proposal they endorse.
    const endorsing = { proposal: n1Frame.hash };
    expect(voter.engine.receiveVote(peer('n1'), peer('n1'), voteFor('n1', n1Frame), endorsing)).toBe('accepted');
    expect(voter.engine.receiveVote(peer('n1'), peer('n2'), voteFor('n2', n1Frame), endorsing)).toBe('accepted');
    await step(voter, 5);
    expect(voter.engine.receiveProposal(peer('n1'), n1Frame)).toBe('accepted');
    await flush();
    expect(voter.engine.getState()).toBe('verifying');
    expect(voter.commits).toEqual([]);
    expect(voter.engine.receiveConfirmation(peer('n1'), n1Frame)).toBe('accepted');
    expect(voter.engine.receiveConfirmation(peer('n2'), n1Frame)).toBe('accepted');
    await flush();
    expect(voter.commits.map((f) => f.hash)).toEqual([n1Frame.hash]);
    expect(voter.commitTimes).toEqual([30]);
    expect(voter.commitTimes[0] - roundStart).toBeLessThanOrEqual(50);
    // Its one *_timeout is §2.4's non-prover skip, raised on entering proving: no timer fired.
    expect(voter.timeline(20)).toEqual([
      'liveness_check>liveness_check[liveness_check_received]@20',
      'liveness_check>proving[prover_signal]@20',
      'proving>voting[publish_timeout]@20',
      // Only the vote that makes the quorum, and each proposal, reach the actor.
      'voting>voting[vote_received]@25',
      'voting>voting[proposal_received]@30',
      'voting>finalizing[quorum_reached]@30',
      'finalizing>verifying[aggregation_done]@30',
      'verifying>verifying[confirmation_received]@30',
      'verifying>collecting[verification_done]@30',
      'collecting>liveness_check[collection_done]@30',
    ]);

    // A lone prover (event-driven in the reference too) pins what a round
    // costs here: exactly its 10 ms proof, nothing else.
    const solo = new FaultHarness({ proofMs: 10 });
    solo.engine.start();
    await advanceUntil(solo.clock, () => solo.commits.length === 5, 1_000, 1);
    expect(solo.commitTimes).toEqual([20, 30, 40, 50, 60]);
    expect(solo.timeoutEvents()).toEqual([]);
  });

  it('stop interrupts proving: stop() aborts a running proveNextState at once, and so does the proving timeout', async () => {
    // Reference: the Proving behaviour runs on the event loop goroutine, so a
    // stop event waits in the channel until ProveNextState returns and its
    // ctx is cancelled only then; the proving timer is armed after the
    // behaviour returns, so it never limits the proof either.
    const signals: AbortSignal[] = [];
    const endlessProof = (_prior: Frame, _collected: Batch, signal: AbortSignal) => {
      signals.push(signal);
      return untilAborted<Frame>(signal);
    };
    const stopped = new FaultHarness({ faults: () => ({ proveNextState: endlessProof }) });
    stopped.engine.start();
    await reach(stopped, 'proving');
    await flush();
    expect(signals).toHaveLength(1);
    expect(signals[0].aborted).toBe(false);
    const now = stopped.clock.now();

    const done = stopped.engine.stop();
    expect(signals[0].aborted).toBe(true);
    expect(stopped.engine.getState()).toBe('stopping');
    await done;
    expect(stopped.engine.getState()).toBe('stopped');
    expect(stopped.clock.now()).toBe(now);

    const timed = new FaultHarness({
      faults: () => ({ proveNextState: endlessProof }),
      engineConfig: { timeouts: { starting: 10, proving: 1_000 } },
    });
    timed.engine.start();
    await reach(timed, 'proving');
    const proving = timed.enteredAt('proving');
    await step(timed, 999);
    expect(signals[1].aborted).toBe(false);
    await step(timed, 1);
    expect(signals[1].aborted).toBe(true);
    expect(timed.timeline(proving + 1)).toEqual([`proving>voting[publish_timeout]@${proving + 1_000}`]);
  });

  it('separable thresholds: minimumProvers, livenessThreshold and proposalThreshold each gate their own step, re-resolved every round', async () => {
    // Reference: one minimumProvers is the leader-list size, the liveness
    // threshold and the proposal threshold at once, fixed at construction:
    // with 3 it would not prove after 2 liveness announcements, and it could
    // not need 1 proposal in round 1 and 2 in round 2.
    const provers = () => ['n0', 'n1', 'n2'];
    let leaderCalls = 0;
    const resolvedFor: number[] = [];
    const h = new FaultHarness({
      provers,
      faults: () => ({
        getNextLeaders: async (prior) => {
          leaderCalls += 1;
          h.log.leaderPriors.push(prior.height);
          return (leaderCalls === 1 ? ['n0', 'n1'] : provers()).map(peer);
        },
      }),
      engineConfig: {
        // n0 carries most of the weight in a crash-only cluster (f = 0), so its
        // own vote and confirmation are a quorum: this test is about thresholds.
        members: [{ id: peer('n0'), weight: 4 }, peer('n1'), peer('n2'), peer('n3')],
        faultTolerance: 0,
        minimumProvers: 3,
        livenessThreshold: 2,
        proposalThreshold: (active) => {
          resolvedFor.push(active.height);
          return active.height === 0 ? 1 : 2;
        },
      },
    });
    h.engine.start();
    await reach(h, 'liveness_check');
    await step(h, 20);
    // Two provers named is fewer than minimumProvers: liveness_check asked again.
    expect(h.log.leaderPriors).toEqual([0, 0]);
    expect(contextOf(h).nextProvers.map((p) => p.identity())).toEqual(['n0', 'n1', 'n2']);
    // Own liveness alone is 1 of 2.
    expect(h.engine.getState()).toBe('liveness_check');
    expect(h.engine.receiveLivenessCheck(peer('n1'), new Batch(1, ['tx-1']))).toBe('accepted');
    expect(h.engine.getState()).toBe('proving');

    // One proposal (its own) is enough to vote in round 1.
    await advanceUntil(h.clock, () => h.commits.length === 1, 100, 1);
    expect(h.log.votesCast.map((v) => [v.height, v.proposer])).toEqual([[1, 'n0']]);
    expect(resolvedFor).toEqual([0, 0, 1]);

    // Round 2: the threshold resolved from frame 1 asks for 2 proposals.
    await reach(h, 'liveness_check');
    expect(h.engine.receiveLivenessCheck(peer('n1'), new Batch(2, ['tx-2']))).toBe('accepted');
    await reach(h, 'voting');
    await step(h, 100);
    expect(h.engine.getState()).toBe('voting');
    expect(h.log.votesCast).toHaveLength(1);
    expect(h.engine.receiveProposal(peer('n1'), proposalOf(h.commits[0], 'n1'))).toBe('accepted');
    await flush();
    expect(h.log.votesCast.map((v) => [v.height, v.proposer])).toEqual([
      [1, 'n0'],
      [2, 'n0'],
    ]);
    expect(h.commits.map((f) => [f.height, f.prover])).toEqual([
      [1, 'n0'],
      [2, 'n0'],
    ]);
  });

  it('failed calls retried by their state’s timeout, and only a sync failure re-enters loading (after the retry delay)', async () => {
    // Reference: a failed Synchronize sends sync_timeout at once, so loading
    // re-enters in a tight loop at the same instant (loading>loading@10, not
    // @1010). A failed finalizeVotes is retried by finalizing's own timeout;
    // it is here to pin that no failure but sync's reaches loading.
    const finalize = new FaultHarness({
      faults: (honest) => ({
        finalizeVotes: rejectingFirst(1, () => new Error('aggregator down'), honest.voting.finalizeVotes),
      }),
    });
    finalize.engine.start();
    await advanceUntil(finalize.clock, () => finalize.commits.length === 1, 2_000, 1);
    expect(finalize.timeline()).toEqual([
      'stopped>starting[start]@0',
      'starting>loading[init_complete]@10',
      'loading>collecting[sync_complete]@10',
      'collecting>liveness_check[collection_done]@10',
      'liveness_check>proving[prover_signal]@10',
      'proving>publishing[proof_complete]@20',
      'publishing>voting[publish_complete]@20',
      'voting>voting[vote_received]@20',
      'voting>finalizing[quorum_reached]@20',
      'finalizing>finalizing[aggregation_timeout]@1020',
      'finalizing>verifying[aggregation_done]@1020',
      // Its own confirmation, echoed, is the quorum of one that commits.
      'verifying>verifying[confirmation_received]@1020',
      'verifying>collecting[verification_done]@1020',
      'collecting>liveness_check[collection_done]@1020',
      'liveness_check>proving[prover_signal]@1020',
    ]);
    expect(finalize.errors.map((e) => [e.message, (e.error as Error).message])).toEqual([
      ['finalizing: finalizeVotes failed', 'aggregator down'],
    ]);

    const sync = new FaultHarness({
      faults: (honest) => ({
        synchronize: rejectingFirst(1, () => new Error('no peers yet'), honest.sync.synchronize),
      }),
    });
    sync.engine.start();
    await advanceUntil(sync.clock, () => sync.commits.length === 1, 2_000, 1);
    expect(sync.timeline().slice(0, 5)).toEqual([
      'stopped>starting[start]@0',
      'starting>loading[init_complete]@10',
      'loading>loading[sync_timeout]@1010',
      'loading>collecting[sync_complete]@1010',
      'collecting>liveness_check[collection_done]@1010',
    ]);
    expect(sync.errors.map((e) => [e.message, (e.error as Error).message])).toEqual([
      ['loading: synchronize failed', 'no peers yet'],
    ]);
    expect(sync.commitTimes).toEqual([1020]);
  });

  it('failed calls retried by their state’s timeout: a collect that rejects once is retried, and the round still finishes', async () => {
    // Reference: a failed Collect leaves collected nil and liveness_check
    // dereferences it (a panic that Close()s the machine). Here the machine
    // survives, but nothing collects again: a prover without collected
    // mutations neither announces nor proves, so a lone prover (or any
    // cluster whose liveness threshold needs it) waits in liveness_check for
    // ever. liveness_check's timeout should retry the collect.
    const collects: number[] = [];
    const h = new FaultHarness({
      faults: (honest) => ({
        collect: rejectingFirst(
          1,
          () => new Error('mempool offline'),
          (signal) => {
            collects.push(h.clock.now());
            return honest.liveness.collect(signal, []);
          },
        ),
      }),
    });
    h.engine.start();
    await step(h, 3_000);

    expect(h.errors.map((e) => [e.message, (e.error as Error).message])).toEqual([
      ['collecting: collect failed', 'mempool offline'],
    ]);
    // Retried no later than liveness_check's first timeout (10 + 1 000), and proved 10 ms after.
    expect(collects.length).toBeGreaterThanOrEqual(1);
    expect(collects[0]).toBeLessThanOrEqual(1_010);
    expect(h.commitTimes[0]).toBe(collects[0] + 10);
    expect(h.commits.map((f) => f.height).slice(0, 1)).toEqual([1]);
    expect(h.path().filter((t) => t.includes('>loading'))).toEqual(['starting>loading[init_complete]']);
  });

  it('a node outside the leader list follows the round as a voter and never loops in loading', async () => {
    // Reference: loading asks GetNextLeaders and sends sync_timeout when this
    // node is not in the list, so n3 re-enters loading for ever and never
    // reaches collecting, let alone commits rank 1.
    // n0 and n3 of three members (f = 0): two is a quorum.
    const h = new FaultHarness({ self: 'n3', provers: () => ['n0'], members: ['n0', 'n1', 'n3'] });
    const n0Frame = proposalOf(genesis, 'n0');
    expect(h.engine.receiveLivenessCheck(peer('n0'), new Batch(1, ['tx-1']))).toBe('accepted');
    expect(h.engine.receiveProposal(peer('n0'), n0Frame)).toBe('accepted');
    expect(h.engine.receiveVote(peer('n0'), peer('n0'), voteFor('n0', n0Frame), { proposal: n0Frame.hash })).toBe(
      'accepted',
    );
    // n0's confirmation and n3's own make the confirmation quorum of two.
    expect(h.engine.receiveConfirmation(peer('n0'), n0Frame)).toBe('accepted');
    h.engine.start();
    await advanceUntil(h.clock, () => h.commits.length === 1, 1_000, 1);
    await step(h, 3_000);

    expect(h.commits.map((f) => f.hash)).toEqual([n0Frame.hash]);
    expect(h.log.votesCast.map((v) => v.identity())).toEqual([voteFor('n3', n0Frame).identity()]);
    expect(h.log.proofSignals).toEqual([]);
    expect(h.path().filter((t) => t.includes('>loading'))).toEqual(['starting>loading[init_complete]']);
    expect(h.path().slice(0, 14)).toEqual([
      'stopped>starting[start]',
      'starting>loading[init_complete]',
      'loading>collecting[sync_complete]',
      'collecting>liveness_check[collection_done]',
      'liveness_check>proving[prover_signal]',
      'proving>voting[publish_timeout]',
      'voting>voting[vote_received]',
      'voting>finalizing[quorum_reached]',
      'finalizing>verifying[aggregation_done]',
      'verifying>verifying[confirmation_received]',
      'verifying>collecting[verification_done]',
      'collecting>liveness_check[collection_done]',
      'liveness_check>liveness_check[liveness_timeout]',
      'liveness_check>liveness_check[liveness_timeout]',
    ]);
    // Rank 2 waits for a prover's liveness, in liveness_check, not loading.
    expect(h.engine.getState()).toBe('liveness_check');
  });

  it('a provider that throws synchronously is an error like any other: reported, and the actor stays alive', async () => {
    // Reference: a panic in a provider unwinds processEvents, whose recover()
    // logs "fatal error encountered" and calls Close(): the machine is
    // stopped for good and no round after it is ever finalized.
    const boom = (call: number) => new Error(`sendProposal crashed (call ${call})`);
    const h = new FaultHarness({
      faults: (honest) => ({ sendProposal: throwingEvery(1, boom, honest.voting.sendProposal) }),
    });
    h.engine.start();
    await advanceUntil(h.clock, () => h.commits.length === 3, 5_000, 1);

    expect(h.engine.actor.getSnapshot().status).toBe('active');
    expect(h.errors.map((e) => [e.message, (e.error as Error).message])).toEqual([
      ['publishing: sendProposal failed', 'sendProposal crashed (call 1)'],
      ['publishing: sendProposal failed', 'sendProposal crashed (call 2)'],
      ['publishing: sendProposal failed', 'sendProposal crashed (call 3)'],
    ]);
    expect(h.engine.getProviderErrorCount()).toBe(3);
    // Each round's publishing ends on its timeout: proof 10 ms + 1 s.
    expect(h.commitTimes).toEqual([1020, 2030, 3040]);
    expect(h.path().filter((t) => t.startsWith('publishing>'))).toEqual([
      'publishing>voting[publish_timeout]',
      'publishing>voting[publish_timeout]',
      'publishing>voting[publish_timeout]',
    ]);
  });
});
