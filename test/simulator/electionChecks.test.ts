import { SafetyChecker } from '../../simulator/SafetyChecker';
import { electionJunk } from '../../simulator/byzantine';
import { attemptProposers, leaderSchedule } from '../../examples/ledger/rules';
import { checkInbound } from '../../machines/election.schemas';

const checker = () =>
  new SafetyChecker({ proposersOf: attemptProposers(['n0', 'n1', 'n2'], leaderSchedule(['n0', 'n1', 'n2'], 2)), maxHeldMessages: 10 });

describe('SafetyChecker: election safety (SPEC §3, Raft §5.2: at most one leader per term)', () => {
  it('accepts one leader per term, the same node winning again, and different leaders in different terms', () => {
    const c = checker();
    expect(c.leaderElected('n0', 1, 1)).toBeNull();
    expect(c.leaderElected('n0', 1, 1)).toBeNull();
    expect(c.leaderElected('n1', 2, 1)).toBeNull();
    expect(c.leaderElected('n0', 3, 1)).toBeNull();
    expect([...c.leadersByTerm()]).toEqual([
      [1, 'n0'],
      [2, 'n1'],
      [3, 'n0'],
    ]);
  });

  it('reports a second leader of one term, naming the term and both nodes', () => {
    const c = checker();
    c.leaderElected('n0', 4, 7);
    expect(c.leaderElected('n2', 4, 7)).toEqual({
      kind: 'election_safety',
      rank: 7,
      term: 4,
      nodes: ['n0', 'n2'],
      detail: 'n0 and n2 both became leader of term 4',
    });
  });
});

describe('SafetyChecker: vote fencing (SPEC §3: one vote per term, restarts included)', () => {
  it('accepts a vote repeated for the same candidate, and one vote per term', () => {
    const c = checker();
    expect(c.voteCast('n1', 'n0', 1, 1)).toBeNull();
    expect(c.voteCast('n1', 'n0', 1, 1)).toBeNull();
    expect(c.voteCast('n1', 'n2', 2, 1)).toBeNull();
    expect(c.voteCast('n2', 'n2', 2, 1)).toBeNull();
  });

  it('reports a node that voted for itself (its own vote request) and then for another candidate in that term', () => {
    const c = checker();
    expect(c.voteCast('n2', 'n2', 3, 5)).toBeNull();
    expect(c.voteCast('n2', 'n0', 3, 5)).toEqual({
      kind: 'vote_fencing',
      rank: 5,
      term: 3,
      nodes: ['n2', 'n2', 'n0'],
      detail: 'n2 voted for n2 and for n0 in term 3',
    });
  });
});

describe('garbage Byzantine election messages', () => {
  it('every junk message is refused by the election schemas, whoever sends it to whom', () => {
    const members = ['n0', 'n1', 'n2', 'n3'];
    for (const sender of members) {
      for (const receiver of members.filter((member) => member !== sender)) {
        const peers = members.filter((member) => member !== receiver);
        const accepted = electionJunk(sender, members).filter((raw) => checkInbound(sender, raw, peers).ok);
        expect(accepted).toEqual([]);
      }
    }
    expect(electionJunk('n1', members)).toHaveLength(14);
  });
});
