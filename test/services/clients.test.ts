import { commands, CoordinationError, createCoordinationClients, isCoordinationError, MAX_KEY_LENGTH, MAX_VALUE_BYTES, type WaitClock } from '../../services';
import { FakeCoordinationPort } from '../support/fakeCoordinationPort';

/** A clock that moves only when the wait sleeps on it. */
function steppedClock(start = 1_000): WaitClock & { slept: number[] } {
  let now = start;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}

/** The rejection of `call`, which must be a CoordinationError. */
async function refusal(call: Promise<unknown>): Promise<CoordinationError> {
  const error = await call.then(
    () => null,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof CoordinationError)) throw new Error(`expected a CoordinationError, got ${String(error)}`);
  return error;
}

let port: FakeCoordinationPort;
let clock: ReturnType<typeof steppedClock>;
let clients: ReturnType<typeof createCoordinationClients>;

beforeEach(() => {
  port = new FakeCoordinationPort();
  clock = steppedClock();
  clients = createCoordinationClients(port, { clock });
});

describe('kv', () => {
  it('puts and gets a value with its clock and the log index, as the services answer', async () => {
    const put = await clients.kv.put('config', { v: 1 }, { writer: 'a' });
    expect(put).toEqual({ key: 'config', clock: { a: 1 }, resolution: 'none', siblings: 1, index: 1 });
    const read = await clients.kv.get('config');
    expect(read).toMatchObject({ key: 'config', found: true, values: [{ v: 1 }], clock: { a: 1 }, index: 2 });
    expect(read.versions).toHaveLength(1);
    expect(port.submitted[0].command).toEqual({ service: 'kv', op: 'put', key: 'config', value: { v: 1 }, writer: 'a' });
  });

  it('passes the consistency and the deadline to the port, and nothing else', async () => {
    await clients.kv.put('k', 1, { writer: 'a', deadline: 5_000 });
    await clients.kv.get('k');
    await clients.kv.get('k', { consistency: 'stale', deadline: 7_000 });
    await clients.kv.keys({ prefix: 'k', consistency: 'stale' });
    expect(port.submitted[0].options).toEqual({ deadline: 5_000 });
    expect(port.queried.map((call) => call.options)).toEqual([
      { consistency: 'linearizable' },
      { consistency: 'stale', deadline: 7_000 },
      { consistency: 'stale' },
    ]);
    // A stale read takes no log position; a linearizable one does.
    expect(port.index).toBe(2);
  });

  it('keeps concurrent writes as siblings until a write whose context covers them', async () => {
    port.apply(commands.setKeySpace('s/', 'siblings'));
    await clients.kv.put('s/x', 'from a', { writer: 'a' });
    await clients.kv.put('s/x', 'from b', { writer: 'b' });
    const both = await clients.kv.get('s/x');
    expect(both.values).toEqual(['from a', 'from b']);
    const resolved = await clients.kv.put('s/x', 'merged', { writer: 'a', context: both.clock });
    expect(resolved).toMatchObject({ resolution: 'none', siblings: 1 });
    expect((await clients.kv.get('s/x', { consistency: 'stale' })).values).toEqual(['merged']);
  });

  it('deletes and lists keys in pages', async () => {
    for (const key of ['app/a', 'app/b', 'app/c', 'other']) await clients.kv.put(key, key, { writer: 'w' });
    expect(await clients.kv.delete('app/b')).toEqual({ key: 'app/b', removed: 1, remaining: 0, index: 5 });
    expect(await clients.kv.keys({ prefix: 'app/', limit: 1 })).toEqual({ keys: ['app/a'], more: true, index: 6 });
    expect(await clients.kv.keys({ prefix: 'app/', after: 'app/a' })).toMatchObject({ keys: ['app/c'], more: false });
    expect((await clients.kv.get('app/b')).found).toBe(false);
  });

  it('throws the refusal of a concurrent write under reject, and the key keeps its value', async () => {
    port.apply(commands.setKeySpace('r/', 'reject'));
    await clients.kv.put('r/x', 1, { writer: 'a' });
    const before = port.snapshotText();
    const error = await refusal(clients.kv.put('r/x', 2, { writer: 'b' }));
    expect(error).toMatchObject({ name: 'CoordinationError', code: 'concurrent_write' });
    expect(error.message).toMatch(/read the key and write again/);
    expect(port.snapshotText()).toBe(before);
  });

  it('surfaces the fencing refusal of a write with a token from an expired hold', async () => {
    const first = await clients.locks.acquire('leader', 'a', { leaseMs: 1_000 });
    if (first.status !== 'granted') throw new Error('the free lock was not granted');
    await clients.kv.put('config', 'by a', { writer: 'a', fence: { lock: 'leader', token: first.token } });
    port.time = 5_000;
    const second = await clients.locks.acquire('leader', 'b');
    expect(second).toMatchObject({ status: 'granted', token: first.token + 1 });
    const error = await refusal(clients.kv.put('config', 'late write by a', { writer: 'a', fence: { lock: 'leader', token: first.token } }));
    expect(error.code).toBe('stale_fence_token');
    expect(error.index).toBe(port.index);
    expect((await clients.kv.get('config')).values).toEqual(['by a']);
    await expect(clients.kv.delete('config', { fence: { lock: 'leader', token: first.token } })).rejects.toMatchObject({ code: 'stale_fence_token' });
  });

  it('refuses malformed writes before sending them, with the services\' codes', async () => {
    expect((await refusal(clients.kv.put('k', undefined, { writer: 'w' }))).code).toBe('invalid_command');
    expect((await refusal(clients.kv.put('k', 1, { writer: '' }))).code).toBe('invalid_command');
    expect((await refusal(clients.kv.put('k'.repeat(MAX_KEY_LENGTH + 1), 1, { writer: 'w' }))).code).toBe('key_too_long');
    expect((await refusal(clients.kv.delete('k'.repeat(MAX_KEY_LENGTH + 1)))).code).toBe('key_too_long');
    expect((await refusal(clients.kv.put('k', 'x'.repeat(MAX_VALUE_BYTES), { writer: 'w' }))).code).toBe('value_too_large');
    expect((await refusal(clients.kv.put('k', 'x'.repeat(3 * MAX_VALUE_BYTES), { writer: 'w' }))).code).toBe('value_too_large');
    expect((await refusal(clients.kv.keys({ limit: 0 }))).code).toBe('invalid_query');
    expect(port.submitted).toEqual([]);
    expect(port.queried).toEqual([]);
  });
});

describe('locks', () => {
  it('grants with a token, queues another owner, renews, releases to the waiter, and cancels', async () => {
    const granted = await clients.locks.acquire('L', 'a', { leaseMs: 2_000 });
    expect(granted).toEqual({ status: 'granted', token: 1, count: 1, expiresAt: 2_000, index: 1 });
    expect(await clients.locks.acquire('L', 'b')).toEqual({ status: 'queued', position: 1, index: 2 });
    expect(await clients.locks.acquire('L', 'c')).toMatchObject({ status: 'queued', position: 2 });
    port.time = 1_000;
    expect(await clients.locks.renew('L', 'a', 1)).toMatchObject({ token: 1, expiresAt: 3_000 });
    expect(await clients.locks.cancel('L', 'c')).toMatchObject({ status: 'cancelled' });
    expect(await clients.locks.release('L', 'a', 1)).toMatchObject({ status: 'released' });
    const view = await clients.locks.get('L', { consistency: 'stale' });
    expect(view).toMatchObject({ lock: 'L', holder: { owner: 'b', token: 2 }, waiters: [] });
    expect((await clients.locks.list()).locks.map((lock) => lock.lock)).toEqual(['L']);
    expect(await clients.locks.checkFence('L', 2)).toMatchObject({ lock: 'L', token: 2 });
  });

  it('throws the refusals of release, renew, cancel and a fence check', async () => {
    await clients.locks.acquire('L', 'a');
    const before = port.snapshotText();
    expect((await refusal(clients.locks.release('L', 'b', 1))).code).toBe('not_holder');
    expect((await refusal(clients.locks.renew('L', 'a', 7))).code).toBe('token_mismatch');
    expect((await refusal(clients.locks.cancel('L', 'z'))).code).toBe('not_waiting');
    expect(port.snapshotText()).toBe(before);
    expect((await refusal(clients.locks.checkFence('L', 9))).code).toBe('unknown_fence_token');
    expect((await refusal(clients.locks.acquire('L', 'a', { leaseMs: 0 }))).code).toBe('invalid_command');
    expect((await refusal(clients.locks.get('x'.repeat(200)))).code).toBe('invalid_query');
  });
});

describe('unanswered calls', () => {
  it('throws aborted with the reason, and expired, as typed errors', async () => {
    port.unanswered.push({ outcome: 'aborted', reason: 'not the leader' }, { outcome: 'expired' });
    const aborted = await refusal(clients.locks.acquire('L', 'a'));
    expect(aborted).toMatchObject({ code: 'aborted', reason: 'not the leader' });
    expect(aborted.message).toBe('the command was aborted: not the leader');
    const expired = await refusal(clients.kv.put('k', 1, { writer: 'w', deadline: 10 }));
    expect(expired.code).toBe('expired');
    expect(expired.message).toMatch(/may still take effect/);
    expect(port.index).toBe(0);
  });

  it('throws bad_answer when the port answers with something no service gives', async () => {
    const odd = createCoordinationClients({
      submit: async () => ({ outcome: 'committed', index: 3, result: 'yes' }),
      query: async () => ({ outcome: 'answered', index: 3, answer: { ok: false } }),
    });
    expect((await refusal(odd.locks.acquire('L', 'a'))).code).toBe('bad_answer');
    expect((await refusal(odd.kv.get('k'))).code).toBe('bad_answer');
  });

  it('recognizes its errors by shape as well as by class', () => {
    const error = new CoordinationError('not_holder', 'no');
    expect(isCoordinationError(error)).toBe(true);
    expect(isCoordinationError({ name: 'CoordinationError', code: 'x', message: 'y' })).toBe(true);
    expect(isCoordinationError(new Error('no'))).toBe(false);
    expect(isCoordinationError(null)).toBe(false);
  });
});

describe('barriers', () => {
  it('creates, joins, leaves, arrives, reads, lists and deletes', async () => {
    expect(await clients.barriers.create('B', ['a', 'b'], { timeoutMs: null })).toEqual({ barrier: 'B', generation: 1, open: true, required: 2, index: 1 });
    expect(await clients.barriers.join('B', 'c')).toMatchObject({ status: 'waiting', required: 3 });
    expect(await clients.barriers.leave('B', 'c')).toMatchObject({ status: 'waiting', required: 2 });
    expect(await clients.barriers.arrive('B', 'a')).toMatchObject({ status: 'waiting', generation: 1, arrived: 1 });
    expect(await clients.barriers.get('B')).toMatchObject({ barrier: 'B', participants: ['a', 'b'], arrived: ['a'], generation: 1 });
    expect(await clients.barriers.arrive('B', 'b', { generation: 1 })).toMatchObject({ status: 'released', generation: 1 });
    expect((await clients.barriers.list()).barriers.map((view) => view.generation)).toEqual([2]);
    expect(await clients.barriers.delete('B')).toMatchObject({ status: 'deleted' });
    expect((await refusal(clients.barriers.get('B'))).code).toBe('unknown_barrier');
    expect((await refusal(clients.barriers.arrive('B', 'a'))).code).toBe('unknown_barrier');
    expect((await refusal(clients.barriers.create('C', ['a', 'a']))).code).toBe('invalid_command');
  });

  it('wait returns at once when the arrival releases the generation', async () => {
    await clients.barriers.create('B', ['a']);
    expect(await clients.barriers.wait('B', 'a', { deadline: 2_000 })).toEqual({ barrier: 'B', generation: 1, outcome: 'released', reason: 'arrivals', index: 2 });
    expect(clock.slept).toEqual([]);
  });

  it('wait reads (stale by default) until another participant releases the generation', async () => {
    await clients.barriers.create('B', ['a', 'b']);
    port.beforeQuery = () => {
      if (port.queried.length === 3) port.apply(commands.arrive('B', 'b'));
    };
    const passed = await clients.barriers.wait('B', 'a', { deadline: 2_000, pollMs: 50 });
    expect(passed).toMatchObject({ generation: 1, outcome: 'released', reason: 'arrivals' });
    expect(clock.slept).toEqual([50, 50, 50]);
    expect(port.queried.every((call) => call.options?.consistency === 'stale' && call.options.deadline === 2_000)).toBe(true);
  });

  it('wait throws barrier_failed when the generation times out', async () => {
    await clients.barriers.create('B', ['a', 'b'], { timeoutMs: 500 });
    port.beforeQuery = () => {
      port.time = 600;
      port.apply(commands.tick());
    };
    const error = await refusal(clients.barriers.wait('B', 'a', { deadline: 2_000, consistency: 'linearizable' }));
    expect(error).toMatchObject({ code: 'barrier_failed', reason: 'timeout' });
    expect(port.queried[0].options?.consistency).toBe('linearizable');
  });

  it('wait throws wait_timeout at its deadline, its arrival standing', async () => {
    await clients.barriers.create('B', ['a', 'b']);
    const error = await refusal(clients.barriers.wait('B', 'a', { deadline: 1_250, pollMs: 100 }));
    expect(error.code).toBe('wait_timeout');
    expect(clock.slept).toEqual([100, 100, 50]);
    expect((await clients.barriers.get('B')).arrived).toEqual(['a']);
  });

  it('wait is bounded on a clock that does not move', async () => {
    await clients.barriers.create('B', ['a', 'b']);
    const frozen = createCoordinationClients(port, { clock: { now: () => 0, sleep: async () => undefined } });
    expect((await refusal(frozen.barriers.wait('B', 'a', { deadline: 300, pollMs: 100 }))).code).toBe('wait_timeout');
    expect(port.queried).toHaveLength(4);
  });

  it('wait says when the generation ended and another after it before it was read', async () => {
    await clients.barriers.create('B', ['a', 'b']);
    port.beforeQuery = () => {
      port.apply(commands.arrive('B', 'b'));
      port.apply(commands.arrive('B', 'a'));
      port.apply(commands.arrive('B', 'b'));
    };
    expect((await refusal(clients.barriers.wait('B', 'a', { deadline: 2_000 }))).code).toBe('outcome_unknown');
  });
});
