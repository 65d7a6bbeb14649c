import { runSimulation, type SimulationReport } from '../../simulator/runSimulation';
import type { EventTrace } from '../../simulator/EventTrace';
import type { SimulationOptions } from '../../simulator/options';
import { heldMessageBound } from '../../engine/createConsensusEngine';
import { ByzantineNode, type BehaviourOption } from '../../simulator/byzantine';
import { createSeededRandom } from '../../providers/random';
import type { LedgerMessage } from '../../examples/ledger/messages';
import { judgeProposal, leaderSchedule } from '../../examples/ledger/rules';
import { LedgerFrame, LedgerPeer, LedgerVote } from '../../examples/ledger/types';

async function simulate(options: Partial<SimulationOptions>): Promise<{ report: SimulationReport; trace: EventTrace }> {
  let trace: EventTrace | undefined;
  const report = await runSimulation({ rounds: 12, seed: 11, ...options, keepTrace: true }, { onTrace: (t) => (trace = t) });
  return { report, trace: trace! };
}

const honest = (report: SimulationReport) => report.perNode.filter((node) => node.byzantine === null);
/** Provers of the frames honest nodes finalized, from the trace. */
const finalizedProvers = (trace: EventTrace) =>
  new Set(trace.all().filter((e) => e.type === 'commit' || e.type === 'sync').map((e) => /by (n\d+)$/.exec(e.detail)![1]));
const refusedTotal = (report: SimulationReport, code: string) =>
  honest(report).reduce((sum, node) => sum + (node.refused[code] ?? 0), 0);

function expectLiveAndAgreed(report: SimulationReport, rounds = 12) {
  expect(report.violations).toEqual([]);
  expect(report.agreement).toBe(true);
  expect(report.reachedTarget).toBe(true);
  expect(report.stalled).toBe(false);
  const digests = new Set(honest(report).map((node) => node.digest));
  // Nodes may stop a height apart; the slowest reached the target.
  expect(Math.min(...honest(report).map((node) => node.roundsFinalized))).toBeGreaterThanOrEqual(12);
  expect(digests.size).toBeLessThanOrEqual(2);
}

describe('one Byzantine node of four (f = 1): agreement and progress whatever it does', () => {
  it('withhold: a silent node is skipped as a prover and the others finalize every height', async () => {
    const { report } = await simulate({ behaviour: 'withhold' });
    expectLiveAndAgreed(report);
    expect(report.byzantineNodes).toEqual(['n3']);
    // Only late copies (stale ranks, messages for decided heights): nothing malformed, nothing forged.
    for (const node of honest(report)) expect(Object.keys(node.refused).filter((code) => code !== 'stale_rank' && code !== 'ignored')).toEqual([]);
  });

  it('invalid: no frame of the invalid prover is ever finalized, and nobody votes for one', async () => {
    const { report, trace } = await simulate({ behaviour: 'invalid' });
    expectLiveAndAgreed(report);
    expect(finalizedProvers(trace).has(report.byzantineNodes[0])).toBe(false);
    expect(trace.all().filter((e) => e.type === 'byzantine').length).toBeGreaterThan(0);
  });

  it('garbage: every malformed message is refused by the engine schemas or the transport, without a provider error', async () => {
    const { report } = await simulate({ behaviour: 'garbage' });
    expectLiveAndAgreed(report);
    expect(refusedTotal(report, 'malformed')).toBeGreaterThan(0);
    expect(refusedTotal(report, 'not_member')).toBeGreaterThan(0);
    expect(refusedTotal(report, 'forged')).toBeGreaterThan(0);
    expect(honest(report).map((node) => node.providerErrors)).toEqual([0, 0, 0]);
  });

  it('flood: far-future messages are refused and what is held stays within the bound', async () => {
    const { report } = await simulate({ behaviour: 'flood' });
    expectLiveAndAgreed(report);
    expect(refusedTotal(report, 'future_rank')).toBeGreaterThan(0);
    // Per rank of the 16-rank window and member: a liveness, a proposal, vote and confirmation in each of
    // 2 × 4 + 1 attempts, and the attempt it was heard at; per rank and attempt, a lock proof and a certificate.
    expect(report.maxHeldMessages).toBe(heldMessageBound(16, 4));
    expect(report.maxHeldMessages).toBe(16 * (4 * (2 + 3 * 9) + 2 * 9));
    for (const node of honest(report)) expect(node.peakHeldMessages).toBeLessThanOrEqual(report.maxHeldMessages);
  });

  it('equivocate: agreement holds, and round change gets past the split it causes', async () => {
    // Seed 10 splits a height that the lock proofs cannot mend within attempt 0.
    const { report, trace } = await simulate({ behaviour: 'equivocate', seed: 10 });
    expectLiveAndAgreed(report);
    expect(trace.all().some((e) => e.type === 'byzantine' && e.detail.includes('equivocates proposals'))).toBe(true);
    expect(report.attempts.roundChanges).toBeGreaterThan(0);
    expect(trace.all().some((e) => e.type === 'attempt')).toBe(true);
  });

  it('partial: a proposal to half the cluster costs an attempt, never agreement', async () => {
    const { report, trace } = await simulate({ behaviour: 'partial' });
    expectLiveAndAgreed(report);
    expect(trace.all().some((e) => e.type === 'byzantine' && e.detail.includes('to half the cluster'))).toBe(true);
    expect(report.attempts.roundChanges).toBeGreaterThan(0);
    expect(report.attempts.committed).toBeGreaterThanOrEqual(12);
  });
});

describe('split-commit: the attack locks exist for', () => {
  it('half the cluster locks, the favourite commits late, the rest are offered fresh values: agreement and progress hold', async () => {
    const { report, trace } = await simulate({ behaviour: 'split-commit', rounds: 16, latency: { min: 5, max: 50 } });
    expectLiveAndAgreed(report, 16);
    const notes = trace.all().filter((e) => e.type === 'byzantine').map((e) => e.detail);
    expect(notes.some((note) => /proposes \w+ to n\d,n\d at \d+\.0$/.test(note))).toBe(true);
    expect(notes.some((note) => /confirms \w+ to n\d and \w+ to the rest/.test(note))).toBe(true);
  });
});

describe('shape-shift: values that pass the checks once and change afterwards', () => {
  it('proposals and relayed certificates whose frame changes once read move nothing: agreement and progress hold', async () => {
    const { report, trace } = await simulate({ behaviour: 'shape-shift', rounds: 16, latency: { min: 5, max: 50 } });
    expectLiveAndAgreed(report, 16);
    const notes = trace.all().filter((e) => e.type === 'byzantine').map((e) => e.detail);
    expect(notes.some((note) => /proposes \w+, which becomes \w+ once read/.test(note))).toBe(true);
    expect(notes.some((note) => /relays a certificate of \w+ that becomes \w+ once checked/.test(note))).toBe(true);
  });
});

describe('f Byzantine nodes of larger clusters', () => {
  it.each([
    [7, 2, 'withhold'],
    [7, 2, 'partial'],
    [7, 2, 'invalid'],
    [10, 3, 'equivocate'],
    [10, 3, 'garbage'],
    [10, 3, 'flood'],
    [7, 2, 'split-commit'],
  ] as const)('n = %i with %i %s nodes keeps agreement and finalizes', async (nodes, byzantine, behaviour) => {
    const { report } = await simulate({ nodes, byzantine, behaviour, rounds: 8, latency: { min: 2, max: 10 } });
    expect(report.violations).toEqual([]);
    expect(report.reachedTarget).toBe(true);
    expect(report.byzantineNodes).toHaveLength(byzantine);
  });

  it('two equivocators of seven split the honest votes: later attempts commit every height, none of them twice', async () => {
    const { report, trace } = await simulate({ nodes: 7, byzantine: 2, behaviour: 'equivocate', rounds: 20, seed: 2, latency: { min: 2, max: 10 } });
    expectLiveAndAgreed(report, 20);
    expect(report.attempts.roundChanges).toBeGreaterThan(0);
    expect(report.attempts.maxAttempts).toBeGreaterThan(1);
    // Equivocating voters send nil to one half when they saw one proposal only.
    expect(trace.all().some((e) => e.type === 'byzantine' && /equivocates votes \w+ \/ (\w+|nil) at/.test(e.detail))).toBe(true);
  });

  it('mixed behaviours never break agreement', async () => {
    const { report } = await simulate({ nodes: 7, byzantine: 2, behaviour: 'mixed', rounds: 10, latency: { min: 2, max: 10 } });
    expect(report.violations).toEqual([]);
    expect(report.agreement).toBe(true);
    expect(report.reachedTarget).toBe(true);
  });
});

describe('what a Byzantine node sends, per behaviour and attempt', () => {
  const members = ['n0', 'n1', 'n2', 'n3'];
  const schedule = leaderSchedule(members, 3);
  const genesis = LedgerFrame.genesis();

  /** n3, Byzantine, with a record of what it sends to whom. */
  function adversary(behaviour: BehaviourOption) {
    const sent: { to: string; message: LedgerMessage }[] = [];
    const node = new ByzantineNode(
      {
        self: 'n3',
        members,
        schedule,
        rankWindow: 16,
        random: createSeededRandom(3),
        send: (to, message) => sent.push({ to, message }),
        finalizedAt: (height) => (height === 0 ? genesis : undefined),
        now: () => 0,
        sign: (statement) => `signed(${statement.kind} ${statement.rank}.${statement.attempt})`,
        note: () => {},
      },
      behaviour,
    );
    const to = (kind: string) => sent.filter((s) => s.message.kind === kind).map((s) => s.to);
    return { node, sent, to };
  }
  /** A message that tells the adversary honest nodes reached `attempt` of `height`. */
  const nilVote = (from: string, height: number, attempt: number): LedgerMessage => ({
    kind: 'nil_vote',
    voter: new LedgerPeer(from),
    vote: new LedgerVote(height, from, '', 'nil'),
    attempt,
  });

  it('withhold sends nothing, in any attempt', () => {
    const { node, sent } = adversary('withhold');
    node.onHeight(1, genesis);
    node.onMessage('n1', { kind: 'proposal', peer: new LedgerPeer('n1'), proposal: LedgerFrame.create(1, genesis.hash, 'n1', 0, ['tx:n1:1:0']), attempt: 0 });
    node.onMessage('n0', nilVote('n0', 1, 2));
    expect(sent).toEqual([]);
  });

  it('partial proposes, with its vote, to half the peers only, and again in each attempt it is the proposer of', () => {
    const { node, sent, to } = adversary('partial');
    // Height 1: provers n1, n2, n3, so n3 proposes in attempt 0 and is the proposer of attempt 2.
    node.onHeight(1, genesis);
    expect(to('liveness')).toEqual(['n0', 'n1', 'n2']);
    expect(to('proposal')).toEqual(['n1', 'n2']);
    expect(to('vote')).toEqual(['n1', 'n2']);
    sent.length = 0;
    node.onMessage('n0', nilVote('n0', 1, 1));
    expect(sent).toEqual([]);
    node.onMessage('n0', nilVote('n0', 1, 2));
    expect(to('proposal')).toEqual(['n0', 'n1']);
    expect(sent.filter((s) => s.message.kind === 'proposal').every((s) => (s.message as { attempt: number }).attempt === 2)).toBe(true);
    expect(to('vote')).toEqual(['n0', 'n1']);
  });

  it('equivocate votes and confirms the one proposal it saw to one half, and nil to the other', () => {
    const { node, sent, to } = adversary('equivocate');
    // Height 4: provers n0, n1, n2; n3 only votes.
    const parent = LedgerFrame.create(3, 'f'.repeat(16), 'n2', 0, ['tx:n2:3:0']);
    node.onHeight(4, parent);
    expect(sent).toEqual([]);
    const proposal = LedgerFrame.create(4, parent.hash, 'n0', 0, ['tx:n0:4:0']);
    node.onMessage('n0', { kind: 'proposal', peer: new LedgerPeer('n0'), proposal, attempt: 0 });
    expect(to('vote')).toEqual(['n1', 'n2']);
    expect(to('confirmation')).toEqual(['n1', 'n2']);
    expect(to('nil_vote')).toEqual(['n0']);
    expect(to('nil_confirmation')).toEqual(['n0']);
    expect(sent.find((s) => s.message.kind === 'vote')!.message).toMatchObject({ vote: new LedgerVote(4, 'n3', 'n0', proposal.hash), attempt: 0, proposal: proposal.hash });
    expect(sent.find((s) => s.message.kind === 'nil_confirmation')!.message).toEqual({ kind: 'nil_confirmation', peer: new LedgerPeer('n3'), rank: 4, attempt: 0, signature: expect.any(String) });
    // Once per attempt.
    sent.length = 0;
    node.onMessage('n0', { kind: 'proposal', peer: new LedgerPeer('n0'), proposal, attempt: 0 });
    expect(sent).toEqual([]);
  });

  it('equivocate, as a proposer, sends two different valid proposals to the two halves', () => {
    const { node, sent } = adversary('equivocate');
    node.onHeight(1, genesis);
    const proposals = sent.filter((s) => s.message.kind === 'proposal').map((s) => [s.to, (s.message as { proposal: LedgerFrame }).proposal] as const);
    expect(proposals.map(([to]) => to).sort()).toEqual(['n0', 'n1', 'n2']);
    const hashes = new Set(proposals.map(([, frame]) => frame.hash));
    expect(hashes.size).toBe(2);
    for (const [, frame] of proposals) expect(judgeProposal(frame, 'n3', genesis, schedule)).toBe('valid');
  });
});
