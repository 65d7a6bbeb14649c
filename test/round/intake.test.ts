// The engine's intake (machines/round/intake.ts): every admitted message is
// written into the round's books at the door, and the round actor is sent a
// message only when a state may act on it. One node, peers played by the
// test, simulated time.
import { createActor } from 'xstate';
import { DEFAULT_ROUND_TIMEOUTS, type RoundContext, type RoundEvent } from '../../index';
import { admit } from '../../guards/admission';
import { createMembership } from '../../guards/quorum';
import { candidateOf, roundMachine } from '../../machines/round.machine';
import { takeIn } from '../../machines/round/intake';
import type { RoundDataEvent } from '../../machines/round.types';
import { Batch, Frame, Peer } from '../support/fixtures';
import { FaultHarness } from '../support/faultHarness';
import { nilVoteOf, proposalOf, voteFor } from '../support/faultyProviders';
import { advanceUntil, flush } from '../support/time';

const genesis = Frame.genesis();
const peer = (name: string) => new Peer(name);
/** n = 7, f = 2: a quorum is 5, skip evidence 3. */
const SEVEN = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6'];

const contextOf = (h: FaultHarness): RoundContext => h.engine.actor.getSnapshot().context;
const reach = (h: FaultHarness, state: string) => advanceUntil(h.clock, () => h.engine.getState() === state, 10_000, 1);

/** A node of seven, not a prover, whose own messages are not echoed: only peers' messages are in its books. */
function voter(): FaultHarness {
  return new FaultHarness({ provers: () => ['n1'], members: SEVEN, engineConfig: { shouldEmitReceiveEventsOnSends: false } });
}

/** The peers' messages the engine sent on to the round actor, as `type from` lines. */
function watchSends(h: FaultHarness): string[] {
  const sent: string[] = [];
  const send = h.engine.actor.send.bind(h.engine.actor);
  h.engine.actor.send = (event: RoundEvent) => {
    if (event.type.endsWith('_received')) sent.push(`${event.type} ${'ids' in event ? event.ids?.sender : ''}`);
    send(event);
  };
  return sent;
}

describe('the intake: peers’ messages go into the books, and to the actor only when a state may act on them', () => {
  it('sends on the liveness that completes the quorum, each proposal, and the vote and confirmation that make a quorum; the rest only waits in the books', async () => {
    const h = voter();
    const frame = proposalOf(genesis, 'n1');
    const endorsing = { proposal: frame.hash };
    h.engine.start();
    await reach(h, 'liveness_check');
    const sent = watchSends(h);

    expect(h.engine.receiveLivenessCheck(peer('n1'), new Batch(1, ['tx-1']))).toBe('accepted');
    await reach(h, 'voting');
    expect(sent).toEqual(['liveness_check_received n1']);

    // Four votes of seven, before the proposal they endorse: no quorum, no step.
    const transitions = h.transitions.length;
    for (const name of ['n2', 'n3', 'n4', 'n5']) expect(h.engine.receiveVote(peer('n1'), peer(name), voteFor(name, frame), endorsing)).toBe('accepted');
    await flush();
    expect(sent).toEqual(['liveness_check_received n1']);
    expect(h.transitions.length).toBe(transitions);
    expect(Object.keys(contextOf(h).votes['1/0']).sort()).toEqual(['n2', 'n3', 'n4', 'n5']);

    // The proposal is sent on: this node votes, and its tally sees the four.
    expect(h.engine.receiveProposal(peer('n1'), frame)).toBe('accepted');
    await advanceUntil(h.clock, () => h.log.votesCast.length > 0, 1_000, 1);
    expect(sent.slice(1)).toEqual(['proposal_received n1']);
    expect(h.engine.getState()).toBe('voting');

    // The fifth vote for the value makes the quorum: sent on, and the node locks.
    expect(h.engine.receiveVote(peer('n1'), peer('n6'), voteFor('n6', frame), endorsing)).toBe('accepted');
    await reach(h, 'verifying');
    expect(sent.slice(2)).toEqual(['vote_received n6']);

    for (const name of ['n1', 'n2', 'n3', 'n4']) expect(h.engine.receiveConfirmation(peer(name), frame)).toBe('accepted');
    await flush();
    expect(sent.slice(3)).toEqual([]);
    expect(h.commits).toEqual([]);
    expect(h.engine.receiveConfirmation(peer('n5'), frame)).toBe('accepted');
    await advanceUntil(h.clock, () => h.commits.length > 0, 1_000, 1);
    expect(sent.slice(3)).toEqual(['confirmation_received n5']);
    expect(h.commits.map((commit) => commit.hash)).toEqual([frame.hash]);
  });

  it('sends on the message that completes f + 1 senders at a later attempt, and the node skips there', async () => {
    const h = voter();
    h.engine.start();
    await reach(h, 'liveness_check');
    h.engine.receiveLivenessCheck(peer('n1'), new Batch(1, ['tx-1']));
    await reach(h, 'voting');
    const sent = watchSends(h);

    for (const name of ['n2', 'n3']) expect(h.engine.receiveNilVote(peer(name), nilVoteOf(name, 1), { attempt: 2 })).toBe('accepted');
    await flush();
    expect({ sent, attempt: h.engine.getAttempt() }).toEqual({ sent: [], attempt: 0 });

    expect(h.engine.receiveNilVote(peer('n4'), nilVoteOf('n4', 1), { attempt: 2 })).toBe('accepted');
    await flush();
    expect({ sent, attempt: h.engine.getAttempt() }).toEqual({ sent: ['vote_received n4'], attempt: 2 });
  });

  it('writes into the books exactly what the machine records from the same messages sent as data events', () => {
    const viaIntake = bareRound();
    const viaEvents = bareRound();
    const frame = proposalOf(genesis, 'n1');
    const again = new Frame(1, genesis.hash, 'tx-1-again', 'n2');
    const ahead = new Frame(2, frame.hash, 'tx-2', 'n1');
    const value = (f: Frame) => `value:${f.identity()}`;
    const vote = (voter: string, f: Frame | null, attempt: number, endorses = f === null ? 'nil' : value(f)): RoundDataEvent => ({
      type: 'vote_received',
      proposer: f === null ? null : peer(f.prover),
      voter: peer(voter),
      vote: f === null ? nilVoteOf(voter, 1) : voteFor(voter, f),
      ids: {
        sender: voter,
        rank: f?.height ?? 1,
        contentId: (f === null ? nilVoteOf(voter, 1) : voteFor(voter, f)).identity(),
        attempt,
        endorses,
        ...(f === null ? {} : { proposerId: f.prover }),
      },
    });
    const proposal = (f: Frame, attempt: number, validAttempt: number | null = null): RoundDataEvent => ({
      type: 'proposal_received',
      peer: peer(f.prover),
      proposal: f,
      ids: { sender: f.prover, rank: f.height, contentId: f.identity(), attempt, validAttempt },
    });
    const confirmation = (sender: string, f: Frame | null, attempt: number): RoundDataEvent => ({
      type: 'confirmation_received',
      peer: peer(sender),
      state: f,
      ids: { sender, rank: f?.height ?? 1, contentId: f?.identity() ?? 'nil', attempt, ...(f === null ? { nil: true as const } : {}) },
    });
    const messages: RoundDataEvent[] = [
      { type: 'liveness_check_received', peer: peer('n1'), collected: null, ids: { sender: 'n1', rank: 1, contentId: 'batch-1', attempt: 0 } },
      proposal(frame, 0),
      proposal(again, 1, 0),
      proposal(ahead, 0),
      ...['n2', 'n3', 'n4'].map((name) => vote(name, frame, 0)),
      vote('n5', frame, 0, 'prover:n1'),
      vote('n6', null, 1),
      // Beyond the attempt window: only noted as evidence.
      vote('n2', null, 9),
      vote('n3', null, 3),
      confirmation('n1', frame, 0),
      confirmation('n3', frame, 0),
      confirmation('n4', null, 1),
      confirmation('n5', ahead, 0),
      // A duplicate and an equivocation change nothing either way.
      vote('n2', frame, 0),
      vote('n2', again, 0),
    ];
    for (const event of messages) {
      const context = viaIntake.getSnapshot().context;
      const candidate = candidateOf(event);
      const admission = admit(context, candidate);
      if (admission.admitted && !admission.duplicate) takeIn(context, event, candidate, admission);
      viaEvents.send(event);
    }
    const books = ({ liveness, proposals, votes, confirmations, attemptsSeen }: RoundContext) => ({
      liveness,
      proposals,
      votes,
      confirmations,
      attemptsSeen,
    });
    const written = books(viaIntake.getSnapshot().context);
    expect(Object.keys(written.votes['1/0']).sort()).toEqual(['n2', 'n3', 'n4', 'n5']);
    expect(written.attemptsSeen['1']).toEqual({ n2: 9, n3: 3, n4: 1, n6: 1 });
    expect(written).toEqual(books(viaEvents.getSnapshot().context));
  });
});

/** A round actor of seven members, started and left in `stopped`: it records peers' messages and nothing else. */
function bareRound() {
  const actor = createActor(roundMachine, {
    input: {
      self: peer('n0'),
      initialState: genesis,
      thresholds: { provers: 1, liveness: 1, proposals: 1 },
      timeouts: DEFAULT_ROUND_TIMEOUTS,
      rankWindow: 4,
      membership: createMembership(SEVEN.map((id) => ({ id, weight: 1 }))),
      shouldEmitReceiveEventsOnSends: false,
      attemptWindow: 4,
    },
  });
  actor.start();
  return actor;
}
