import { LedgerBatch } from '../../examples/ledger/types';
import { MAX_FRAME_ENTRIES, MAX_SERVICE_TEXT } from '../../examples/ledger/rules';

describe("a ledger batch's identity", () => {
  it('stays short for a full batch of the longest entries, and still tells batches apart', () => {
    const longest = (i: number) => `s:${'n'.repeat(31)}${i % 10}:${'x'.repeat(MAX_SERVICE_TEXT)}`;
    const full = new LedgerBatch(7, 'n0', Array.from({ length: MAX_FRAME_ENTRIES }, (_, i) => longest(i)));
    // The engine refuses identities over 512 characters from a provider.
    expect(full.identity().length).toBeLessThanOrEqual(512);
    const other = new LedgerBatch(7, 'n0', Array.from({ length: MAX_FRAME_ENTRIES }, (_, i) => longest(i + 1)));
    expect(other.identity()).not.toBe(full.identity());
    expect(new LedgerBatch(7, 'n0', ['a', 'b']).identity()).not.toBe(new LedgerBatch(7, 'n0', ['a,b']).identity());
  });
});
