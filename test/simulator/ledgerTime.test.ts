import { createSeededRandom } from '../../providers/random';
import { EventClock } from '../../simulator/EventClock';
import { LedgerNode, type LedgerEngine } from '../../examples/ledger/LedgerNode';
import { LedgerStore } from '../../examples/ledger/LedgerStore';
import { ledgerCodec } from '../../examples/ledger/codec';
import type { LedgerMessage } from '../../examples/ledger/messages';
import { attemptProposers, DEFAULT_MAX_CLOCK_DRIFT_MS, frameTimeAfter, judgeProposal, leaderSchedule } from '../../examples/ledger/rules';
import { LedgerBatch, LedgerFrame } from '../../examples/ledger/types';
import { createMembership } from '../../guards/quorum';
import { SafetyChecker } from '../../simulator/SafetyChecker';

const members = ['n0', 'n1', 'n2', 'n3'];
const genesis = LedgerFrame.genesis();
const frameAt = (prover: string, time: number, parent = genesis, tag = '0') =>
  LedgerFrame.create(parent.height + 1, parent.hash, prover, time, [`tx:${prover}:${parent.height + 1}:${tag}`]);

/** A ledger node at `head` on its own clock, with a stand-in engine. */
function node(head: LedgerFrame = genesis, options: { maxClockDriftMs?: number } = {}) {
  const clock = new EventClock();
  const store = new LedgerStore(head);
  const sent: LedgerMessage[] = [];
  const ledger = new LedgerNode({
    self: 'n0',
    members,
    clock,
    random: createSeededRandom(1),
    send: (_to, message) => sent.push(message),
    store,
    proversPerRank: 3,
    patienceMs: 100,
    syncWaitMs: 50,
    proofMs: { min: 10, max: 10 },
    ...options,
  });
  ledger.attach({
    getMembership: () => createMembership(members.map((id) => ({ id, weight: 1 }))),
    onCommit: () => () => {},
    onAttemptChange: () => () => {},
    addListener: () => () => {},
    getActiveState: () => store.head(),
  } as unknown as LedgerEngine);
  const signal = new AbortController().signal;
  /** The proposer the node votes for when offered `frame` by `prover` in `attempt` (null: a nil vote). */
  const voteOn = async (prover: string, frame: LedgerFrame, attempt: number) => {
    const decision = await ledger.providers.voting.decideVote!(new Map([[prover, frame]]), signal, { rank: frame.height, attempt });
    return decision.proposer === null ? null : decision.vote.frame;
  };
  /** Advances this node's clock to `time`. */
  const advance = (time: number) => clock.runUntil(() => false, time);
  /** The frame the node proves on `parent`, its 10 ms proof taken on its clock. */
  const prove = async (parent: LedgerFrame) => {
    let frame: LedgerFrame | undefined;
    void ledger.providers.leader.proveNextState(parent, new LedgerBatch(parent.height + 1, 'n0', [`tx:n0:${parent.height + 1}:0`]), signal).then((f) => (frame = f));
    await advance(clock.now() + 10);
    return frame!;
  };
  return { clock, ledger, sent, signal, voteOn, advance, prove };
}

describe("a frame's time is part of the frame", () => {
  it('is in the hash: the same frame with another time has another hash, and a changed time is not well-formed', () => {
    const frame = frameAt('n1', 1_000);
    expect(frame.isWellFormed()).toBe(true);
    expect(frameAt('n1', 1_001).hash).not.toBe(frame.hash);
    const retimed = new LedgerFrame(frame.height, frame.parent, frame.prover, 1_001, frame.entries, frame.hash);
    expect(retimed.isWellFormed()).toBe(false);
    expect(judgeProposal(retimed, 'n1', genesis, () => ['n1'])).toBe('malformed');
  });

  it('is a safe non-negative integer, or the frame is not well-formed and the codec refuses it', () => {
    expect(genesis.time).toBe(0);
    for (const time of [-1, 1.5, Number.NaN, 2 ** 60]) {
      const frame = LedgerFrame.create(1, genesis.hash, 'n1', time, ['tx:n1:1:0']);
      expect(frame.isWellFormed()).toBe(false);
      expect(() => ledgerCodec.state.decode({ ...frame, time })).toThrow(/time must be a non-negative integer/);
    }
    const { time, ...timeless } = frameAt('n1', 5);
    expect(time).toBe(5);
    expect(() => ledgerCodec.state.decode(timeless)).toThrow(/time must be a non-negative integer/);
    const copy = ledgerCodec.state.decode(JSON.parse(JSON.stringify(frameAt('n1', 5))));
    expect(copy.time).toBe(5);
    expect(copy.isWellFormed()).toBe(true);
  });
});

describe('the prover stamps its frame with its clock, never before the parent', () => {
  it('whole milliseconds of its clock, or the parent’s time when that is later', () => {
    expect(frameTimeAfter(genesis, 1_234.9)).toBe(1_234);
    expect(frameTimeAfter(frameAt('n1', 5_000), 1_234.9)).toBe(5_000);
  });

  it('proveNextState reads the clock when it builds the frame, once the proof is done', async () => {
    const { advance, prove } = node();
    await advance(2_500);
    const frame = await prove(genesis);
    expect(frame.time).toBe(2_510);
    expect(frame.isWellFormed()).toBe(true);
  });

  it('keeps the parent’s time when the parent’s prover ran ahead of this clock', async () => {
    const parent = frameAt('n1', 9_000);
    const { prove } = node(parent);
    expect((await prove(parent)).time).toBe(9_000);
  });
});

describe('a voter judges the time of a proposal before voting for it', () => {
  it('does not vote for a frame dated before its parent', async () => {
    const parent = frameAt('n1', 5_000);
    const { voteOn, advance } = node(parent);
    await advance(6_000);
    const early = frameAt('n2', 4_999, parent);
    expect(judgeProposal(early, 'n2', parent, () => members)).toBe('time_before_parent');
    expect(await voteOn('n2', early, 1)).toBeNull();
  });

  it('does not vote for a frame more than maxClockDriftMs ahead of its clock', async () => {
    const { voteOn, advance } = node();
    await advance(10_000);
    const ahead = frameAt('n2', 10_000 + DEFAULT_MAX_CLOCK_DRIFT_MS + 1);
    expect(await voteOn('n2', ahead, 1)).toBeNull();
  });

  it('votes for a frame ahead of its clock by the drift bound at most, or behind it', async () => {
    const { voteOn, advance } = node();
    await advance(10_000);
    const edge = frameAt('n2', 10_000 + DEFAULT_MAX_CLOCK_DRIFT_MS);
    expect(await voteOn('n2', edge, 1)).toBe(edge.hash);
    const behind = frameAt('n3', 3_000, genesis, '1');
    expect(await voteOn('n3', behind, 2)).toBe(behind.hash);
  });

  it('takes its drift bound from maxClockDriftMs', async () => {
    const { voteOn, advance } = node(genesis, { maxClockDriftMs: 50 });
    await advance(10_000);
    expect(await voteOn('n2', frameAt('n2', 10_051), 1)).toBeNull();
    const within = frameAt('n3', 10_050, genesis, '1');
    expect(await voteOn('n3', within, 2)).toBe(within.hash);
    expect(() => node(genesis, { maxClockDriftMs: -1 })).toThrow(RangeError);
  });

  it('in attempt 0, votes for a prover’s frame dated ahead once its own clock catches up, within that prover’s patience', async () => {
    const { ledger, signal, advance } = node();
    const top = frameAt('n1', DEFAULT_MAX_CLOCK_DRIFT_MS + 60);
    let chosen: string | null | undefined;
    void ledger.providers.voting.decideVote!(new Map([['n1', top]]), signal, { rank: 1, attempt: 0 }).then((d) => (chosen = d.proposer?.identity() ?? null));
    await advance(99);
    expect(chosen).toBeUndefined();
    // n1's patience runs out at 100 ms, by when its frame is within the bound.
    await advance(100);
    expect(chosen).toBe('n1');
  });

  it('still votes for a frame locked in an earlier attempt and re-proposed much later with its original time', async () => {
    const { voteOn, advance } = node();
    await advance(1_000);
    // Proved in attempt 0 at 1,000 ms; the cluster stalls for a minute, then attempt 5's proposer re-proposes it.
    const locked = frameAt('n1', 1_000);
    expect(await voteOn('n1', locked, 0)).toBe(locked.hash);
    await advance(61_000);
    expect(await voteOn('n1', locked, 5)).toBe(locked.hash);
  });
});

describe('frames already agreed on are held to the parent’s time, not to the drift bound', () => {
  it('finalizes the quorum’s frame however far ahead of its clock, but not one dated before its parent', async () => {
    const parent = frameAt('n1', 5_000);
    const { ledger, signal } = node(parent);
    const ahead = frameAt('n2', 3_600_000, parent);
    const finalized = await ledger.providers.voting.finalizeVotes(new Map([['n2', ahead]]), new Map(), signal);
    expect(finalized.state.hash).toBe(ahead.hash);
    const early = frameAt('n2', 4_000, parent, '1');
    await expect(ledger.providers.voting.finalizeVotes(new Map([['n2', early]]), new Map(), signal)).rejects.toThrow('time_before_parent');
  });

  it('a sync adopts frames f + 1 peers report however far ahead of its clock, and stops at one dated before its parent', async () => {
    const { ledger, sent, signal, advance } = node();
    const one = frameAt('n1', 3_600_000);
    const two = frameAt('n2', 3_599_999, one);
    let synced: LedgerFrame | null = null;
    void ledger.providers.sync.synchronize(genesis, signal).then((frame) => (synced = frame));
    await Promise.resolve();
    const request = sent.find((message) => message.kind === 'sync_request') as { id: number };
    for (const peer of ['n1', 'n2', 'n3']) ledger.deliver(peer, { kind: 'sync_response', id: request.id, frames: [one, two] });
    await advance(1_000);
    expect(synced!.hash).toBe(one.hash);
  });

  it('the simulator’s safety checker reports a finalized frame dated before its parent', () => {
    const checker = new SafetyChecker({ proposersOf: attemptProposers(members, leaderSchedule(members, 3)), maxHeldMessages: 10 });
    checker.registerNode('n0');
    const one = frameAt('n1', 5_000);
    const two = frameAt('n2', 4_000, one);
    checker.noteProposal('n1', one, 0);
    checker.noteProposal('n2', two, 0);
    expect(checker.finalized('n0', one)).toBeNull();
    expect(checker.finalized('n0', two)).toMatchObject({ kind: 'validity', rank: 2, detail: expect.stringContaining("before its parent's 5000") });
  });
});
