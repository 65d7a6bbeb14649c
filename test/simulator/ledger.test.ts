import { createSeededRandom } from '../../providers/random';
import { EventClock } from '../../simulator/EventClock';
import { LedgerNode, type LedgerEngine } from '../../examples/ledger/LedgerNode';
import { LedgerStore } from '../../examples/ledger/LedgerStore';
import type { LedgerMessage } from '../../examples/ledger/messages';
import { byzantineQuorum, defaultProversPerRank, faultTolerance, judgeProposal, leaderSchedule } from '../../examples/ledger/rules';
import { LedgerFrame, LedgerVote } from '../../examples/ledger/types';
import { MalformedMessageError } from '../../engine/errors';

const members = ['n0', 'n1', 'n2', 'n3'];
const genesis = LedgerFrame.genesis();
const schedule = leaderSchedule(members, 3);
const frameBy = (prover: string, parent = genesis, tag = '0') =>
  LedgerFrame.create(parent.height + 1, parent.hash, prover, [`tx:${prover}:${parent.height + 1}:${tag}`]);

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
  const engine = {
    onCommit: () => () => {},
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
  return { clock, node, sent, received, signal: abort.signal, settle };
}

const votesSent = (sent: { message: LedgerMessage }[]) =>
  sent.filter((s) => s.message.kind === 'vote').map((s) => (s.message as { vote: LedgerVote }).vote.frame);
const skipsSent = (sent: { message: LedgerMessage }[]) =>
  [...new Set(sent.filter((s) => s.message.kind === 'skip').map((s) => (s.message as { prover: string }).prover))];

describe('ledger rules (examples/ledger)', () => {
  it('tolerates f = ⌊(n−1)/3⌋ and needs 2f + 1 votes', () => {
    expect([4, 7, 10, 64].map(faultTolerance)).toEqual([1, 2, 3, 21]);
    expect([4, 7, 10, 64].map(byzantineQuorum)).toEqual([3, 5, 7, 43]);
    expect([1, 4, 7, 10].map(defaultProversPerRank)).toEqual([1, 3, 4, 5]);
  });

  it('rotates the leader schedule by height, highest priority first', () => {
    expect([1, 2, 3, 4].map(schedule)).toEqual([
      ['n1', 'n2', 'n3'],
      ['n2', 'n3', 'n0'],
      ['n3', 'n0', 'n1'],
      ['n0', 'n1', 'n2'],
    ]);
    expect(() => leaderSchedule(members, 5)).toThrow('provers per rank must be within [1, 4]');
  });

  it('judges every way a proposal can be invalid', () => {
    const judge = (frame: unknown, sender = 'n1') => judgeProposal(frame, sender, genesis, schedule);
    expect(judge(frameBy('n1'))).toBe('valid');
    expect(judge({ height: 1 })).toBe('not_a_frame');
    expect(judge(new LedgerFrame(1, genesis.hash, 'n1', ['tx:n1:1:0'], '0'.repeat(16)))).toBe('malformed');
    expect(judge(LedgerFrame.create(2, genesis.hash, 'n1', ['tx:n1:2:0']))).toBe('wrong_height');
    expect(judge(LedgerFrame.create(1, 'f'.repeat(16), 'n1', ['tx:n1:1:0']))).toBe('wrong_parent');
    expect(judge(frameBy('n2'), 'n1')).toBe('wrong_prover');
    expect(judge(frameBy('n0'), 'n0')).toBe('wrong_prover');
    expect(judge(LedgerFrame.create(1, genesis.hash, 'n1', []))).toBe('bad_entries');
    expect(judge(LedgerFrame.create(1, genesis.hash, 'n1', ['DROP TABLE ledger']))).toBe('bad_entries');
  });
});

describe('LedgerNode voting rule', () => {
  it('votes at once for the top-priority prover when its proposal is valid', async () => {
    const { node, sent, signal } = lone();
    const top = frameBy('n1');
    const decision = await node.providers.voting.decideAndSendVote(new Map([['n1', top]]), signal);
    expect(decision.proposer.identity()).toBe('n1');
    expect(decision.vote.identity()).toBe(`vote:1:n0:n1:${top.hash}`);
    expect(votesSent(sent)).toEqual([top.hash, top.hash, top.hash]);
    expect(sent.map((s) => s.to)).toEqual(['n1', 'n2', 'n3']);
  });

  it('asks to skip an invalid top proposal at once, and votes for the next prover once 2f + 1 agree', async () => {
    const { node, sent, signal, settle } = lone();
    const invalid = LedgerFrame.create(1, 'f'.repeat(16), 'n1', ['tx:n1:1:0']);
    const next = frameBy('n2');
    let decided: string | null = null;
    void node.providers.voting
      .decideAndSendVote(new Map([['n1', invalid], ['n2', next]]), signal)
      .then((d) => (decided = d.proposer.identity()));
    await settle();
    expect(skipsSent(sent)).toEqual(['n1']);
    expect(decided).toBeNull();
    expect(node.deliver('n2', { kind: 'skip', rank: 1, prover: 'n1' })).toBe('accepted');
    await settle();
    expect(decided).toBeNull();
    expect(node.deliver('n3', { kind: 'skip', rank: 1, prover: 'n1' })).toBe('accepted');
    await settle();
    expect(decided).toBe('n2');
    expect(votesSent(sent)).toEqual([next.hash, next.hash, next.hash]);
  });

  it('waits patienceMs for a missing top proposal before asking to skip it', async () => {
    const { clock, node, sent, signal } = lone('n0', new LedgerStore(), 100);
    void node.providers.voting.decideAndSendVote(new Map([['n2', frameBy('n2')]]), signal).catch(() => {});
    await clock.runUntil(() => false, 99);
    expect(skipsSent(sent)).toEqual([]);
    await clock.runUntil(() => false, 100);
    expect(skipsSent(sent)).toEqual(['n1']);
  });

  it('votes at most once per height, restarts included: a new node on the same store repeats its vote', async () => {
    const store = new LedgerStore();
    const first = lone('n0', store);
    const a = frameBy('n1');
    await first.node.providers.voting.decideAndSendVote(new Map([['n1', a]]), first.signal);
    const second = lone('n0', store);
    const b = frameBy('n1', genesis, '9');
    const decision = await second.node.providers.voting.decideAndSendVote(new Map([['n1', b]]), second.signal);
    expect(decision.vote.frame).toBe(a.hash);
    expect(votesSent(second.sent)).toEqual([a.hash, a.hash, a.hash]);
  });

  it('counts a quorum of 2f + 1 votes naming one frame, ignoring votes filed under another voter', async () => {
    const { node, signal } = lone();
    const frame = frameBy('n1');
    const vote = (voter: string) => new LedgerVote(1, voter, 'n1', frame.hash);
    const two = new Map([
      ['n0', vote('n0')],
      ['n1', vote('n1')],
      ['n2', vote('n0')],
    ]);
    expect(await node.providers.voting.isQuorum(two, signal)).toBe(false);
    const three = new Map([...two, ['n2', vote('n2')]]);
    expect(await node.providers.voting.isQuorum(three, signal)).toBe(true);
    const finalized = await node.providers.voting.finalizeVotes(new Map([['n1', frame]]), three, signal);
    expect(finalized.state.hash).toBe(frame.hash);
    expect(finalized.proposer.identity()).toBe('n1');
    await expect(node.providers.voting.finalizeVotes(new Map([['n1', frameBy('n1', genesis, '7')]]), three, signal)).rejects.toThrow(
      `a quorum endorses ${frame.hash} but its proposal is not held here`,
    );
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
