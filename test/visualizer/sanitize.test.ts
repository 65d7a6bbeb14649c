import { CIRCULAR, REDACTED, sanitizeContext, sanitizeValue, summarizeRankBook, TOO_DEEP, UNREADABLE } from '../../visualizer/sanitize';

class Peer {
  constructor(
    readonly name: string,
    readonly privateKey: string,
  ) {}
  identity() {
    return this.name;
  }
}

describe('sanitizeValue', () => {
  test('keeps plain data as it is', () => {
    const value = { a: 1, b: 'two', c: [true, null], d: { e: -0.5 } };
    expect(sanitizeValue(value)).toEqual(value);
  });

  test('drops functions and symbols, keeps class instances as their own fields', () => {
    expect(sanitizeValue({ run: () => 1, tag: Symbol('x'), peer: new Peer('n1', 'k') })).toEqual({
      peer: { name: 'n1', privateKey: REDACTED },
    });
    expect(sanitizeValue([() => 1, 2])).toEqual([null, 2]);
  });

  test.each(['secret', 'privateKey', 'private_key', 'apiToken', 'accessToken', 'password', 'passwd', 'credentials', 'apiKey'])(
    'redacts the value under a key named like %s, at any depth',
    (key) => {
      expect(sanitizeValue({ outer: { inner: [{ [key]: { anything: 'x' } }] } })).toEqual({ outer: { inner: [{ [key]: REDACTED }] } });
    },
  );

  test('caps strings, arrays and objects, saying how much was cut', () => {
    expect(sanitizeValue('x'.repeat(10), { maxStringLength: 4 })).toBe('xxxx…(+6 chars)');
    expect(sanitizeValue([1, 2, 3, 4, 5], { maxArrayLength: 2 })).toEqual([1, 2, '… 3 more']);
    expect(sanitizeValue({ a: 1, b: 2, c: 3, f: () => 0, d: 4 }, { maxObjectEntries: 2 })).toEqual({ a: 1, b: 2, '…': '2 more entries' });
  });

  test('cuts nesting at the depth limit and cycles where they close', () => {
    expect(sanitizeValue({ a: { b: { c: 1 } } }, { maxDepth: 2 })).toEqual({ a: { b: TOO_DEEP } });
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    expect(sanitizeValue(cyclic)).toEqual({ name: 'loop', self: CIRCULAR });
    const shared = { v: 1 };
    expect(sanitizeValue({ x: shared, y: shared })).toEqual({ x: { v: 1 }, y: { v: 1 } });
  });

  test('turns what JSON cannot carry into what it can', () => {
    expect(
      sanitizeValue({
        big: 12n,
        nan: Number.NaN,
        when: new Date(0),
        map: new Map([[1, 2]]),
        set: new Set([1]),
        bytes: new Uint8Array(3),
        error: new TypeError('bad'),
      }),
    ).toEqual({
      big: '12n',
      nan: 'NaN',
      when: '1970-01-01T00:00:00.000Z',
      map: { $type: 'Map', size: 1 },
      set: { $type: 'Set', size: 1 },
      bytes: { $type: 'bytes', size: 3 },
      error: { name: 'TypeError', message: 'bad' },
    });
  });

  test('never throws on getters or proxies that do', () => {
    const trap = new Proxy({}, { ownKeys: () => { throw new Error('no'); }, getPrototypeOf: () => { throw new Error('no'); } });
    const getter = Object.defineProperty({}, 'boom', { enumerable: true, get: () => { throw new Error('kaboom'); } });
    expect(sanitizeValue({ trap, getter })).toEqual({ trap: UNREADABLE, getter: { boom: { name: 'Error', message: 'kaboom' } } });
  });
});

describe('sanitizeContext', () => {
  test("replaces the round's message books by per-rank counts and sanitizes the rest", () => {
    const entry = { value: new Peer('n1', 'k'), contentId: 'c' };
    const context = {
      activeRank: 4,
      self: new Peer('n0', 'secret-key-material'),
      liveness: { '5': { n1: entry, n2: entry } },
      proposals: { '6': { n1: entry }, '5': { n1: entry, n2: entry, n3: entry } },
      votes: {},
      confirmations: { '10': { n1: entry } },
    };
    expect(sanitizeContext(context)).toEqual({
      activeRank: 4,
      self: { name: 'n0', privateKey: REDACTED },
      liveness: { '5': 2 },
      proposals: { '5': 3, '6': 1 },
      votes: {},
      confirmations: { '10': 1 },
    });
    expect(JSON.stringify(sanitizeContext(context))).not.toContain('secret-key-material');
  });

  test('a book is summarised however many senders and ranks it holds', () => {
    const senders = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`n${i}`, { value: i }]));
    const book = Object.fromEntries(Array.from({ length: 16 }, (_, rank) => [String(rank + 1), senders]));
    const counts = summarizeRankBook(book);
    expect(Object.keys(counts)).toHaveLength(16);
    expect(Object.values(counts).every((count) => count === 300)).toBe(true);
    expect(JSON.stringify(sanitizeContext({ votes: book })).length).toBeLessThan(300);
  });
});
