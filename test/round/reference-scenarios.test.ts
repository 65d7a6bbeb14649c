// Honest counterparts of the reference implementation's ten single-node
// scenarios. Each asserts whole transition sequences and exact counts, so a
// skipped step, an extra re-entry or an off-by-one quorum fails the test.
import { createSeededRandom, RankOutOfWindowError, type ReceiveResult } from '../../index';
import { Ballot, Batch, Frame } from '../support/fixtures';
import {
  ballot,
  batch,
  deferred,
  frame,
  peer,
  ScriptedNode,
  thrownBy,
  type TransitionTriple,
} from '../support/scriptedProviders';

/** How the books hold a message: its value and the identity it was admitted under. */
const entry = (value: { identity(): string }) => ({ value, contentId: value.identity() });
/** A proposal's entry also holds the earlier attempt it cites (none at attempt 0). */
const proposalEntry = (value: { identity(): string }) => ({ ...entry(value), validAttempt: null });

const genesis = Frame.genesis();

/** The three triples every started node reports before its first round. */
const BOOT: TransitionTriple[] = [
  ['stopped', 'starting', 'start'],
  ['starting', 'loading', 'init_complete'],
  ['loading', 'collecting', 'sync_complete'],
];

/**
 * collecting → voting for a node that is not a prover of the next rank, once a
 * prover's liveness for that rank is in (see `startAsVoter`).
 */
const TO_VOTING_AS_VOTER: TransitionTriple[] = [
  ['collecting', 'liveness_check', 'collection_done'],
  ['liveness_check', 'proving', 'prover_signal'],
  ['proving', 'voting', 'publish_timeout'],
];

/** Starts a voter with bob's liveness for rank 1 already recorded, and runs it to voting. */
async function startAsVoter(node: ScriptedNode): Promise<void> {
  // Recorded even while stopped: a peer's message does not wait for our round.
  expect(node.engine.receiveLivenessCheck(peer('bob'), batch(1))).toBe('accepted');
  node.engine.start();
  await node.reach('voting');
  expect(node.transitions).toEqual([...BOOT, ...TO_VOTING_AS_VOTER]);
}

describe('1. basic transitions (SPEC §2.2 start, init_complete, sync_complete)', () => {
  it('goes stopped → starting → loading → collecting with exactly those events and nothing in between', async () => {
    const node = new ScriptedNode({ config: { timeouts: { starting: 100 } } });
    const collects = node.hold('collect');

    expect(node.engine.getState()).toBe('stopped');
    expect(node.transitions).toEqual([]);

    node.engine.start();
    expect(node.transitions).toEqual([['stopped', 'starting', 'start']]);

    // The starting timeout is the only way out of starting: one ms early, nothing happens.
    await node.tick(99);
    expect(node.engine.getState()).toBe('starting');
    expect(node.transitions).toEqual([['stopped', 'starting', 'start']]);

    await node.tick(1);
    expect(node.transitions).toEqual(BOOT);
    expect(node.engine.getState()).toBe('collecting');
    expect(node.callsTo('synchronize').map((c) => c.args)).toEqual([[genesis]]);
    expect(collects).toHaveLength(1);
  });
});

describe('2. leader flow (SPEC §2.4 liveness_check, proving)', () => {
  it('the only prover with thresholds 1 goes collecting → liveness_check → proving and proves exactly once', async () => {
    const node = new ScriptedNode({ config: { timeouts: { starting: 10 } } });
    const proofs = node.hold('proveNextState');
    node.engine.start();
    await node.reach('proving');

    expect(node.transitions).toEqual([
      ...BOOT,
      ['collecting', 'liveness_check', 'collection_done'],
      ['liveness_check', 'proving', 'prover_signal'],
    ]);
    const collected = node.context().collected;
    expect(collected).toEqual(batch(1));
    // A proof is slow: waiting most of the proving timeout must not call it again.
    await node.tick(60_000);
    expect(node.engine.getState()).toBe('proving');
    expect(node.callsTo('proveNextState').map((c) => c.args)).toEqual([[genesis, collected]]);
    expect(proofs).toHaveLength(1);

    const decisions = node.hold('decideAndSendVote');
    proofs[0].resolve(frame(1, 'alice'));
    await node.settle();
    expect(node.transitions.slice(BOOT.length + 2)).toEqual([
      ['proving', 'publishing', 'proof_complete'],
      ['publishing', 'voting', 'publish_complete'],
    ]);
    expect(node.context().proposals).toEqual({ '1/0': { alice: proposalEntry(frame(1, 'alice')) } });
    expect(node.callsTo('sendProposal').map((c) => c.args)).toEqual([
      [frame(1, 'alice'), { rank: 1, attempt: 0, validAttempt: null }],
    ]);
    expect(decisions).toHaveLength(1);
  });
});

describe('2b. livenessThreshold 0 (SPEC §2.7: thresholds set apart)', () => {
  it('a prover proves without waiting to hear that its co-provers are alive', async () => {
    const node = new ScriptedNode({ provers: ['alice', 'bob'], config: { livenessThreshold: 0, timeouts: { starting: 10 } } });
    node.hold('proveNextState');
    node.engine.start();
    await node.reach('proving', 50);
    expect(Object.keys(node.context().liveness['1'] ?? {})).not.toContain('bob');
    expect(node.callsTo('proveNextState')).toHaveLength(1);
  });
});

describe('3. external events while collecting (SPEC §2.6)', () => {
  it('records injected liveness and proposals by entry, drops non-provers once provers are known, and reaches voting', async () => {
    const node = new ScriptedNode({ provers: ['bob', 'carol'], otherMembers: ['dave'], config: { timeouts: { starting: 10 } } });
    const collects = node.hold('collect');
    const decisions = node.hold('decideAndSendVote');
    node.engine.start();
    await node.reach('collecting');

    expect(node.engine.receiveLivenessCheck(peer('bob'), batch(1))).toBe('accepted');
    expect(node.engine.receiveLivenessCheck(peer('carol'), batch(1, ['other']))).toBe('accepted');
    expect(node.engine.receiveLivenessCheck(peer('dave'), batch(1))).toBe('accepted');
    expect(node.engine.receiveProposal(peer('carol'), frame(1, 'carol'))).toBe('accepted');

    // Three entries in one rank bucket: counting buckets would say 1.
    const { liveness, proposals } = node.context();
    expect(Object.keys(liveness)).toEqual(['1']);
    expect(Object.keys(liveness['1']).sort()).toEqual(['bob', 'carol', 'dave']);
    // Only what identifies a peer's liveness is kept, not its mutations.
    expect(liveness['1'].carol).toEqual({ contentId: batch(1, ['other']).identity() });
    expect(Object.keys(proposals['1/0'])).toEqual(['carol']);
    // Data events are recorded without a transition while collecting.
    expect(node.transitions).toEqual(BOOT);

    collects[0].resolve(batch(1));
    await node.settle();

    expect(node.transitions).toEqual([...BOOT, ...TO_VOTING_AS_VOTER]);
    // Learning the provers (bob, carol) dropped dave's liveness for their rank.
    expect(Object.keys(node.context().liveness['1']).sort()).toEqual(['bob', 'carol']);
    expect(node.callsTo('proveNextState')).toEqual([]);
    expect(decisions).toHaveLength(1);
    expect([...(node.callsTo('decideAndSendVote')[0].args[0] as Map<string, Frame>).entries()]).toEqual([
      ['carol', frame(1, 'carol')],
    ]);
  });
});

describe('3b. liveness recorded before the provers are known (SPEC §2.4 liveness_check, §2.7 prover set)', () => {
  it('a collect that outlasts the collecting timeout still fetches the provers before proving, and the round commits', async () => {
    const node = new ScriptedNode({ provers: ['bob'], config: { timeouts: { starting: 10, collecting: 200 } } });
    node.hold('collect');
    // bob's liveness for rank 1 arrives early, while nobody knows rank 1's provers yet.
    expect(node.engine.receiveLivenessCheck(peer('bob'), batch(1))).toBe('accepted');
    node.engine.start();
    await node.reach('collecting');
    await node.tick(200);
    expect(node.callsTo('collect')[0].signal.aborted).toBe(true);
    await node.reach('voting');

    // Proving is entered only once the prover set for rank 1 is known. (A
    // listener hears of a transition before the provider calls of the state
    // it entered start: collect, then, in liveness_check, getNextLeaders.)
    expect(node.timeline.slice(node.timeline.indexOf('loading -> collecting [sync_complete]'))).toEqual([
      'loading -> collecting [sync_complete]',
      'call collect',
      'collecting -> liveness_check [collection_done]',
      'call getNextLeaders',
      'liveness_check -> proving [prover_signal]',
      'proving -> voting [publish_timeout]',
    ]);
    expect(node.timeline.indexOf('call getNextLeaders')).toBeLessThan(
      node.timeline.indexOf('liveness_check -> proving [prover_signal]'),
    );
    expect(node.context().nextProversRank).toBe(1);
    expect(node.context().nextProvers).toEqual([peer('bob')]);

    node.hold('collect');
    node.engine.receiveProposal(peer('bob'), frame(1, 'bob'));
    await node.settle();
    expect(node.logger.errors).toEqual([]);
    expect(node.engine.getActiveRank()).toBe(1);
  });
});

describe('4. voting to verifying (SPEC §2.4 voting, finalizing, verifying)', () => {
  it('a peer proposal, vote and confirmation take a voter through finalizing and verifying to a commit, with a quorum of 2 exact at its boundary', async () => {
    // SPEC §2.8: votes lock, and only a quorum of confirmations commits. Two
    // members, alice and bob, tolerate no fault: the engine's quorum is both.
    const node = new ScriptedNode({ provers: ['bob'], members: ['alice', 'bob'], config: { timeouts: { starting: 10 } } });
    expect(node.engine.getMembership()).toMatchObject({ total: 2, faulty: 0, quorum: 2 });
    const commits: Array<{ rank: number; state: Frame; proposer: string | undefined; attempt: number }> = [];
    node.engine.onCommit((c) =>
      commits.push({ rank: c.rank, state: c.state, proposer: c.proposer?.name, attempt: c.attempt }),
    );
    await startAsVoter(node);
    const atVoting = node.transitions.length;

    const proposal = frame(1, 'bob');
    expect(node.engine.receiveProposal(peer('bob'), proposal)).toBe('accepted');
    await node.settle();

    // One vote (our own) is below a quorum of 2: the node stays in voting.
    expect(node.transitions.slice(atVoting)).toEqual([
      ['voting', 'voting', 'proposal_received'],
      ['voting', 'voting', 'vote_received'],
    ]);
    expect(node.engine.getState()).toBe('voting');
    expect(node.context().votes['1/0'].alice.value).toEqual(ballot('alice', proposal));

    expect(
      node.engine.receiveVote(peer('bob'), peer('bob'), ballot('bob', proposal), { proposal: proposal.hash }),
    ).toBe('accepted');
    await node.settle();

    // Two votes lock; the node confirms, and its own confirmation alone is below the quorum.
    expect(node.transitions.slice(atVoting + 2)).toEqual([
      ['voting', 'voting', 'vote_received'],
      ['voting', 'finalizing', 'quorum_reached'],
      ['finalizing', 'verifying', 'aggregation_done'],
      ['verifying', 'verifying', 'confirmation_received'],
    ]);
    expect(node.engine.getState()).toBe('verifying');
    expect(node.callsTo('finalizeVotes')).toHaveLength(1);
    expect(node.callsTo('sendConfirmation').map((c) => c.args)).toEqual([[proposal, { rank: 1, attempt: 0 }]]);
    expect(commits).toEqual([]);

    const collects = node.hold('collect');
    expect(node.engine.receiveConfirmation(peer('bob'), proposal)).toBe('accepted');
    await node.settle();

    expect(node.transitions.slice(atVoting + 6)).toEqual([
      ['verifying', 'verifying', 'confirmation_received'],
      ['verifying', 'collecting', 'verification_done'],
    ]);
    expect(node.callsTo('sendConfirmation')).toHaveLength(1);
    expect(commits).toEqual([{ rank: 1, state: proposal, proposer: 'bob', attempt: 0 }]);
    expect(node.engine.getActiveRank()).toBe(1);
    expect(collects).toHaveLength(1);
  });
});

describe('5. stop (SPEC §2.2 stop, cleanup_complete)', () => {
  it('stop() goes through stopping, aborts in-flight calls, and resolves only once stopped is reached', async () => {
    const cleanup = deferred<void>();
    const node = new ScriptedNode({ config: { timeouts: { starting: 10 }, cleanup: () => cleanup.promise } });
    node.hold('collect');
    node.engine.start();
    await node.reach('collecting');

    let resolved = false;
    const stopped = node.engine.stop().then(() => {
      resolved = true;
    });
    await node.settle();
    expect(node.engine.getState()).toBe('stopping');
    expect(resolved).toBe(false);
    expect(node.callsTo('collect')[0].signal.aborted).toBe(true);

    // Cleanup is still running well within the stopping timeout: still not stopped.
    await node.tick(10_000);
    expect(resolved).toBe(false);
    expect(node.engine.getState()).toBe('stopping');

    cleanup.resolve();
    await stopped;
    expect(resolved).toBe(true);
    expect(node.engine.getState()).toBe('stopped');
    expect(node.transitions).toEqual([
      ...BOOT,
      ['collecting', 'stopping', 'stop'],
      ['stopping', 'stopped', 'cleanup_complete'],
    ]);
  });

  it('a cleanup that never finishes is cut off by the stopping timeout, to the ms', async () => {
    const node = new ScriptedNode({
      config: { timeouts: { starting: 10, stopping: 500 }, cleanup: () => new Promise<void>(() => {}) },
    });
    node.hold('collect');
    node.engine.start();
    await node.reach('collecting');

    let resolved = false;
    const stopped = node.engine.stop().then(() => {
      resolved = true;
    });
    await node.tick(499);
    expect(resolved).toBe(false);
    await node.tick(1);
    await stopped;
    expect(node.transitions.slice(BOOT.length)).toEqual([
      ['collecting', 'stopping', 'stop'],
      ['stopping', 'stopped', 'cleanup_complete'],
    ]);
    // Stopping an already stopped engine resolves at once and changes nothing.
    await node.engine.stop();
    expect(node.transitions).toHaveLength(BOOT.length + 2);
  });
});

describe('6. liveness (SPEC §2.4 liveness_check)', () => {
  const setup = async (shouldEmitReceiveEventsOnSends: boolean) => {
    const node = new ScriptedNode({
      provers: ['alice', 'bob', 'carol'],
      config: { timeouts: { starting: 10 }, livenessThreshold: 3, shouldEmitReceiveEventsOnSends },
    });
    node.hold('proveNextState');
    node.engine.start();
    await node.reach('liveness_check');
    return node;
  };

  it('records exactly two peer entries plus its own at rank active+1, keyed by identity, then proves', async () => {
    const node = await setup(true);
    expect(Object.keys(node.context().liveness['1'])).toEqual(['alice']);
    const atCheck = node.transitions.length;

    expect(node.engine.receiveLivenessCheck(peer('bob'), batch(1, ['b']))).toBe('accepted');
    expect(node.engine.receiveLivenessCheck(peer('carol'), batch(1, ['c']))).toBe('accepted');
    await node.settle();

    const atRank = node.context().liveness['1'];
    expect(Object.keys(node.context().liveness)).toEqual(['1']);
    expect(Object.keys(atRank).sort()).toEqual(['alice', 'bob', 'carol']);
    expect(atRank.bob.contentId).toBe(batch(1, ['b']).identity());
    expect(atRank.carol.contentId).toBe(batch(1, ['c']).identity());
    // Bob's is only written into the books; Carol's completes the quorum and
    // is sent on to the actor, whose re-entry signals the provers.
    expect(node.transitions.slice(atCheck)).toEqual([
      ['liveness_check', 'liveness_check', 'liveness_check_received'],
      ['liveness_check', 'proving', 'prover_signal'],
    ]);
  });

  it('without echoing its own sends, holds exactly the two peers and stays below a threshold of 3', async () => {
    const node = await setup(false);
    expect(node.context().liveness).toEqual({});
    const atCheck = node.transitions.length;

    node.engine.receiveLivenessCheck(peer('bob'), batch(1, ['b']));
    node.engine.receiveLivenessCheck(peer('carol'), batch(1, ['c']));
    await node.settle();

    expect(Object.keys(node.context().liveness['1']).sort()).toEqual(['bob', 'carol']);
    // Neither completes anything: both are written into the books, and the state is not disturbed.
    expect(node.transitions.slice(atCheck)).toEqual([]);
    expect(node.engine.getState()).toBe('liveness_check');
  });
});

describe('7. metrics (SPEC §2.9 getTransitionCount, getStateTime)', () => {
  it('counts exactly the transitions listened to and times the current state on the simulated clock', async () => {
    const node = new ScriptedNode({ config: { timeouts: { starting: 1_000, livenessCheck: 300 }, livenessThreshold: 2 } });
    const syncs = node.hold('synchronize');
    expect(node.engine.getTransitionCount()).toBe(0);
    expect(node.engine.getStateTime()).toBe(0);

    node.engine.start();
    expect(node.engine.getTransitionCount()).toBe(1);
    await node.tick(400);
    expect(node.engine.getStateTime()).toBe(400);
    await node.tick(599);
    expect(node.engine.getStateTime()).toBe(999);
    await node.tick(1);
    expect(node.engine.getState()).toBe('loading');
    expect(node.engine.getStateTime()).toBe(0);
    await node.tick(250);
    expect(node.engine.getStateTime()).toBe(250);
    expect(node.engine.getTransitionCount()).toBe(2);

    syncs[0].resolve(genesis);
    await node.settle();
    // A lone prover below a liveness threshold of 2 waits in liveness_check.
    expect(node.engine.getState()).toBe('liveness_check');
    expect(node.engine.getStateTime()).toBe(0);
    await node.tick(299);
    expect(node.engine.getStateTime()).toBe(299);
    // The timeout re-enters the state: a transition, and the state's clock restarts.
    await node.tick(1);
    expect(node.engine.getStateTime()).toBe(0);
    await node.tick(120);
    expect(node.engine.getStateTime()).toBe(120);

    expect(node.transitions).toEqual([
      ...BOOT,
      ['collecting', 'liveness_check', 'collection_done'],
      ['liveness_check', 'liveness_check', 'liveness_timeout'],
    ]);
    expect(node.engine.getTransitionCount()).toBe(node.transitions.length);
  });
});

describe('8. confirmations (SPEC §2.4 verifying, §2.6)', () => {
  it('records peers’ confirmations while voting, counts them towards the commit, prunes them on commit, and refuses a late one as stale', async () => {
    // A quorum of 3 (alice, bob, carol): bob's and carol's early confirmations
    // are held without deciding anything; with alice's own they commit (SPEC §2.8).
    const node = new ScriptedNode({
      provers: ['bob'],
      members: ['alice', 'bob', 'carol', 'dave'],
      config: { timeouts: { starting: 10 } },
    });
    expect(node.engine.getMembership().quorum).toBe(3);
    await startAsVoter(node);

    const proposal = frame(1, 'bob');
    const ahead = frame(2, 'carol');
    expect(node.engine.receiveConfirmation(peer('bob'), proposal)).toBe('accepted');
    expect(node.engine.receiveConfirmation(peer('carol'), proposal.clone())).toBe('accepted');
    expect(node.engine.receiveConfirmation(peer('carol'), ahead)).toBe('accepted');
    expect(node.engine.receiveConfirmation(peer('bob'), proposal.clone())).toBe('duplicate');
    expect(node.context().confirmations).toEqual({
      '1/0': { bob: entry(proposal), carol: entry(proposal) },
      '2/0': { carol: entry(ahead) },
    });
    await node.settle();
    expect(node.engine.getState()).toBe('voting');

    const collects = node.hold('collect');
    node.engine.receiveProposal(peer('bob'), proposal);
    for (const voter of ['bob', 'carol']) {
      node.engine.receiveVote(peer('bob'), peer(voter), ballot(voter, proposal), { proposal: proposal.hash });
    }
    await node.settle();
    expect(collects).toHaveLength(1);
    expect(node.engine.getActiveRank()).toBe(1);
    expect(node.transitions.slice(-3)).toEqual([
      ['finalizing', 'verifying', 'aggregation_done'],
      ['verifying', 'verifying', 'confirmation_received'],
      ['verifying', 'collecting', 'verification_done'],
    ]);
    // Rank 1 is decided: its confirmations go, rank 2's stay.
    expect(node.context().confirmations).toEqual({ '2/0': { carol: entry(ahead) } });

    const late = thrownBy(() => node.engine.receiveConfirmation(peer('dave'), proposal.clone()));
    expect(late).toBeInstanceOf(RankOutOfWindowError);
    expect(late).toMatchObject({ code: 'stale_rank', kind: 'confirmation', rank: 1, activeRank: 1 });
    expect(node.context().confirmations).toEqual({ '2/0': { carol: entry(ahead) } });
  });
});

describe('9. concurrency: many receives at once (SPEC §2.7 one mailbox, §2.6 first wins)', () => {
  const PEERS = Array.from({ length: 50 }, (_, i) => `p${String(i).padStart(2, '0')}`);

  /** 150 distinct messages (one of each kind per peer) plus 50 repeats sent as fresh clones. */
  function workload(node: ScriptedNode) {
    const { engine } = node;
    const target = frame(1, 'p00');
    const original = PEERS.flatMap((name, i) => {
      const proposalRank = i % 2 === 0 ? 1 : 2;
      return [
        { key: `liveness/${name}`, send: () => engine.receiveLivenessCheck(peer(name), batch(1, [name])) },
        {
          key: `proposal/${name}`,
          send: () => engine.receiveProposal(peer(name), frame(proposalRank, name)),
        },
        {
          key: `vote/${name}`,
          send: () => engine.receiveVote(peer('p00'), peer(name), new Ballot(1, name, 'p00', target.hash)),
        },
      ];
    });
    const repeats = PEERS.map((_, i) => original[i * 3 + (i % 3)]);
    const all = [...original, ...repeats];
    // Interleave originals and repeats in a fixed pseudo-random order.
    const random = createSeededRandom(2024);
    for (let i = all.length - 1; i > 0; i -= 1) {
      const j = random.integer(0, i);
      [all[i], all[j]] = [all[j], all[i]];
    }
    return all;
  }

  const build = async () => {
    const node = new ScriptedNode({ otherMembers: PEERS, config: { timeouts: { starting: 10 } } });
    node.hold('collect');
    node.engine.start();
    await node.reach('collecting');
    return node;
  };

  const expectExactBooks = (node: ScriptedNode, results: Array<{ key: string; result: ReceiveResult }>) => {
    expect(results).toHaveLength(200);
    expect(results.filter((r) => r.result === 'accepted')).toHaveLength(150);
    expect(results.filter((r) => r.result === 'duplicate')).toHaveLength(50);
    // Exactly one acceptance per distinct message: nothing lost, nothing twice.
    const acceptedKeys = results.filter((r) => r.result === 'accepted').map((r) => r.key);
    expect(new Set(acceptedKeys).size).toBe(150);

    const { liveness, proposals, votes } = node.context();
    expect(Object.keys(liveness)).toEqual(['1']);
    expect(Object.keys(liveness['1']).sort()).toEqual(PEERS);
    expect(Object.keys(proposals['1/0']).sort()).toEqual(PEERS.filter((_, i) => i % 2 === 0));
    expect(Object.keys(proposals['2/0']).sort()).toEqual(PEERS.filter((_, i) => i % 2 === 1));
    expect(Object.keys(votes['1/0']).sort()).toEqual(PEERS);
    for (const name of PEERS) {
      expect(liveness['1'][name]).toEqual({ contentId: batch(1, [name]).identity() });
      expect(votes['1/0'][name].contentId).toBe(`${name}:p00:${frame(1, 'p00').hash}`);
    }
    // 150 messages, all at attempt 0: none is kept as skip evidence.
    expect(node.engine.getHeldMessageCount()).toBe(150);
    expect(node.transitions).toEqual(BOOT);
  };

  it('200 calls issued synchronously in one tick: 150 accepted, 50 duplicate, 150 entries', async () => {
    const node = await build();
    const results = workload(node).map(({ key, send }) => ({ key, result: send() }));
    expectExactBooks(node, results);
  });

  it('200 calls each in its own microtask under Promise.all: same exact outcome', async () => {
    const node = await build();
    const results = await Promise.all(
      workload(node).map(({ key, send }) => Promise.resolve().then(() => ({ key, result: send() }))),
    );
    expectExactBooks(node, results);
  });

  it('messages delivered from inside a commit listener: a repeat is a duplicate and a conflicting one an equivocation', async () => {
    // An app that releases messages it buffered for the next rank when a rank commits.
    const node = new ScriptedNode({ provers: ['bob'], otherMembers: ['carol'], config: { timeouts: { starting: 10 } } });
    const outcomes: Array<ReceiveResult | string> = [];
    const next = frame(2, 'carol');
    node.engine.onCommit(() => {
      for (const deliver of [
        () => node.engine.receiveConfirmation(peer('carol'), next),
        () => node.engine.receiveConfirmation(peer('carol'), next.clone()),
        () => node.engine.receiveConfirmation(peer('carol'), frame(2, 'carol', 'different')),
      ]) {
        try {
          outcomes.push(deliver());
        } catch (error) {
          outcomes.push((error as { code: string }).code);
        }
      }
    });
    await startAsVoter(node);
    node.hold('collect');
    node.engine.receiveProposal(peer('bob'), frame(1, 'bob'));
    await node.settle();

    expect(node.engine.getActiveRank()).toBe(1);
    expect(outcomes).toEqual(['accepted', 'duplicate', 'equivocation']);
    expect(node.context().confirmations).toEqual({ '2/0': { carol: entry(next) } });
  });

  it('a message delivered from inside a transition listener is either recorded or refused, never accepted and lost', async () => {
    const node = new ScriptedNode({ provers: ['bob'], otherMembers: ['carol'], config: { timeouts: { starting: 10 } } });
    const outcomes: Array<ReceiveResult | string> = [];
    const late = frame(1, 'bob');
    node.engine.addListener((from, to) => {
      if (from !== 'verifying' || to !== 'collecting') return;
      try {
        outcomes.push(node.engine.receiveConfirmation(peer('carol'), late));
      } catch (error) {
        outcomes.push((error as { code: string }).code);
      }
    });
    await startAsVoter(node);
    node.hold('collect');
    node.engine.receiveProposal(peer('bob'), frame(1, 'bob'));
    await node.settle();

    expect(node.engine.getActiveRank()).toBe(1);
    // The listener reports the move into the next round, whose rank 1 is final: a
    // confirmation for rank 1 is stale there. 'accepted' would claim a record that
    // the machine then drops.
    expect(outcomes).toEqual(['stale_rank']);
    expect(node.context().confirmations).toEqual({});
  });
});

describe('10. panic recovery (SPEC §2.3, §2.7: a provider that throws never kills the actor)', () => {
  it('a synchronous throw and a rejection are each logged, counted, and the round carries on', async () => {
    const syncPanic = new Error('synchronize panicked');
    const proofFailure = new Error('proof rejected');
    let syncCalls = 0;
    const node = new ScriptedNode({
      config: { timeouts: { starting: 10, syncRetry: 200 } },
      handlers: {
        // Not async: the throw happens synchronously inside the engine's call.
        synchronize: ((existing: Frame) => {
          syncCalls += 1;
          if (syncCalls === 1) throw syncPanic;
          return Promise.resolve(existing);
        }) as ScriptedNode['handlers']['synchronize'],
        proveNextState: () => Promise.reject(proofFailure),
      },
    });
    node.hold('decideAndSendVote');
    node.engine.start();
    // Starting reads the (empty) safety record before its timeout can move on.
    await node.settle();
    await node.tick(10);

    expect(node.logger.errors).toEqual([{ message: 'loading: synchronize failed', error: syncPanic }]);
    expect(node.engine.getProviderErrorCount()).toBe(1);
    expect(node.engine.actor.getSnapshot().status).toBe('active');
    expect(node.engine.getState()).toBe('loading');

    // The retry waits its delay, to the ms.
    await node.tick(199);
    expect(syncCalls).toBe(1);
    await node.tick(1);
    expect(syncCalls).toBe(2);

    expect(node.logger.errors).toEqual([
      { message: 'loading: synchronize failed', error: syncPanic },
      { message: 'proving: proveNextState failed', error: proofFailure },
    ]);
    expect(node.engine.getProviderErrorCount()).toBe(2);
    expect(node.transitions).toEqual([
      ['stopped', 'starting', 'start'],
      ['starting', 'loading', 'init_complete'],
      ['loading', 'loading', 'sync_timeout'],
      ['loading', 'collecting', 'sync_complete'],
      ['collecting', 'liveness_check', 'collection_done'],
      ['liveness_check', 'proving', 'prover_signal'],
      // A failed proof moves on to voting at once instead of waiting out 120 s.
      ['proving', 'voting', 'publish_timeout'],
    ]);
    expect(node.engine.getState()).toBe('voting');
    expect(node.engine.actor.getSnapshot().status).toBe('active');
  });

  it('synchronous throws in collect, finalizeVotes and sendConfirmation are reported and the round still commits', async () => {
    const errors = { collect: new Error('collect panicked'), finalize: new TypeError('aggregator panicked'), confirm: 'a string' };
    let finalizeCalls = 0;
    let confirmationCalls = 0;
    const node = new ScriptedNode({
      provers: ['bob'],
      config: { timeouts: { starting: 10, finalizing: 100, verifying: 100 } },
      handlers: {
        collect: (() => {
          throw errors.collect;
        }) as ScriptedNode['handlers']['collect'],
        finalizeVotes: ((proposals: ReadonlyMap<string, Frame>) => {
          finalizeCalls += 1;
          if (finalizeCalls === 1) throw errors.finalize;
          const [prover, state] = [...proposals.entries()][0];
          return Promise.resolve({ state, proposer: peer(prover) });
        }) as ScriptedNode['handlers']['finalizeVotes'],
        sendConfirmation: (() => {
          confirmationCalls += 1;
          if (confirmationCalls === 1) throw errors.confirm;
          return Promise.resolve();
        }) as ScriptedNode['handlers']['sendConfirmation'],
      },
    });
    await startAsVoter(node);
    expect(node.context().collected).toBeNull();

    node.engine.receiveProposal(peer('bob'), frame(1, 'bob'));
    await node.settle();
    expect(node.engine.getState()).toBe('finalizing');

    const collectsBefore = node.callsTo('collect').length;
    node.handlers.collect = () => new Promise<Batch>(() => {});
    // The finalizing timeout re-enters finalizing, which aggregates again and now succeeds.
    await node.tick(100);
    // Its confirmation was never sent, so it is not counted: no commit yet (SPEC §2.8).
    expect(node.engine.getState()).toBe('verifying');
    expect(node.engine.getActiveRank()).toBe(0);
    // The verifying timeout re-enters verifying, which sends the confirmation again; sent, it commits.
    await node.tick(100);
    expect(node.callsTo('sendConfirmation')).toHaveLength(2);
    expect(node.engine.getActiveRank()).toBe(1);
    expect(node.callsTo('collect')).toHaveLength(collectsBefore + 1);
    expect(node.logger.errors).toEqual([
      { message: 'collecting: collect failed', error: errors.collect },
      { message: 'finalizing: finalizeVotes failed', error: errors.finalize },
      { message: 'verifying: sendConfirmation failed', error: errors.confirm },
    ]);
    expect(node.engine.getProviderErrorCount()).toBe(3);
    expect(node.engine.actor.getSnapshot().status).toBe('active');
  });
});
