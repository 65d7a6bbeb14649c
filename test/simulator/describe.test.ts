import { describeMessage } from '../../simulator/describe';
import { LEDGER_MESSAGE_KINDS, type LedgerMessage } from '../../examples/ledger/messages';
import { LedgerBatch, LedgerFrame, LedgerPeer, LedgerVote } from '../../examples/ledger/types';

const frame = LedgerFrame.create(3, 'a'.repeat(16), 'n1', 0, ['tx:n1:3:0']);
const peer = new LedgerPeer('n2');

describe('trace descriptions of ledger messages', () => {
  it('names the kind, rank and (past the first) attempt of each consensus message', () => {
    const cases: [LedgerMessage, string][] = [
      [{ kind: 'proposal', peer, proposal: frame, attempt: 0, validAttempt: null }, `proposal r3 ${frame.hash}`],
      [{ kind: 'proposal', peer, proposal: frame, attempt: 2, validAttempt: 1 }, `proposal r3a2 ${frame.hash}`],
      [{ kind: 'vote', proposer: peer, voter: peer, vote: new LedgerVote(3, 'n2', 'n1', frame.hash), attempt: 1, proposal: frame.hash }, `vote r3a1 ${frame.hash}`],
      [{ kind: 'nil_vote', voter: peer, vote: new LedgerVote(3, 'n2', '', 'nil'), attempt: 0 }, 'nil vote r3'],
      [{ kind: 'nil_vote', voter: peer, vote: new LedgerVote(3, 'n2', '', 'nil'), attempt: 4 }, 'nil vote r3a4'],
      [{ kind: 'confirmation', peer, state: frame, attempt: 1 }, `confirmation r3a1 ${frame.hash}`],
      [{ kind: 'nil_confirmation', peer, rank: 3, attempt: 0 }, 'nil confirmation r3'],
      [{ kind: 'nil_confirmation', peer, rank: 3, attempt: 5 }, 'nil confirmation r3a5'],
      [{ kind: 'liveness', peer, collected: new LedgerBatch(3, 'n2', ['tx:n2:3:0']) }, 'liveness r3'],
      [{ kind: 'sync_request', id: 1, after: 2 }, 'sync_request after 2'],
      [{ kind: 'sync_response', id: 1, frames: [frame] }, 'sync_response 1 frames'],
    ];
    for (const [message, text] of cases) expect(describeMessage(message)).toBe(text);
  });

  it('describes every kind a ledger sends, and calls anything else garbage', () => {
    for (const kind of LEDGER_MESSAGE_KINDS) {
      const text = describeMessage({ kind });
      expect(text.startsWith(kind.replace('_', ' ')) || text.startsWith(kind)).toBe(true);
    }
    expect(LEDGER_MESSAGE_KINDS).not.toContain('skip');
    expect(describeMessage({ kind: 'skip', rank: 1, prover: 'n1' })).toBe('garbage');
    expect(describeMessage(null)).toBe('garbage');
  });

  it('marks malformed payloads and never throws on them', () => {
    const throwing = { identity: () => 'x', clone() {}, rank: () => { throw new Error('rank() throws'); } };
    expect(describeMessage({ kind: 'proposal', peer, proposal: throwing })).toBe('proposal (malformed)');
    expect(describeMessage({ kind: 'vote', proposer: peer, voter: peer, vote: 42 })).toBe('vote (malformed)');
    expect(describeMessage({ kind: 'nil_confirmation', peer, rank: 'x', attempt: 1 })).toBe('nil confirmation');
    expect(describeMessage({ kind: 'sync_response', id: 1, frames: 'x' })).toBe('sync_response (malformed) frames');
  });
});
