import { SafetyChecker } from '../../simulator/SafetyChecker';
import { attemptProposers, leaderSchedule } from '../../examples/ledger/rules';
import { LedgerFrame, LedgerVote } from '../../examples/ledger/types';

const schedule = leaderSchedule(['n0', 'n1', 'n2', 'n3'], 3);
const genesis = LedgerFrame.genesis();
const frame = (prover: string, parent: LedgerFrame = genesis, tag = '0') =>
  LedgerFrame.create(parent.height + 1, parent.hash, prover, parent.time, [`tx:${prover}:${parent.height + 1}:${tag}`]);

function checker() {
  const c = new SafetyChecker({ proposersOf: attemptProposers(['n0', 'n1', 'n2', 'n3'], schedule), maxHeldMessages: 10 });
  for (const node of ['n0', 'n1', 'n2']) c.registerNode(node);
  return c;
}

describe('SafetyChecker (SPEC §6)', () => {
  it('accepts honest nodes finalizing the same proposed frames in order', () => {
    const c = checker();
    const one = frame('n1');
    const two = frame('n2', one);
    c.noteProposal('n1', one);
    c.noteProposal('n2', two);
    expect(['n0', 'n1', 'n2'].map((node) => c.finalized(node, one))).toEqual([null, null, null]);
    expect(c.finalized('n0', two)).toBeNull();
    expect(c.frontier()).toBe(2);
    expect(c.canonicalAt(2)).toBe(two);
  });

  it('reports agreement when two honest nodes finalize different frames at one height', () => {
    const c = checker();
    const a = frame('n1', genesis, 'a');
    const b = frame('n1', genesis, 'b');
    c.noteProposal('n1', a);
    c.noteProposal('n1', b);
    expect(c.finalized('n0', a)).toBeNull();
    expect(c.finalized('n2', b)).toEqual({
      kind: 'agreement',
      rank: 1,
      nodes: ['n0', 'n2'],
      detail: `n0 finalized ${a.hash} at 1 but n2 finalized ${b.hash}`,
    });
  });

  it('reports validity when a finalized frame was never proposed, or only when its prover was not allowed to propose', () => {
    const c = checker();
    const unproposed = frame('n1');
    expect(c.finalized('n0', unproposed)).toEqual({
      kind: 'validity',
      rank: 1,
      nodes: ['n0', 'n1'],
      detail: `n0 finalized ${unproposed.hash} at 1, which n1 never proposed in an attempt it was allowed to`,
    });
    // n0 is not among height 1's provers (n1, n2, n3): its attempt-0 proposal counts for nothing...
    const outsider = frame('n0');
    c.noteProposal('n0', outsider, 0);
    expect(c.finalized('n0', outsider)).toEqual({
      kind: 'validity',
      rank: 1,
      nodes: ['n0', 'n0'],
      detail: `n0 finalized ${outsider.hash} at 1, which n0 never proposed in an attempt it was allowed to`,
    });
    // ...nor does one in attempt 1, whose proposer is n2; in attempt 3 it is n0's turn, after the three provers.
    c.noteProposal('n0', outsider, 1);
    expect(c.finalized('n0', outsider)?.kind).toBe('validity');
    c.noteProposal('n0', outsider, 3);
    expect(c.finalized('n0', outsider)).toBeNull();
    const forged = new LedgerFrame(1, genesis.hash, 'n1', 0, ['tx:n1:1:0'], 'abcdefabcdefabcd');
    c.noteProposal('n1', forged);
    expect(c.finalized('n1', forged)?.kind).toBe('validity');
  });

  it('reports an honest node that sends two different proposals, votes or confirmations for one attempt, but not a repeat', () => {
    const c = checker();
    const a = frame('n1', genesis, 'a');
    const b = frame('n1', genesis, 'b');
    const proposal = (value: LedgerFrame, attempt: number) => ({ kind: 'proposal' as const, peer: 'n1', proposal: value, attempt });
    expect(c.ownMessage('n1', proposal(a, 0))).toBeNull();
    expect(c.ownMessage('n1', proposal(a, 0))).toBeNull();
    // Another attempt is another slot.
    expect(c.ownMessage('n1', proposal(b, 1))).toBeNull();
    expect(c.ownMessage('n1', proposal(b, 0))).toEqual({
      kind: 'double_message',
      rank: 1,
      nodes: ['n1'],
      detail: `n1 sent two different proposals for attempt 0 of 1: ${a.hash} and ${b.hash}`,
    });
    const vote = (value: string) => ({ kind: 'vote' as const, proposer: 'n1', voter: 'n2', vote: new LedgerVote(1, 'n2', 'n1', value), attempt: 2 });
    const nilVote = { kind: 'nil_vote' as const, voter: 'n2', vote: new LedgerVote(1, 'n2', '', 'nil'), attempt: 2 };
    expect(c.ownMessage('n2', vote(a.hash))).toBeNull();
    expect(c.ownMessage('n2', nilVote)?.kind).toBe('double_message');
    expect(c.ownMessage('n3', { kind: 'nil_confirmation', peer: 'n3', rank: 1, attempt: 0 })).toBeNull();
    expect(c.ownMessage('n3', { kind: 'confirmation', peer: 'n3', state: a, attempt: 0 })?.kind).toBe('double_message');
  });

  it('does not count a proposal sent by someone other than its prover', () => {
    const c = checker();
    const one = frame('n1');
    c.noteProposal('n2', one);
    expect(c.finalized('n0', one)?.kind).toBe('validity');
  });

  it('reports prefix when a node skips a height or builds on another parent', () => {
    const c = checker();
    const one = frame('n1');
    const two = frame('n2', one);
    c.noteProposal('n1', one);
    c.noteProposal('n2', two);
    expect(c.finalized('n0', two)).toEqual({
      kind: 'prefix',
      rank: 2,
      nodes: ['n0'],
      detail: `n0 finalized ${two.hash} at 2 on parent ${one.hash}, but its history ends at 0 (${genesis.hash})`,
    });
  });

  it('reports a node holding more peer messages than the bound', () => {
    const c = checker();
    expect(c.heldMessages('n0', 10, 4)).toBeNull();
    expect(c.heldMessages('n0', 11, 4)).toEqual({
      kind: 'held_messages',
      rank: 4,
      nodes: ['n0'],
      detail: 'n0 holds 11 peer messages, above the bound of 10',
    });
  });
});
