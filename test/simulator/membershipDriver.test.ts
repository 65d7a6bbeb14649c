// The membership driver must not take a proposer's silence for a failure nor
// wait on it forever: a crashed proposer's pending proposal never settles,
// while the entry it passed on may be committed by another member.
import { memberEntry } from '../../examples/ledger/membership';
import { EventClock } from '../../simulator/EventClock';
import { driveMemberChanges, type MemberChangeSpec } from '../../simulator/membershipPlan';

const KEY = 'ab'.repeat(32);

type Outcome = { outcome: string; index?: number };

function world(names: string[]) {
  const clock = new EventClock();
  const chain = new Map<string, number>();
  const up = new Set(names);
  const proposed: string[] = [];
  const committed: string[] = [];
  let frontier = 0;
  const driver = {
    clock,
    proposers: () => names.filter((name) => up.has(name)).map((name) => ({ name, propose: (payload: string) => (proposed.push(`${name} ${payload}`), new Promise<Outcome>(() => {})) })),
    publicKeyOf: () => KEY,
    frontier: () => frontier,
    committedAt: (entry: string) => chain.get(entry) ?? null,
    rankWindow: 16,
    onCommitted: (change: MemberChangeSpec, index: number) => committed.push(`${change.op} ${change.node} at ${index}`),
    note: () => {},
  };
  return { clock, chain, up, proposed, committed, driver, setFrontier: (height: number) => (frontier = height) };
}

describe('driveMemberChanges', () => {
  it('takes a change as committed where the agreed chain carries it, though its proposer never answered', async () => {
    const w = world(['n0', 'n1']);
    const changes: MemberChangeSpec[] = [
      { at: 10, op: 'add', node: 'n2' },
      { at: 20, op: 'remove', node: 'n0' },
    ];
    const drive = driveMemberChanges(changes, w.driver);
    await w.clock.runUntil(() => w.proposed.length > 0, 1_000);
    w.chain.set(memberEntry('add', 'n2', 'c0', KEY), 5);
    await w.clock.runUntil(() => w.committed.length > 0, 2_000);
    expect(w.committed).toEqual(['add n2 at 5']);
    // The next change waits for the first to take effect (5 + 16 + 1).
    w.setFrontier(21);
    await w.clock.runUntil(() => false, 3_000);
    expect(w.proposed.filter((line) => line.includes(':remove:'))).toEqual([]);
    w.setFrontier(22);
    await w.clock.runUntil(() => w.proposed.some((line) => line.includes(':remove:')), 4_000);
    w.chain.set(memberEntry('remove', 'n0', 'c1'), 30);
    await w.clock.runUntil(() => drive.pending() === 0, 5_000);
    expect(w.committed).toEqual(['add n2 at 5', 'remove n0 at 30']);
  });

  it('asks another member once the proposer went down without an answer', async () => {
    const w = world(['n0', 'n1']);
    driveMemberChanges([{ at: 10, op: 'add', node: 'n2' }], w.driver);
    await w.clock.runUntil(() => w.proposed.length > 0, 1_000);
    const first = w.proposed[0].split(' ')[0];
    w.up.delete(first);
    await w.clock.runUntil(() => w.proposed.length > 1, 2_000);
    expect(w.proposed[1].split(' ')[0]).not.toBe(first);
  });
});
