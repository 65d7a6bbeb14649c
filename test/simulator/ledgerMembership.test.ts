import { LedgerMembers, ledgerMembershipChange, memberEntry } from '../../examples/ledger/membership';
import { isEntry } from '../../examples/ledger/rules';
import { LedgerFrame, LedgerPeer } from '../../examples/ledger/types';
import { ReferenceMembership } from '../../simulator/membershipPlan';

const KEY = 'ab'.repeat(32);
const frame = (height: number, entries: string[]) => LedgerFrame.create(height, LedgerFrame.genesis().hash, 'n0', 0, entries);

describe("the ledger's membership entries", () => {
  it('are entries a frame may carry, and read back as the change they name', () => {
    expect(memberEntry('add', 'n4', 't1', KEY.toUpperCase())).toBe(`m:t1:add:n4:${KEY}`);
    expect(memberEntry('remove', 'n1', 't2')).toBe('m:t2:remove:n1');
    for (const entry of [`m:t:add:n4:${KEY}`, 'm:t:add:n4', 'm:t:remove:n1']) expect(isEntry(entry)).toBe(true);
    for (const entry of ['m:t:add:n4:xyz', 'm:t:promote:n1', 'm:t:remove:', `m:t:remove:n1:${KEY}`, 'm:add:n4', 'm::remove:n1']) expect(isEntry(entry)).toBe(false);
    expect(() => memberEntry('add', 'bad name', 't')).toThrow(RangeError);
    expect(() => memberEntry('add', 'n4', 'bad tag')).toThrow(RangeError);
    const added = ledgerMembershipChange(frame(1, ['tx:n0:1:0', `m:a:add:n4:${KEY}`, 'm:b:remove:n1']));
    expect(added).toEqual({ op: 'add', id: new LedgerPeer('n4'), publicKey: KEY });
    expect(ledgerMembershipChange(frame(1, ['m:b:remove:n1']))).toEqual({ op: 'remove', id: 'n1' });
    expect(ledgerMembershipChange(frame(1, ['tx:n0:1:0']))).toBeNull();
  });
});

describe('LedgerMembers', () => {
  it('follows the membership of each height: schedule, attempt proposers and whom to broadcast to', () => {
    const members = new LedgerMembers(['n0', 'n1', 'n2', 'n3'], undefined, true);
    expect(members.schedule(5)).toEqual(['n1', 'n2', 'n3']);
    const epochs: Record<number, string[]> = { 0: ['n0', 'n1', 'n2', 'n3'], 20: ['n0', 'n1', 'n2', 'n3', 'n4'], 40: ['n0', 'n1', 'n2', 'n4'] };
    members.bind({
      getMembershipAt: (rank) => ({ ids: epochs[Math.max(...Object.keys(epochs).map(Number).filter((from) => from <= rank))] }),
    });
    expect(members.at(19)).toEqual(['n0', 'n1', 'n2', 'n3']);
    expect(members.schedule(20)).toEqual(['n0', 'n1', 'n2']);
    expect([0, 1, 2, 3, 4, 5].map((attempt) => members.proposersOf(21, attempt))).toEqual([['n1', 'n2', 'n3'], ['n2'], ['n3'], ['n0'], ['n4'], ['n1']]);
    // Before the join, the joiner hears the heights it will vote on; after the removal, the removed one hears nothing.
    expect(members.audience(10)).toEqual(['n0', 'n1', 'n2', 'n3', 'n4']);
    expect(members.audience(45)).toEqual(['n0', 'n1', 'n2', 'n4']);
    expect(members.wasMember('n4')).toBe(true);
    expect(members.wasMember('n9')).toBe(false);
  });
});

describe('ReferenceMembership', () => {
  it('reads the agreed chain: one change at a time, from c + rankWindow + 1, invalid ones ignored', () => {
    const chain = new Map<number, LedgerFrame>();
    const reference = new ReferenceMembership(['n0', 'n1', 'n2', 'n3'], 16, (height) => chain.get(height));
    const entriesAt: Record<number, string[]> = { 2: ['m:a:add:n4'], 5: ['m:b:remove:n0'], 19: ['m:c:add:n1'], 25: ['m:d:remove:n0'], 50: ['m:e:remove:n9'] };
    for (let height = 1; height <= 60; height += 1) chain.set(height, frame(height, entriesAt[height] ?? ['tx:n0:1:0']));
    expect(reference.history()).toEqual([
      { from: 0, members: ['n0', 'n1', 'n2', 'n3'] },
      { from: 19, members: ['n0', 'n1', 'n2', 'n3', 'n4'] },
      { from: 42, members: ['n1', 'n2', 'n3', 'n4'] },
    ]);
    expect(reference.membersAt(41)).toHaveLength(5);
  });
});
