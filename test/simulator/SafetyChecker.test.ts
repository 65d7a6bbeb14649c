import { SafetyChecker } from '../../simulator/SafetyChecker';
import { leaderSchedule } from '../../examples/ledger/rules';
import { LedgerFrame } from '../../examples/ledger/types';

const schedule = leaderSchedule(['n0', 'n1', 'n2', 'n3'], 3);
const genesis = LedgerFrame.genesis();
const frame = (prover: string, parent: LedgerFrame = genesis, tag = '0') =>
  LedgerFrame.create(parent.height + 1, parent.hash, prover, [`tx:${prover}:${parent.height + 1}:${tag}`]);

function checker() {
  const c = new SafetyChecker({ schedule, maxHeldMessages: 10 });
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

  it('reports validity when a finalized frame was never proposed, or names a prover outside the schedule', () => {
    const c = checker();
    const unproposed = frame('n1');
    expect(c.finalized('n0', unproposed)).toEqual({
      kind: 'validity',
      rank: 1,
      nodes: ['n0', 'n1'],
      detail: `n0 finalized ${unproposed.hash} at 1, which n1 never proposed`,
    });
    const outsider = frame('n0');
    c.noteProposal('n0', outsider);
    expect(c.finalized('n0', outsider)).toEqual({
      kind: 'validity',
      rank: 1,
      nodes: ['n0', 'n0'],
      detail: `n0 finalized ${outsider.hash} at 1, which names n0, not a prover of 1 (n1, n2, n3)`,
    });
    const forged = new LedgerFrame(1, genesis.hash, 'n1', ['tx:n1:1:0'], 'abcdefabcdefabcd');
    c.noteProposal('n1', forged);
    expect(c.finalized('n1', forged)?.kind).toBe('validity');
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
