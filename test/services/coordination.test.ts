import { CoordinationState, type CoordinationEvent } from '../../services';
import { eventsOf, expectRefused, LogDriver, taken } from './driver';

/** The three services behind one apply: routing, fenced writes checked at the same entry, and time shared by all. */

function coordination(): LogDriver<unknown, unknown> {
  return new LogDriver(new CoordinationState() as never);
}

const acquire = (lock: string, owner: string, leaseMs = 1_000) => ({ service: 'locks', op: 'acquire', lock, owner, leaseMs });
const fencedPut = (key: string, value: unknown, writer: string, token: number, lock = 'L') => ({
  service: 'kv',
  op: 'put',
  key,
  value,
  writer,
  fence: { lock, token },
});

describe('routing', () => {
  test.each([
    ['no service', { op: 'tick' }],
    ['an unknown service', { service: 'queues', op: 'tick' }],
    ['an op of another service', { service: 'kv', op: 'acquire', lock: 'L', owner: 'a' }],
  ])('a command naming %s is invalid', (_, command) => {
    expectRefused(coordination(), command, 'invalid_command');
  });

  test('queries name their service too', () => {
    const state = coordination();
    state.apply(acquire('L', 'a'));
    state.apply({ service: 'kv', op: 'put', key: 'k', value: 1, writer: 'a' });
    state.apply({ service: 'barriers', op: 'create', barrier: 'B', participants: ['a'] });
    expect(state.machine.query({ service: 'kv', op: 'get', key: 'k' })).toMatchObject({ ok: true, value: { values: [1] } });
    expect(state.machine.query({ service: 'locks', op: 'get', lock: 'L' })).toMatchObject({ ok: true, value: { holder: { owner: 'a' } } });
    expect(state.machine.query({ service: 'barriers', op: 'get', barrier: 'B' })).toMatchObject({ ok: true, value: { open: true } });
    expect(state.machine.query({ op: 'get', key: 'k' })).toMatchObject({ ok: false, error: { code: 'invalid_query' } });
  });
});

describe('fenced writes', () => {
  test("only the current holder's token writes; a former holder's is stale, a released one gone, an unissued one unknown", () => {
    const state = coordination();
    state.apply(acquire('L', 'a'), 0);
    state.apply(acquire('L', 'b'), 0);
    expect(state.apply(fencedPut('k', 'by a', 'a', 1), 10)).toMatchObject({ ok: true });
    state.apply({ service: 'locks', op: 'release', lock: 'L', owner: 'a', token: 1 }, 20);
    expectRefused(state, fencedPut('k', 'late a', 'a', 1), 'stale_fence_token', 30);
    expectRefused(state, fencedPut('k', 'guess', 'c', 3), 'unknown_fence_token', 30);
    expect(state.apply(fencedPut('k', 'by b', 'b', 2), 30)).toMatchObject({ ok: true });
    state.apply({ service: 'locks', op: 'release', lock: 'L', owner: 'b', token: 2 }, 40);
    expectRefused(state, fencedPut('k', 'late b', 'b', 2), 'fence_holder_gone', 50);
    expectRefused(state, { service: 'kv', op: 'delete', key: 'k', fence: { lock: 'L', token: 2 } }, 'fence_holder_gone', 50);
    expect(taken<{ values: unknown[] }>(state.machine.query({ service: 'kv', op: 'get', key: 'k' })).values).toEqual(['by b']);
  });

  test("a write at an entry past the holder's lease is checked against the lock as that entry leaves it", () => {
    const state = coordination();
    state.apply(acquire('L', 'a', 1_000), 0);
    state.apply(acquire('L', 'b', 1_000), 0);
    // At 1,000 a's lease has ended and b holds the lock with token 2, in the same entry as the write.
    expectRefused(state, fencedPut('k', 'zombie', 'a', 1), 'stale_fence_token', 1_000);
    const byB = state.apply(fencedPut('k', 'b', 'b', 2), 1_000);
    expect(eventsOf<CoordinationEvent>(byB)).toEqual([
      { type: 'lock_expired', lock: 'L', owner: 'a', token: 1 },
      { type: 'lock_granted', lock: 'L', owner: 'b', token: 2, expiresAt: 2_000 },
    ]);
  });

  test('checkFence reads the committed lock table', () => {
    const state = new CoordinationState();
    state.apply(acquire('L', 'a'), { index: 1, time: 0 });
    expect(state.checkFence('L', 1)).toBeNull();
    expect(state.checkFence('L', 0)).toMatchObject({ ok: false, error: { code: 'stale_fence_token' } });
  });
});

describe('one clock for all services', () => {
  test("any service's command expires leases and ends barrier generations, time-driven events first", () => {
    const state = coordination();
    state.apply(acquire('L', 'a', 100), 0);
    state.apply({ service: 'barriers', op: 'create', barrier: 'B', participants: ['a', 'b'], timeoutMs: 100 }, 0);
    const put = state.apply({ service: 'locks', op: 'acquire', lock: 'M', owner: 'z' }, 100);
    expect(eventsOf<CoordinationEvent>(put).map((event) => event.type)).toEqual([
      'lock_expired',
      'barrier_failed',
      'barrier_opened',
      'lock_granted',
    ]);
  });

  test('a refused command changes nothing in any service, though its entry passed a deadline', () => {
    const state = coordination();
    state.apply(acquire('L', 'a', 100), 0);
    state.apply({ service: 'barriers', op: 'create', barrier: 'B', participants: ['a'], timeoutMs: 100 }, 0);
    expectRefused(state, { service: 'barriers', op: 'arrive', barrier: 'B', participant: 'nobody' }, 'not_participant', 500);
  });
});

describe('snapshots', () => {
  test('a snapshot with one bad part is refused as a whole', () => {
    const state = coordination();
    state.apply(acquire('L', 'a'));
    state.apply({ service: 'kv', op: 'put', key: 'k', value: 1, writer: 'a' });
    const snapshot = JSON.parse(state.snapshotText());
    snapshot.state.barriers = { barriers: 'none' };
    const other = coordination();
    other.apply({ service: 'kv', op: 'put', key: 'mine', value: 2, writer: 'b' });
    const before = other.snapshotText();
    expect(other.machine.restore(snapshot)).toMatchObject({ ok: false, error: { code: 'invalid_snapshot' } });
    expect(other.snapshotText()).toBe(before);
  });
});
