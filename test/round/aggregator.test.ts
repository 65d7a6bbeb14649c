// Who aggregates under linear messaging: a pure function of the proposals a
// node holds, so every honest node holding them names the same member.
import { aggregatesFor, aggregatorOf } from '../../guards/aggregator';
import type { ProposalRecord, RoundContext } from '../../machines/round.types';
import { Frame } from '../support/fixtures';

function contextWith(self: string, slots: Record<string, Record<string, string>>): RoundContext {
  const proposals: Record<string, Record<string, ProposalRecord>> = {};
  for (const [slot, byProver] of Object.entries(slots)) {
    proposals[slot] = Object.fromEntries(
      Object.entries(byProver).map(([prover, contentId]) => [prover, { value: new Frame(1, '', contentId, prover), contentId, validAttempt: null }]),
    );
  }
  return { selfId: self, proposals } as unknown as RoundContext;
}

describe('the aggregator of a value', () => {
  const held = { '1/0': { bob: 'x', carol: 'y' }, '1/1': { dave: 'x' } };

  it("is the prover whose proposal of that attempt carries it, whoever asks", () => {
    for (const self of ['alice', 'bob', 'carol', 'dave']) {
      const context = contextWith(self, held);
      expect(aggregatorOf(context, 1, 0, 'x')).toBe('bob');
      expect(aggregatorOf(context, 1, 0, 'y')).toBe('carol');
      // A later attempt's proposer re-proposing the value gathers that attempt's votes.
      expect(aggregatorOf(context, 1, 1, 'x')).toBe('dave');
    }
  });

  it('is nobody when the proposal is not held (the message then goes to everyone)', () => {
    const context = contextWith('alice', held);
    expect(aggregatorOf(context, 1, 0, 'z')).toBeNull();
    expect(aggregatorOf(context, 1, 2, 'x')).toBeNull();
    expect(aggregatorOf(context, 2, 0, 'x')).toBeNull();
  });

  it('is the first identity in order when two provers proposed one value', () => {
    expect(aggregatorOf(contextWith('alice', { '1/0': { dave: 'x', carol: 'x' } }), 1, 0, 'x')).toBe('carol');
  });

  it('is what a node aggregates for: the value it proposed itself in that attempt', () => {
    expect(aggregatesFor(contextWith('bob', held), 1, 0, 'x')).toBe(true);
    expect(aggregatesFor(contextWith('bob', held), 1, 0, 'y')).toBe(false);
    expect(aggregatesFor(contextWith('bob', held), 1, 1, 'x')).toBe(false);
    expect(aggregatesFor(contextWith('dave', held), 1, 1, 'x')).toBe(true);
    expect(aggregatesFor(contextWith('alice', held), 1, 0, 'x')).toBe(false);
  });
});
