import {
  DEFAULT_LEASE_MS,
  LockService,
  MAX_HOLDS,
  MAX_LOCKS,
  MAX_WAITERS,
  type AcquireOutcome,
  type LockEvent,
  type LockView,
} from '../../services';
import { eventsOf, expectRefused, LogDriver, taken } from './driver';

/** Fenced locks alone: grants, tokens, the FIFO queue, re-entry, leases in committed time and every refusal. */

function table(): LogDriver<unknown, unknown> {
  return new LogDriver(new LockService() as never);
}

const acquire = (lock: string, owner: string, leaseMs?: number) =>
  leaseMs === undefined ? { op: 'acquire', lock, owner } : { op: 'acquire', lock, owner, leaseMs };
const release = (lock: string, owner: string, token: number) => ({ op: 'release', lock, owner, token });

function view(locks: LogDriver<unknown, unknown>, lock: string): LockView {
  return taken<LockView>(locks.machine.query({ op: 'get', lock }));
}

function tokenOf(result: unknown): number {
  const outcome = taken<AcquireOutcome>(result);
  if (outcome.status !== 'granted') throw new Error('expected a grant');
  return outcome.token;
}

describe('grants and the wait queue', () => {
  test('a free lock is granted with a token and a lease of 10 s by default', () => {
    const locks = table();
    const result = locks.apply(acquire('L', 'a'), 1_000);
    expect(result).toEqual({
      ok: true,
      value: { status: 'granted', token: 1, count: 1, expiresAt: 1_000 + DEFAULT_LEASE_MS },
      events: [{ type: 'lock_granted', lock: 'L', owner: 'a', token: 1, expiresAt: 11_000 }],
    });
  });

  test('a held lock queues others first in, first out, and each release hands it on with a new token', () => {
    const locks = table();
    const first = tokenOf(locks.apply(acquire('L', 'a')));
    expect(taken(locks.apply(acquire('L', 'b')))).toEqual({ status: 'queued', position: 1 });
    expect(taken(locks.apply(acquire('L', 'c')))).toEqual({ status: 'queued', position: 2 });
    expect(taken(locks.apply(acquire('L', 'b')))).toEqual({ status: 'queued', position: 1 });
    const handed = locks.apply(release('L', 'a', first), 5);
    expect(handed).toEqual({
      ok: true,
      value: { status: 'released' },
      events: [
        { type: 'lock_released', lock: 'L', owner: 'a', token: 1 },
        { type: 'lock_granted', lock: 'L', owner: 'b', token: 2, expiresAt: 5 + DEFAULT_LEASE_MS },
      ],
    });
    locks.apply(release('L', 'b', 2));
    expect(view(locks, 'L').holder).toMatchObject({ owner: 'c', token: 3 });
  });

  test('re-entry by the holder keeps its token and counts holds; only the last release frees the lock', () => {
    const locks = table();
    locks.apply(acquire('L', 'a', 1_000), 0);
    expect(taken(locks.apply(acquire('L', 'a', 5_000), 100))).toEqual({ status: 'granted', token: 1, count: 2, expiresAt: 5_100 });
    locks.apply(acquire('L', 'b'));
    expect(taken(locks.apply(release('L', 'a', 1)))).toEqual({ status: 'held', count: 1 });
    expect(view(locks, 'L').holder).toMatchObject({ owner: 'a', count: 1 });
    expect(taken(locks.apply(release('L', 'a', 1)))).toEqual({ status: 'released' });
    expect(view(locks, 'L').holder).toMatchObject({ owner: 'b', token: 2 });
  });

  test('re-entry never shortens the lease', () => {
    const locks = table();
    locks.apply(acquire('L', 'a', 10_000), 0);
    expect(taken(locks.apply(acquire('L', 'a', 10), 100))).toMatchObject({ expiresAt: 10_000 });
  });

  test('a waiter that cancels leaves the queue', () => {
    const locks = table();
    locks.apply(acquire('L', 'a'));
    locks.apply(acquire('L', 'b'));
    locks.apply(acquire('L', 'c'));
    expect(taken(locks.apply({ op: 'cancel', lock: 'L', owner: 'b' }))).toEqual({ status: 'cancelled' });
    expect(view(locks, 'L').waiters.map((waiter) => waiter.owner)).toEqual(['c']);
  });

  test('a free lock with nobody waiting is forgotten; its tokens are not', () => {
    const locks = table();
    locks.apply(acquire('L', 'a'));
    locks.apply(release('L', 'a', 1));
    expect(taken(locks.machine.query({ op: 'list' }))).toEqual({ locks: [] });
    expect(tokenOf(locks.apply(acquire('L', 'a')))).toBe(2);
  });
});

describe('leases in committed time', () => {
  test('a lease of L ms granted at t holds until t + L, and the first entry at or past it expires it', () => {
    const locks = table();
    locks.apply(acquire('L', 'a', 1_000), 0);
    locks.apply(acquire('L', 'b', 2_000), 10);
    locks.apply({ op: 'tick' }, 999);
    expect(view(locks, 'L').holder).toMatchObject({ owner: 'a' });
    const tick = locks.apply({ op: 'tick' }, 1_000);
    expect(eventsOf<LockEvent>(tick)).toEqual([
      { type: 'lock_expired', lock: 'L', owner: 'a', token: 1 },
      { type: 'lock_granted', lock: 'L', owner: 'b', token: 2, expiresAt: 3_000 },
    ]);
  });

  test('any command expires every lease its time has passed, whatever lock it names', () => {
    const locks = table();
    locks.apply(acquire('L', 'a', 100), 0);
    const other = locks.apply(acquire('M', 'b'), 500);
    expect(eventsOf<LockEvent>(other)[0]).toEqual({ type: 'lock_expired', lock: 'L', owner: 'a', token: 1 });
    expect(view(locks, 'L').holder).toBeNull();
  });

  test('locks that expire at one entry hand out tokens in name order', () => {
    const locks = table();
    locks.apply(acquire('b', 'x', 100), 0);
    locks.apply(acquire('a', 'x', 100), 0);
    locks.apply(acquire('b', 'y'), 0);
    locks.apply(acquire('a', 'y'), 0);
    const grants = eventsOf<LockEvent>(locks.apply({ op: 'tick' }, 100)).filter((event) => event.type === 'lock_granted');
    expect(grants.map((event) => [event.lock, event.token])).toEqual([
      ['a', 3],
      ['b', 4],
    ]);
  });

  test('renew extends the lease from the entry that renews it', () => {
    const locks = table();
    locks.apply(acquire('L', 'a', 1_000), 0);
    expect(taken(locks.apply({ op: 'renew', lock: 'L', owner: 'a', token: 1 }, 900))).toEqual({ token: 1, expiresAt: 1_900 });
    expect(taken(locks.apply({ op: 'renew', lock: 'L', owner: 'a', token: 1, leaseMs: 50 }, 1_000))).toEqual({ token: 1, expiresAt: 1_050 });
    locks.apply({ op: 'tick' }, 1_050);
    expect(view(locks, 'L').holder).toBeNull();
  });

  test('an expired holder cannot release or renew: its hold is gone', () => {
    const locks = table();
    locks.apply(acquire('L', 'a', 100), 0);
    locks.apply(acquire('L', 'b'), 0);
    expectRefused(locks, release('L', 'a', 1), 'not_holder', 100);
    expectRefused(locks, { op: 'renew', lock: 'L', owner: 'a', token: 1 }, 'not_holder', 100);
  });

  test('an owner that re-acquired after its lease expired cannot release the new hold with the old token', () => {
    const locks = table();
    locks.apply(acquire('L', 'a', 100), 0);
    locks.apply(acquire('L', 'a', 100), 200);
    expect(view(locks, 'L').holder).toMatchObject({ owner: 'a', token: 2 });
    expectRefused(locks, release('L', 'a', 1), 'token_mismatch');
  });
});

describe('fencing tokens', () => {
  test('tokens only grow, across releases, expiries and a snapshot restored elsewhere', () => {
    const locks = table();
    const tokens = [tokenOf(locks.apply(acquire('L', 'a', 100), 0))];
    locks.apply(release('L', 'a', tokens[0]!));
    tokens.push(tokenOf(locks.apply(acquire('L', 'b', 100), 10)));
    tokens.push(tokenOf(locks.apply(acquire('L', 'c', 100), 500)));
    const restored = new LockService();
    restored.restore(JSON.parse(locks.snapshotText()));
    locks.apply(release('L', 'c', tokens[2]!));
    const next = restored.apply(acquire('L', 'd'), { index: 99, time: 10_000 });
    tokens.push(tokenOf(next));
    expect(tokens).toEqual([1, 2, 3, 4]);
  });

  test("checkFence accepts only the current holder's token, and says why it refuses the rest", () => {
    const locks = table();
    locks.apply(acquire('L', 'a', 100), 0);
    locks.apply(acquire('L', 'b', 100), 0);
    locks.apply({ op: 'tick' }, 100);
    const check = (token: number) => locks.machine.query({ op: 'checkFence', lock: 'L', token });
    expect(check(2)).toEqual({ ok: true, value: { lock: 'L', token: 2 } });
    expect(check(1)).toMatchObject({ ok: false, error: { code: 'stale_fence_token' } });
    expect(check(3)).toMatchObject({ ok: false, error: { code: 'unknown_fence_token' } });
    locks.apply({ op: 'tick' }, 200);
    expect(check(2)).toMatchObject({ ok: false, error: { code: 'fence_holder_gone' } });
    const neverHeld = locks.machine.query({ op: 'checkFence', lock: 'never', token: 1 });
    expect(neverHeld).toMatchObject({ ok: false, error: { code: 'fence_holder_gone' } });
  });
});

describe('bounds and refusals', () => {
  test(`at most ${MAX_WAITERS} waiters per lock`, () => {
    const locks = table();
    locks.apply(acquire('L', 'holder'));
    for (let i = 0; i < MAX_WAITERS; i += 1) locks.apply(acquire('L', `w${i}`));
    expectRefused(locks, acquire('L', 'late'), 'queue_full');
  });

  test(`at most ${MAX_LOCKS} locks are held at once; an expired one makes room`, () => {
    const locks = table();
    for (let i = 0; i < MAX_LOCKS; i += 1) locks.apply(acquire(`L${i}`, 'a', i === 0 ? 100 : 60_000), 0);
    expectRefused(locks, acquire('one-more', 'a'), 'too_many_locks');
    expect(locks.apply(acquire('one-more', 'a'), 100)).toMatchObject({ ok: true });
  });

  test(`at most ${MAX_HOLDS} re-entrant holds`, () => {
    const locks = table();
    for (let i = 0; i < MAX_HOLDS; i += 1) locks.apply(acquire('L', 'a'));
    expectRefused(locks, acquire('L', 'a'), 'too_many_holds');
  });

  test('release or renew by someone other than the holder is refused', () => {
    const locks = table();
    locks.apply(acquire('L', 'a'));
    expectRefused(locks, release('L', 'b', 1), 'not_holder');
    expectRefused(locks, release('free', 'a', 1), 'not_holder');
    expectRefused(locks, { op: 'renew', lock: 'L', owner: 'b', token: 1 }, 'not_holder');
    expectRefused(locks, release('L', 'a', 2), 'token_mismatch');
    expectRefused(locks, { op: 'cancel', lock: 'L', owner: 'b' }, 'not_waiting');
    expectRefused(locks, { op: 'cancel', lock: 'L', owner: 'a' }, 'not_waiting');
  });

  test.each([
    ['a lease of 0 ms', { op: 'acquire', lock: 'L', owner: 'a', leaseMs: 0 }],
    ['a lease longer than a day', { op: 'acquire', lock: 'L', owner: 'a', leaseMs: 86_400_001 }],
    ['a token of 0', { op: 'release', lock: 'L', owner: 'a', token: 0 }],
    ['a name longer than 128 characters', { op: 'acquire', lock: 'L'.repeat(129), owner: 'a' }],
    ['an empty owner', { op: 'acquire', lock: 'L', owner: '' }],
    ['the service of another', { service: 'kv', op: 'tick' }],
  ])('%s is an invalid command', (_, command) => {
    expectRefused(table(), command, 'invalid_command');
  });

  test('a refused acquire does not expire the leases its entry passed: a refusal changes nothing', () => {
    const locks = table();
    locks.apply(acquire('L', 'a', 100), 0);
    for (let i = 0; i < MAX_WAITERS; i += 1) locks.apply(acquire('L', `w${i}`));
    // At time 100, a's lease is over; still, the refused command leaves the table as it was.
    expectRefused(locks, { op: 'acquire', lock: 'L', owner: 'x', leaseMs: 0 }, 'invalid_command', 100);
    expect(view(locks, 'L').holder).toMatchObject({ owner: 'a' });
  });
});

describe('snapshots', () => {
  test('a snapshot in which two locks share a token is refused', () => {
    const locks = table();
    locks.apply(acquire('L', 'a'));
    locks.apply(acquire('M', 'a'));
    const snapshot = JSON.parse(locks.snapshotText());
    snapshot.state.locks[1].holder.token = 1;
    expect(new LockService().restore(snapshot)).toMatchObject({ ok: false, error: { code: 'invalid_snapshot' } });
  });

  test('a snapshot holding a token past the last issued is refused', () => {
    const locks = table();
    locks.apply(acquire('L', 'a'));
    const snapshot = JSON.parse(locks.snapshotText());
    snapshot.state.lastToken = 0;
    expect(new LockService().restore(snapshot)).toMatchObject({ ok: false, error: { code: 'invalid_snapshot' } });
  });
});
