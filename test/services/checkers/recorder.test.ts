import { ServiceRecorder } from '../../support/services/recorder';

/**
 * How outcomes become the checkers' records: a committed refusal and an
 * aborted request leave the KV history, an expired command stays in it with
 * no return, and the lock log keeps every request with its index.
 */

function recorder(): { record: ServiceRecorder; at: (time: number) => void } {
  let now = 0;
  return { record: new ServiceRecorder(() => now), at: (time) => (now = time) };
}

const taken = (value: unknown) => ({ ok: true, value, events: [] });
const refusal = (code: string) => ({ ok: false, error: { code, message: code } });

test('puts: accepted ones return, refused and aborted ones leave the history, expired ones stay open', () => {
  const { record, at } = recorder();
  const accepted = record.put('c0', 'k', 'c0.1');
  const refused = record.put('c1', 'k', 'c1.1');
  const aborted = record.put('c2', 'k', 'c2.1');
  const expired = record.put('c3', 'k', 'c3.1');
  at(7);
  expect(accepted({ outcome: 'committed', index: 1, result: taken({ key: 'k', clock: { c0: 1 } }) })).toEqual({ kind: 'accepted', clock: { c0: 1 } });
  expect(refused({ outcome: 'committed', index: 2, result: refusal('key_too_long') })).toEqual({ kind: 'refused', code: 'key_too_long' });
  expect(aborted({ outcome: 'aborted', reason: 'no leader' })).toEqual({ kind: 'refused', code: 'aborted: no leader' });
  expect(expired({ outcome: 'expired' })).toEqual({ kind: 'unknown' });
  expect(record.kvHistory()).toEqual([
    { client: 'c0', input: { op: 'put', key: 'k', value: 'c0.1' }, call: 0, return: 7 },
    { client: 'c3', input: { op: 'put', key: 'k', value: 'c3.1' }, call: 0 },
  ]);
  expect(record.lockLog()).toEqual([]);
});

test('gets: an answered one reads its single value (null when absent); an unanswered one is dropped', () => {
  const { record, at } = recorder();
  const found = record.get('c0', 'k');
  const absent = record.get('c0', 'j');
  const siblings = record.get('c1', 'k');
  const lost = record.get('c2', 'k');
  at(3);
  const entry = (values: string[]) => ({ ok: true, value: { key: 'k', found: values.length > 0, values, clock: { c0: 1 }, versions: [] } });
  expect(found({ outcome: 'answered', index: 4, answer: entry(['c0.1']) })).toEqual({ kind: 'value', value: 'c0.1', clock: { c0: 1 } });
  absent({ outcome: 'answered', index: 4, answer: entry([]) });
  siblings({ outcome: 'answered', index: 4, answer: entry(['a', 'b']) });
  expect(lost({ outcome: 'expired' })).toEqual({ kind: 'unknown' });
  expect(record.kvHistory().map((operation) => operation.output)).toEqual(['c0.1', null, 'unexpected ["a","b"]']);
});

test('a fenced write goes into both records; lock steps carry their index, status or code', () => {
  const { record, at } = recorder();
  const acquire = record.acquire('c0', 'c0/1', 'L');
  at(2);
  expect(acquire({ outcome: 'committed', index: 1, result: taken({ status: 'granted', token: 4, count: 1, expiresAt: 400 }) })).toEqual({
    kind: 'granted',
    token: 4,
  });
  const write = record.put('c0', 'L/data', 'c0.1', { owner: 'c0/1', lock: 'L', token: 4 });
  at(5);
  expect(write({ outcome: 'committed', index: 2, result: refusal('stale_fence_token') })).toEqual({ kind: 'refused', code: 'stale_fence_token' });
  const poll = record.holder('c1', 'c1/1', 'L');
  at(6);
  const view = { lock: 'L', holder: { owner: 'c1/1', token: 5 }, waiters: [] };
  expect(poll({ outcome: 'answered', index: 2, answer: { ok: true, value: view } })).toEqual({ kind: 'held', token: 5 });
  const release = record.release('c1', 'c1/1', 'L', 5);
  expect(release({ outcome: 'expired' })).toEqual({ kind: 'unknown' });
  expect(record.lockLog()).toEqual([
    { client: 'c0', owner: 'c0/1', lock: 'L', step: 'acquire', token: 4, outcome: 'ok', status: 'granted', index: 1, call: 0, return: 2 },
    {
      client: 'c0',
      owner: 'c0/1',
      lock: 'L',
      step: 'write',
      token: 4,
      key: 'L/data',
      value: 'c0.1',
      outcome: 'refused',
      code: 'stale_fence_token',
      index: 2,
      call: 2,
      return: 5,
    },
    { client: 'c1', owner: 'c1/1', lock: 'L', step: 'holder', token: 5, outcome: 'ok', status: 'held', index: 2, call: 5, return: 6 },
    { client: 'c1', owner: 'c1/1', lock: 'L', step: 'release', token: 5, outcome: 'expired', call: 6 },
  ]);
  expect(record.kvHistory()).toEqual([]);
});
