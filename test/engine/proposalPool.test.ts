import { SimulatedClock } from 'xstate';
import { ProposalPool } from '../../engine/proposals/pool';
import { silentTraceLogger } from '../../providers/trace';
import type { ProposalOutcome } from '../../engine/proposals/options';

/** A state is the list of payload names it carries. */
type State = string[];

function poolOf(options: Partial<ConstructorParameters<typeof ProposalPool<State, string>>[1]> = {}) {
  const clock = new SimulatedClock();
  const settled: Array<[string, number]> = [];
  const forwarded: string[] = [];
  const pool = new ProposalPool<State, string>(
    'me',
    { identify: (p) => p, payloadsIn: (state) => state, ...options },
    clock,
    silentTraceLogger,
    { settled: (outcome, latency) => settled.push([outcome, latency]), forward: (p) => forwarded.push(p) },
  );
  return { pool, clock, settled, forwarded };
}

function track(promise: Promise<ProposalOutcome>): { value?: ProposalOutcome; error?: unknown } {
  const box: { value?: ProposalOutcome; error?: unknown } = {};
  promise.then((value) => (box.value = value), (error: unknown) => (box.error = error));
  return box;
}
const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('ProposalPool', () => {
  it('gives the same batch when asked again for one rank, and a fresh one for the next', () => {
    const { pool } = poolOf();
    void pool.propose('a', []);
    void pool.propose('b', []);
    expect(pool.batchFor(5, [])).toEqual(['a', 'b']);
    void pool.propose('c', []);
    expect(pool.batchFor(5, [])).toEqual(['a', 'b']);
    expect(pool.batchFor(6, [])).toEqual(['a', 'b', 'c']);
  });

  it('batches nothing while the node lacks a committed state below the rank, and draws the batch once it has them all', () => {
    const { pool } = poolOf();
    let whole = false;
    pool.hooks.mayBatch = () => whole;
    void pool.propose('a', []);
    expect(pool.batchFor(3, [])).toEqual([]);
    // Ranks 1 and 2 filled in: 'a' was committed at 2, and is settled rather than batched again.
    whole = true;
    pool.committed(2, ['a']);
    void pool.propose('b', []);
    expect(pool.batchFor(3, [])).toEqual(['b']);
  });

  it('settles what a commit carries with its index, and puts the rest back for the next batch', async () => {
    const { pool, clock, settled } = poolOf();
    const a = track(pool.propose('a', []));
    const b = track(pool.propose('b', []));
    pool.batchFor(1, []);
    clock.increment(7);
    pool.committed(1, ['a', 'other']);
    await flush();
    expect(a.value).toEqual({ outcome: 'committed', index: 1 });
    expect(b.value).toBeUndefined();
    expect(settled).toEqual([['committed', 7]]);
    expect(pool.batchFor(2, ['a'])).toEqual(['b']);
    expect(pool.pending).toBe(1);
  });

  it('waits for the rank of a batch that holds an overdue payload: it commits, so it is told committed', async () => {
    const { pool, clock } = poolOf();
    const a = track(pool.propose('a', [], { deadline: 100 }));
    pool.batchFor(1, []);
    clock.increment(150);
    await flush();
    expect(a.value).toBeUndefined();
    pool.committed(1, ['a']);
    await flush();
    expect(a.value).toEqual({ outcome: 'committed', index: 1 });
  });

  it('waits for the rank of a batch that holds an overdue payload: another value commits, so it expires', async () => {
    const { pool, clock } = poolOf();
    const a = track(pool.propose('a', [], { deadline: 100 }));
    pool.batchFor(1, []);
    clock.increment(150);
    await flush();
    pool.committed(1, ['someone-else']);
    await flush();
    expect(a.value).toEqual({ outcome: 'expired' });
    expect(pool.batchFor(2, [])).toEqual([]);
    expect(pool.size).toBe(0);
  });

  it('forwards each new proposal once, and never a refused one', async () => {
    const { pool, forwarded } = poolOf({ validate: (p) => (p === 'no' ? 'refused' : true) });
    void pool.propose('yes', []);
    await expect(pool.propose('no', [])).resolves.toEqual({ outcome: 'aborted', reason: 'refused' });
    await expect(pool.propose('yes', [])).rejects.toMatchObject({ code: 'duplicate' });
    expect(forwarded).toEqual(['yes']);
  });

  it('takes over a forwarded copy when this node proposes the same payload', async () => {
    const { pool } = poolOf();
    expect(pool.receive('peer', 'x', [])).toBe('accepted');
    expect(pool.pending).toBe(0);
    const mine = track(pool.propose('x', []));
    expect(pool.pending).toBe(1);
    expect(pool.size).toBe(1);
    pool.committed(3, ['x']);
    await flush();
    expect(mine.value).toEqual({ outcome: 'committed', index: 3 });
  });

  it('treats a validation that throws or answers oddly as a refusal with a reason', async () => {
    const throwing = poolOf({ validate: () => { throw new Error('boom'); } }).pool;
    await expect(throwing.propose('a', [])).resolves.toEqual({ outcome: 'aborted', reason: 'validation threw: boom' });
    const odd = poolOf({ validate: () => false as unknown as string }).pool;
    await expect(odd.propose('a', [])).resolves.toEqual({ outcome: 'aborted', reason: 'refused by validation' });
  });

  it('logs and survives a payloadsIn that throws', () => {
    const { pool } = poolOf({ payloadsIn: () => { throw new Error('unreadable'); } });
    void pool.propose('a', []);
    expect(() => pool.committed(1, [])).not.toThrow();
    expect(pool.pending).toBe(1);
  });

  it('refuses an unreadable payload or a bad deadline, holding nothing', async () => {
    const { pool } = poolOf({ identify: () => { throw new Error('no name'); } });
    await expect(pool.propose('a', [])).rejects.toMatchObject({ code: 'malformed' });
    const other = poolOf().pool;
    await expect(other.propose('a', [], { deadline: Number.NaN })).rejects.toMatchObject({ code: 'malformed' });
    expect(pool.size + other.size).toBe(0);
  });

  it('abandons every pending proposal with `stopped`', async () => {
    const { pool } = poolOf();
    const a = track(pool.propose('a', []));
    pool.receive('peer', 'b', []);
    pool.abandon();
    await flush();
    expect(a.error).toMatchObject({ code: 'stopped' });
    expect(pool.size).toBe(0);
  });

  it('holds at most four batches of bytes per forwarding member, and frees them as payloads leave', () => {
    const { pool } = poolOf({ maxBatchBytes: 100, sizeOf: (p) => p.length });
    const big = (tag: string) => tag.padEnd(90, '.');
    for (let i = 0; i < 4; i += 1) expect(pool.receive('peer', big(`b${i}`), [])).toBe('accepted');
    expect(() => pool.receive('peer', big('b4'), [])).toThrow(expect.objectContaining({ code: 'too_many_pending' }));
    expect(pool.receive('other', big('c0'), [])).toBe('accepted');
    pool.committed(1, [big('b0')]);
    expect(pool.receive('peer', big('b4'), [])).toBe('accepted');
  });
});
