import { createSeededRandom } from '../../providers/random';
import { EventClock } from '../../simulator/EventClock';
import { LedgerNode, NIL_FRAME, type LedgerEngine } from '../../examples/ledger/LedgerNode';
import { LedgerStore } from '../../examples/ledger/LedgerStore';
import type { LedgerMessage } from '../../examples/ledger/messages';
import { defaultProversPerRank, faultTolerance, judgeProposal, leaderSchedule } from '../../examples/ledger/rules';
import { createMembership } from '../../guards/quorum';
import { LedgerFrame, LedgerPeer, LedgerVote } from '../../examples/ledger/types';
import type { VoteDecision } from '../../providers/voting';
import { InvalidSignatureError, MalformedMessageError } from '../../engine/errors';
import type { AttemptPosition } from '../../providers/voting';

const members = ['n0', 'n1', 'n2', 'n3'];
const genesis = LedgerFrame.genesis();
const schedule = leaderSchedule(members, 3);
const frameBy = (prover: string, parent = genesis, tag = '0') =>
  LedgerFrame.create(parent.height + 1, parent.hash, prover, parent.time, [`tx:${prover}:${parent.height + 1}:${tag}`]);

/** A ledger node on its own clock, with a stand-in engine and a record of what it sends. */
function lone(self = 'n0', store = new LedgerStore(), patienceMs = 100) {
  const clock = new EventClock();
  const sent: { to: string; message: LedgerMessage }[] = [];
  const node = new LedgerNode({
    self,
    members,
    clock,
    random: createSeededRandom(1),
    send: (to, message) => sent.push({ to, message }),
    store,
    proversPerRank: 3,
    patienceMs,
    syncWaitMs: 50,
  });
  const received: string[] = [];
  const certificates: Array<{ state: string; attempt: number; signers: string[] }> = [];
  const engine = {
    getMembership: () => createMembership(members.map((id) => ({ id, weight: 1 }))),
    receiveCommitCertificate: (state: LedgerFrame, certificate: { attempt: number; signers: string[] }) => {
      certificates.push({ state: state.hash, attempt: certificate.attempt, signers: [...certificate.signers].sort() });
      return 'accepted';
    },
    onCommit: () => () => {},
    onAttemptChange: () => () => {},
    addListener: () => () => {},
    start: () => {},
    getState: () => 'voting',
    getActiveState: () => store.head(),
    induceSync: () => {},
    receiveProposal: (peer: { identity(): string }) => {
      received.push(`proposal from ${peer.identity()}`);
      return 'accepted';
    },
    receiveVote: () => {
      throw new MalformedMessageError('vote', ['vote: must implement identity(), clone() and rank()']);
    },
  } as unknown as LedgerEngine;
  node.attach(engine);
  const abort = new AbortController();
  const settle = async () => {
    await clock.runUntil(() => false, clock.now() + 1_000);
  };
  return { clock, node, sent, received, certificates, signal: abort.signal, settle };
}

const at = (rank: number, attempt: number) => ({ rank, attempt });
/** What the engine hands a ledger's sendVote as the vote's signature, in these tests. */
const ENGINE_SIGNATURE = 'signed by the engine';
/** The ledger's choice, then its send, as the engine runs them when the choice is one its lock allows. */
async function decideAndSend(node: LedgerNode, proposals: Map<string, LedgerFrame>, signal: AbortSignal, position: AttemptPosition) {
  const { voting } = node.providers;
  const decision = await voting.decideVote!(proposals, signal, position);
  const proposal = decision.proposer === null ? null : decision.vote.frame;
  await voting.sendVote!(decision, signal, { ...position, proposal, signature: ENGINE_SIGNATURE });
  return decision;
}
/** Frame hashes of the votes sent (nil votes name `nil`), with their attempts. */
const votesSent = (sent: { message: LedgerMessage }[]) =>
  sent
    .filter((s) => s.message.kind === 'vote' || s.message.kind === 'nil_vote')
    .map((s) => `${s.message.kind === 'nil_vote' ? 'nil' : (s.message as { vote: LedgerVote }).vote.frame}@${String((s.message as { attempt: unknown }).attempt)}`);

describe('LedgerNode voting rule, attempt 0: every scheduled prover proposes', () => {
  it('votes at once for the top-priority prover when its proposal is valid, and says so to every peer', async () => {
    const { node, sent, signal } = lone();
    const top = frameBy('n1');
    const decision = await decideAndSend(node, new Map([['n1', top]]), signal, at(1, 0));
    expect(decision.proposer?.identity()).toBe('n1');
    expect(decision.vote.identity()).toBe(`vote:1:n0:n1:${top.hash}`);
    expect(votesSent(sent)).toEqual(Array(3).fill(`${top.hash}@0`));
    expect(sent.map((s) => s.to)).toEqual(['n1', 'n2', 'n3']);
    expect(sent[0].message).toEqual({
      kind: 'vote',
      proposer: new LedgerPeer('n1'),
      voter: new LedgerPeer('n0'),
      vote: decision.vote,
      attempt: 0,
      proposal: top.hash,
      signature: expect.any(String),
    });
    // The signature is the engine's, carried as it was handed over.
    expect((sent[0].message as { signature: string }).signature).toBe(ENGINE_SIGNATURE);
    expect(node.stats).toMatchObject({ votes: 1, nilVotes: 0 });
  });

  it('waits patienceMs for a missing top proposal, then settles for the next prover’s', async () => {
    const { clock, node, sent, signal } = lone('n0', new LedgerStore(), 100);
    const next = frameBy('n2');
    let decided: string | null | undefined;
    void decideAndSend(node, new Map([['n2', next]]), signal, at(1, 0)).then((d) => (decided = d.proposer?.identity() ?? null));
    await clock.runUntil(() => false, 99);
    expect(decided).toBeUndefined();
    expect(votesSent(sent)).toEqual([]);
    await clock.runUntil(() => false, 100);
    expect(decided).toBe('n2');
    expect(votesSent(sent)).toEqual(Array(3).fill(`${next.hash}@0`));
  });

  it('votes for a higher-priority proposal that arrives while it waits', async () => {
    const { clock, node, sent, signal, received } = lone('n0', new LedgerStore(), 100);
    const top = frameBy('n1');
    let decided: string | null | undefined;
    void decideAndSend(node, new Map([['n2', frameBy('n2')]]), signal, at(1, 0)).then((d) => (decided = d.proposer?.identity() ?? null));
    await clock.runUntil(() => false, 50);
    expect(decided).toBeUndefined();
    expect(node.deliver('n1', { kind: 'proposal', peer: new LedgerPeer('n1'), proposal: top, attempt: 0, validAttempt: null })).toBe('accepted');
    expect(received).toEqual(['proposal from n1']);
    await clock.runUntil(() => false, 51);
    expect(decided).toBe('n1');
    expect(votesSent(sent)).toEqual(Array(3).fill(`${top.hash}@0`));
  });

  it('never votes for an invalid top proposal: it waits out that prover’s patience and votes for the next', async () => {
    const { clock, node, sent, signal } = lone('n0', new LedgerStore(), 100);
    const invalid = LedgerFrame.create(1, 'f'.repeat(16), 'n1', 0, ['tx:n1:1:0']);
    const next = frameBy('n2');
    let decided: string | null | undefined;
    void decideAndSend(node, new Map([['n1', invalid], ['n2', next]]), signal, at(1, 0)).then((d) => (decided = d.proposer?.identity() ?? null));
    await clock.runUntil(() => false, 100);
    expect(decided).toBe('n2');
    expect(votesSent(sent)).toEqual(Array(3).fill(`${next.hash}@0`));
  });

  it('sends a nil vote once every prover’s patience ran out with nothing valid', async () => {
    const { clock, node, sent, signal } = lone('n0', new LedgerStore(), 100);
    const invalid = LedgerFrame.create(1, genesis.hash, 'n1', 0, []);
    let decision: VoteDecision<LedgerVote, LedgerPeer> | undefined;
    void decideAndSend(node, new Map([['n1', invalid]]), signal, at(1, 0)).then((d) => (decision = d));
    // Three provers at 100 ms each.
    await clock.runUntil(() => false, 299);
    expect(decision).toBeUndefined();
    await clock.runUntil(() => false, 300);
    expect(decision?.proposer).toBeNull();
    expect(decision?.vote).toEqual(new LedgerVote(1, 'n0', '', NIL_FRAME));
    expect(sent.map((s) => s.message)).toEqual(Array(3).fill({ kind: 'nil_vote', voter: new LedgerPeer('n0'), vote: decision!.vote, attempt: 0, signature: ENGINE_SIGNATURE }));
    expect(node.stats).toMatchObject({ votes: 0, nilVotes: 1 });
  });

  it('sends a nil vote at once when the engine offers nothing (its lock allows no proposal)', async () => {
    const { node, sent, signal } = lone();
    const decision = await decideAndSend(node, new Map(), signal, at(1, 0));
    expect(decision.proposer).toBeNull();
    expect(votesSent(sent)).toEqual(Array(3).fill('nil@0'));
  });
});

describe('LedgerNode voting rule, later attempts: only the offered proposal', () => {
  it('votes at once for the offered proposal when it is valid, without waiting for higher-priority provers', async () => {
    const { node, sent, signal } = lone();
    // Attempt 2's proposer at height 1 is schedule(1)[2] = n3; n1 and n2 have higher priority but are not awaited.
    const offered = frameBy('n3');
    const decision = await decideAndSend(node, new Map([['n3', offered]]), signal, at(1, 2));
    expect(decision.proposer?.identity()).toBe('n3');
    expect(votesSent(sent)).toEqual(Array(3).fill(`${offered.hash}@2`));
  });

  it('sends a nil vote when offered nothing, or when the offered proposal is invalid', async () => {
    const empty = lone();
    expect((await decideAndSend(empty.node, new Map(), empty.signal, at(1, 1))).proposer).toBeNull();
    expect(votesSent(empty.sent)).toEqual(Array(3).fill('nil@1'));

    const invalid = lone();
    const wrongParent = LedgerFrame.create(1, 'f'.repeat(16), 'n2', 0, ['tx:n2:1:0']);
    const decision = await decideAndSend(invalid.node, new Map([['n2', wrongParent]]), invalid.signal, at(1, 1));
    expect(decision.proposer).toBeNull();
    expect(votesSent(invalid.sent)).toEqual(Array(3).fill('nil@1'));
    expect(invalid.node.stats).toMatchObject({ votes: 0, nilVotes: 1 });
  });

  it('ignores proposals it saw but was not offered: the engine’s lock decides what may be voted for', async () => {
    const { node, sent, signal } = lone();
    const proposal = frameBy('n2');
    node.deliver('n2', { kind: 'proposal', peer: new LedgerPeer('n2'), proposal, attempt: 1, validAttempt: null });
    const decision = await decideAndSend(node, new Map(), signal, at(1, 1));
    expect(decision.proposer).toBeNull();
    expect(votesSent(sent)).toEqual(Array(3).fill('nil@1'));
  });

  it('test-only ignore-locks rule: votes for the attempt proposer’s proposal even when the engine offers none, and counts that vote itself', async () => {
    const clock = new EventClock();
    const sent: { to: string; message: LedgerMessage }[] = [];
    const counted: unknown[][] = [];
    const node = new LedgerNode({ self: 'n0', members, clock, random: createSeededRandom(1), send: (to, message) => sent.push({ to, message }), proversPerRank: 3, unsafeRule: 'ignore-locks' });
    const store = node.store;
    node.attach({
      onCommit: () => () => {},
      onAttemptChange: () => () => {},
      addListener: () => () => {},
      getActiveState: () => store.head(),
      receiveProposal: () => 'accepted',
      receiveVote: (...args: unknown[]) => counted.push(args),
    } as unknown as LedgerEngine);
    const proposal = frameBy('n2');
    node.deliver('n2', { kind: 'proposal', peer: new LedgerPeer('n2'), proposal, attempt: 1, validAttempt: null });
    // Decided and sent by the ledger itself: an engine sends no vote its lock forbids.
    const decision = await node.providers.voting.decideVote!(new Map(), new AbortController().signal, at(1, 1));
    expect(decision.proposer?.identity()).toBe('n2');
    expect(votesSent(sent)).toEqual(Array(3).fill(`${proposal.hash}@1`));
    expect(counted).toEqual([[new LedgerPeer('n2'), new LedgerPeer('n0'), decision.vote, { attempt: 1, proposal: proposal.hash }]]);
  });
});

describe('LedgerNode votes, quorums and finalization', () => {
  it('votes at most once per height and attempt, restarts included: a new node on the same store repeats its vote', async () => {
    const store = new LedgerStore();
    const first = lone('n0', store);
    const a = frameBy('n1');
    await decideAndSend(first.node, new Map([['n1', a]]), first.signal, at(1, 0));
    const second = lone('n0', store);
    const b = frameBy('n1', genesis, '9');
    const decision = await decideAndSend(second.node, new Map([['n1', b]]), second.signal, at(1, 0));
    expect(decision.vote.frame).toBe(a.hash);
    expect(votesSent(second.sent)).toEqual(Array(3).fill(`${a.hash}@0`));
    expect(second.node.stats.votes).toBe(0);
    // A new attempt is a new vote.
    const later = frameBy('n2');
    const next = await decideAndSend(second.node, new Map([['n2', later]]), second.signal, at(1, 1));
    expect(next.vote.frame).toBe(later.hash);
    expect(store.voteAt(1, 0)?.frame).toBe(a.hash);
    expect(store.voteAt(1, 1)?.frame).toBe(later.hash);
  });

  it('checks no signature and counts no quorum itself: certificates and lock proofs go to the engine as they came', () => {
    const { node, certificates } = lone();
    const frame = frameBy('n1');
    const certificate = { rank: 1, attempt: 0, valueDigest: 'd'.repeat(64), signers: ['n1', 'n2', 'n3'], signatures: ['a', 'b', 'c'] };
    expect(node.deliver('n2', { kind: 'certificate', state: frame, certificate })).toBe('accepted');
    expect(certificates).toEqual([{ state: frame.hash, attempt: 0, signers: ['n1', 'n2', 'n3'] }]);
    const proofs: unknown[] = [];
    const engine = (node as unknown as { engine: Record<string, unknown> }).engine;
    engine.receiveLockProof = (proof: unknown) => {
      proofs.push(proof);
      throw new InvalidSignatureError('vote', 'n3', "n3's signature does not verify");
    };
    const proof = { rank: 1, attempt: 0, value: frame.hash, voters: ['n1', 'n2', 'n3'], signatures: ['a', 'b', 'c'] };
    // The engine's refusal of a bad signature is counted as a forgery.
    expect(node.deliver('n2', { kind: 'lock_proof', proof })).toBe('forged');
    expect(proofs).toEqual([proof]);
    expect(node.stats.forged).toBe(1);
  });

  it('test-only commit-on-votes rule: confirming hands the engine the voters behind the lock as a commit certificate', async () => {
    const { node, certificates, signal } = lone();
    const broken = new LedgerNode({ self: 'n0', members, clock: new EventClock(), random: createSeededRandom(1), send: () => {}, unsafeRule: 'commit-on-votes' });
    broken.attach((node as unknown as { engine: LedgerEngine }).engine);
    const frame = frameBy('n1');
    for (const voter of ['n1', 'n2']) {
      broken.deliver(voter, { kind: 'vote', proposer: new LedgerPeer('n1'), voter: new LedgerPeer(voter), vote: new LedgerVote(1, voter, 'n1', frame.hash), attempt: 0, proposal: frame.hash });
    }
    await decideAndSend(broken, new Map([['n1', frame]]), signal, at(1, 0));
    await broken.providers.voting.sendConfirmation(frame, signal, at(1, 0));
    expect(certificates).toEqual([{ state: frame.hash, attempt: 0, signers: ['n0', 'n1', 'n2'] }]);
    // The intact rule confirms without handing anything to its engine.
    await node.providers.voting.sendConfirmation(frame, signal, at(1, 0));
    expect(certificates).toHaveLength(1);
  });

  it('finalizes the locked proposal the engine hands over, and refuses one that is invalid here', async () => {
    const { node, signal } = lone();
    const frame = frameBy('n1');
    const votes = new Map(['n0', 'n1', 'n2'].map((voter) => [voter, new LedgerVote(1, voter, 'n1', frame.hash)]));
    const finalized = await node.providers.voting.finalizeVotes(new Map([['n1', frame]]), votes, signal);
    expect(finalized.state.hash).toBe(frame.hash);
    expect(finalized.proposer.identity()).toBe('n1');
    const stale = LedgerFrame.create(1, 'f'.repeat(16), 'n1', 0, ['tx:n1:1:0']);
    await expect(node.providers.voting.finalizeVotes(new Map([['n1', stale]]), votes, signal)).rejects.toThrow(
      `the quorum's frame ${stale.hash} is invalid here (wrong_parent)`,
    );
    await expect(node.providers.voting.finalizeVotes(new Map(), votes, signal)).rejects.toThrow('no locked proposal to finalize');
  });

  it('sends confirmations and nil confirmations with the attempt they belong to', async () => {
    const { node, sent, signal } = lone();
    const frame = frameBy('n1');
    await node.providers.voting.sendConfirmation(frame, signal, at(1, 2));
    await node.providers.voting.sendNilConfirmation!(at(1, 3), signal);
    const self = new LedgerPeer('n0');
    // Matched, not equal: confirmations may carry more (a signature) than these fields.
    expect(sent.map((s) => s.message)).toMatchObject([
      ...Array(3).fill({ kind: 'confirmation', peer: self, state: frame, attempt: 2 }),
      ...Array(3).fill({ kind: 'nil_confirmation', peer: self, rank: 1, attempt: 3 }),
    ]);
  });
});

describe('LedgerNode transport and sync', () => {
  it('drops a message whose claimed sender is not the link it came over, and passes garbage on to the engine', () => {
    const { node, received } = lone();
    expect(node.deliver('n2', { kind: 'proposal', peer: { identity: () => 'n1', clone() {}, rank: () => 0 }, proposal: frameBy('n1') })).toBe(
      'forged',
    );
    expect(node.deliver('n2', { kind: 'vote', proposer: null, voter: 42, vote: {} })).toBe('malformed');
    expect(node.deliver('n2', 'not a message')).toBe('ignored');
    expect(node.stats.forged).toBe(1);
    expect(received).toEqual([]);
  });

  it('answers a sync request with its finalized frames above the asked height', () => {
    const store = new LedgerStore();
    const one = frameBy('n1');
    const two = frameBy('n2', one);
    store.append(one);
    store.append(two);
    const { node, sent } = lone('n0', store);
    expect(node.deliver('n3', { kind: 'sync_request', id: 5, after: 1 })).toBe('answered');
    expect(sent).toHaveLength(1);
    expect(sent[0].to).toBe('n3');
    expect(sent[0].message).toMatchObject({ kind: 'sync_response', id: 5 });
    expect(((sent[0].message as { frames: LedgerFrame[] }).frames).map((f) => f.hash)).toEqual([two.hash]);
  });

  it('adopts a synced frame only when f + 1 peers report it, so one liar cannot rewrite the ledger', async () => {
    const { node, sent, signal, settle } = lone();
    const real = frameBy('n1');
    const forged = frameBy('n1', genesis, '5');
    let synced: LedgerFrame | null = null;
    void node.providers.sync.synchronize(genesis, signal).then((frame) => (synced = frame));
    await Promise.resolve();
    const request = sent.find((s) => s.message.kind === 'sync_request')!.message as { id: number };
    node.deliver('n3', { kind: 'sync_response', id: request.id, frames: [forged] });
    node.deliver('n1', { kind: 'sync_response', id: request.id, frames: [real] });
    node.deliver('n2', { kind: 'sync_response', id: request.id, frames: [real] });
    await settle();
    expect(synced!.hash).toBe(real.hash);
    expect(node.stats.syncRequests).toBe(1);
  });

  it('keeps its state when the peers disagree or too few answer', async () => {
    const { node, sent, signal, settle } = lone();
    let synced: LedgerFrame | null = null;
    void node.providers.sync.synchronize(genesis, signal).then((frame) => (synced = frame));
    await Promise.resolve();
    const request = sent.find((s) => s.message.kind === 'sync_request')!.message as { id: number };
    node.deliver('n3', { kind: 'sync_response', id: request.id, frames: [frameBy('n1', genesis, '5')] });
    node.deliver('n1', { kind: 'sync_response', id: request.id, frames: [frameBy('n1')] });
    await settle();
    expect(synced!.hash).toBe(genesis.hash);
  });
});
