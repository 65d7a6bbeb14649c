import fc from 'fast-check';
import type { LedgerMessage } from '../../examples/ledger/messages';
import { ledgerBodyCodec } from '../../examples/ledger/wire';
import type { ElectionMessage } from '../../machines/election.schemas';
import {
  DEFAULT_MAX_WIRE_BYTES,
  decodeWire,
  electionBodyCodec,
  encodeWire,
  MAX_WIRE_DEPTH,
  WireError,
  wireCodec,
  type BodyCodec,
  type WireErrorCode,
} from '../../node/wire';
import { heartbeat, requestVote, solo } from '../node/soloNode';

const codec = wireCodec<LedgerMessage, ElectionMessage>({ round: ledgerBodyCodec, election: electionBodyCodec });
const text = (value: string) => Buffer.from(value, 'utf8');

/** The `WireError` code `run` throws; any other exception (or none) fails the test. */
function codeOf(run: () => unknown): WireErrorCode | 'no error' {
  try {
    run();
  } catch (error) {
    if (error instanceof WireError) return error.code;
    throw error;
  }
  return 'no error';
}

/** Decoding never throws anything but a `WireError`. */
function decodesOrRefuses(bytes: Uint8Array | string): void {
  try {
    codec.decode(bytes, 'n1');
  } catch (error) {
    if (!(error instanceof WireError)) throw error;
  }
}

const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

describe('the envelope', () => {
  it('is UTF-8 JSON {"v":1,"c":channel,"b":body}, and decodes back', () => {
    const body = { type: 'heartbeat', term: 3, leaderId: 'n2' };
    const bytes = encodeWire('election', body);
    expect(bytes.toString('utf8')).toBe('{"v":1,"c":"election","b":{"type":"heartbeat","term":3,"leaderId":"n2"}}');
    expect(decodeWire(bytes)).toEqual({ channel: 'election', body });
    expect(decodeWire(bytes.toString('utf8'))).toEqual({ channel: 'election', body });
    expect(decodeWire(text('{"b":[1,"é",null],"c":"round","v":1}'))).toEqual({ channel: 'round', body: [1, 'é', null] });
  });

  it('refuses an oversize frame before it decodes or parses a byte of it', () => {
    const parse = jest.spyOn(JSON, 'parse');
    const decode = jest.spyOn(TextDecoder.prototype, 'decode');
    try {
      const huge = Buffer.alloc(16 * DEFAULT_MAX_WIRE_BYTES, 0x5b);
      expect(codeOf(() => decodeWire(huge))).toBe('oversize');
      expect(codeOf(() => codec.decode(Buffer.alloc(DEFAULT_MAX_WIRE_BYTES + 1, 0x20)))).toBe('oversize');
      expect(codeOf(() => decodeWire('['.repeat(DEFAULT_MAX_WIRE_BYTES + 1)))).toBe('oversize');
      // Two bytes a character in UTF-8: past the limit in bytes, not in characters.
      expect(codeOf(() => decodeWire('é'.repeat(DEFAULT_MAX_WIRE_BYTES / 2 + 1)))).toBe('oversize');
      expect(parse).not.toHaveBeenCalled();
      expect(decode).not.toHaveBeenCalled();
    } finally {
      parse.mockRestore();
      decode.mockRestore();
    }
  });

  it('takes its limit as an option, for decoding and encoding both', () => {
    const frame = encodeWire('round', 'x'.repeat(100));
    expect(codeOf(() => decodeWire(frame, { maxBytes: frame.byteLength }))).toBe('no error');
    expect(codeOf(() => decodeWire(frame, { maxBytes: frame.byteLength - 1 }))).toBe('oversize');
    expect(codeOf(() => encodeWire('round', 'x'.repeat(100), { maxBytes: 64 }))).toBe('oversize');
    const small = wireCodec({ round: ledgerBodyCodec, election: electionBodyCodec, maxBytes: 64 });
    expect(codeOf(() => small.encode({ channel: 'round', body: { kind: 'payload', payload: 'p'.repeat(100) } }))).toBe('oversize');
    expect(codeOf(() => small.decode(encodeWire('round', { kind: 'payload', payload: 'p'.repeat(100) })))).toBe('oversize');
    expect(() => wireCodec({ round: ledgerBodyCodec, election: electionBodyCodec, maxBytes: 0 })).toThrow(RangeError);
  });

  it.each([
    ['not UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
    ['empty', Buffer.alloc(0)],
    ['not JSON', text('hello')],
    ['cut short', text('{"v":1,"c":"round","b":{"kind"')],
    ['two values', text('{"v":1} {"v":1}')],
    ['a trailing comma', text('{"v":1,"c":"round","b":1,}')],
    ['not bytes', 42 as unknown as Uint8Array],
    ['null', null as unknown as Uint8Array],
  ])('refuses %s as not_json', (_label, bytes) => {
    expect(codeOf(() => decodeWire(bytes))).toBe('not_json');
  });

  it.each([
    ['version 2', '{"v":2,"c":"round","b":{}}'],
    ['version 0', '{"v":0,"c":"round","b":{}}'],
    ['a later version of another shape', '{"v":7,"channel":"round","payload":{}}'],
  ])('refuses %s as version', (_label, frame) => {
    expect(codeOf(() => decodeWire(text(frame)))).toBe('version');
  });

  it.each([
    ['an array', '[1,"round",{}]'],
    ['null', 'null'],
    ['a number', '1'],
    ['a string', '"round"'],
    ['no version', '{"c":"round","b":{}}'],
    ['a version as text', '{"v":"1","c":"round","b":{}}'],
    ['a fractional version', '{"v":1.5,"c":"round","b":{}}'],
    ['a negative version', '{"v":-1,"c":"round","b":{}}'],
    ['an unknown channel', '{"v":1,"c":"gossip","b":{}}'],
    ['a channel in capitals', '{"v":1,"c":"ROUND","b":{}}'],
    ['no channel', '{"v":1,"b":{}}'],
    ['no body', '{"v":1,"c":"round"}'],
    ['an extra field', '{"v":1,"c":"round","b":{},"sig":"x"}'],
  ])('refuses %s as bad_envelope', (_label, frame) => {
    expect(codeOf(() => decodeWire(text(frame)))).toBe('bad_envelope');
  });

  it.each(['__proto__', 'constructor', 'prototype'])('refuses a key named %s at any depth, and pollutes nothing', (key) => {
    const frames = [
      `{"v":1,"c":"round","b":{},"${key}":{"polluted":true}}`,
      `{"v":1,"c":"round","b":{"${key}":{"polluted":true}}}`,
      `{"v":1,"c":"round","b":{"kind":"payload","payload":[{"a":{"${key}":{"polluted":true}}}]}}`,
      `{"v":1,"c":"election","b":{"type":"heartbeat","term":1,"leaderId":"n2","${key}":{"toString":1}}}`,
      // JSON escapes spell the same key.
      `{"v":1,"c":"round","b":{"${key.replace('_', '\\u005f')}":{"polluted":true}}}`,
    ];
    for (const frame of frames) expect([frame, codeOf(() => codec.decode(text(frame)))]).toEqual([frame, 'bad_envelope']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.toString).toBe(Object.prototype.toString);
    // The name as a value, not a key, is only text.
    expect(decodeWire(text(`{"v":1,"c":"round","b":["${key}"]}`)).body).toEqual([key]);
  });

  it(`refuses nesting deeper than ${MAX_WIRE_DEPTH} levels, counting the envelope, but not brackets inside strings`, () => {
    expect(decodeWire(text(`{"v":1,"c":"round","b":${nested(MAX_WIRE_DEPTH - 1)}}`)).channel).toBe('round');
    expect(codeOf(() => decodeWire(text(`{"v":1,"c":"round","b":${nested(MAX_WIRE_DEPTH)}}`)))).toBe('bad_envelope');
    expect(codeOf(() => decodeWire(text(`{"v":1,"c":"round","b":${nested(100_000)}}`)))).toBe('bad_envelope');
    expect(codeOf(() => decodeWire(text(`{"v":1,"c":"round","b":${'{"a":'.repeat(40)}1${'}'.repeat(40)}}`)))).toBe('bad_envelope');
    const inString = JSON.stringify(`\\"${'['.repeat(100)}`);
    expect(decodeWire(text(`{"v":1,"c":"round","b":${inString}}`)).body).toBe(`\\"${'['.repeat(100)}`);
  });

  it('refuses a body with a huge array quickly, as bad_body', () => {
    const zeros = Array(400_000).fill('0').join(',');
    const started = process.hrtime.bigint();
    expect(codeOf(() => codec.decode(text(`{"v":1,"c":"round","b":{"kind":"sync_response","id":1,"frames":[${zeros}]}}`)))).toBe('bad_body');
    expect(codeOf(() => codec.decode(text(`{"v":1,"c":"election","b":[${zeros}]}`)))).toBe('bad_body');
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(2_000);
  });

  it('will not encode what is not JSON data, nor on an unknown channel', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const body of [undefined, 1n, cyclic, () => 1, Symbol('s')]) expect(codeOf(() => encodeWire('round', body))).toBe('bad_body');
    expect(codeOf(() => encodeWire('gossip' as 'round', {}))).toBe('bad_envelope');
    expect(codeOf(() => codec.encode({ channel: 'round', body: { kind: 'vote', voter: 42 } as unknown as LedgerMessage }))).toBe('bad_body');
  });

  it('turns whatever a body codec throws into bad_body, and names the sender', () => {
    const throwing: BodyCodec<unknown> = {
      toWire: () => {
        throw new TypeError('cannot');
      },
      fromWire: () => {
        throw 'a string, not an Error';
      },
    };
    const odd = wireCodec({ round: throwing, election: throwing });
    expect(codeOf(() => odd.encode({ channel: 'round', body: 1 }))).toBe('bad_body');
    let caught: unknown;
    try {
      odd.decode(encodeWire('election', {}), 'n3');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(WireError);
    expect(caught).toMatchObject({ code: 'bad_body', from: 'n3', name: 'WireError' });
  });
});

describe('election messages over the wire', () => {
  const messages: ElectionMessage[] = [
    requestVote('n2', 1),
    { type: 'request_vote', preVote: true, term: 2, candidateId: 'n3', lastLogTerm: 1, lastLogIndex: 9 },
    { type: 'request_vote_response', preVote: false, term: 1, granted: true },
    heartbeat('n2', 1),
    { type: 'heartbeat_response', term: 1, success: false },
  ];

  it('round-trip every message type as the same plain data', () => {
    for (const body of messages) {
      const decoded = codec.decode(codec.encode({ channel: 'election', body }), 'n2');
      expect(decoded).toEqual({ channel: 'election', body });
      expect(Object.isFrozen(decoded.body)).toBe(true);
    }
  });

  it('reach receiveElectionMessage valid: a decoded vote request is granted, a decoded heartbeat makes a leader', async () => {
    const s = await solo();
    const decode = (body: ElectionMessage) => codec.decode(codec.encode({ channel: 'election', body }), 'n2').body as ElectionMessage;
    await s.deliver('n2', decode(requestVote('n2', 1)));
    const [answer] = s.outbound;
    expect(answer).toEqual({ to: 'n2', message: { type: 'request_vote_response', preVote: false, term: 1, granted: true } });
    // The node's own answer crosses too.
    expect(decode(answer.message)).toEqual(answer.message);
    await s.deliver('n2', decode(heartbeat('n2', 1)));
    expect(s.node.getLeader()?.identity()).toBe('n2');
    for (const body of messages.slice(2)) expect(() => s.node.receiveElectionMessage('n2', decode(body))).not.toThrow();
    await s.node.stop();
  });

  it.each([
    ['an unknown type', { type: 'append_entries', term: 1 }],
    ['an extra field', { ...heartbeat('n2', 1), entries: [] }],
    ['a term as text', { type: 'heartbeat', term: '1', leaderId: 'n2' }],
    ['a negative term', { type: 'heartbeat_response', term: -1, success: true }],
    ['an unsafe term', { type: 'heartbeat_response', term: 2 ** 60, success: true }],
    ['a node id with a space', { type: 'heartbeat', term: 1, leaderId: 'n 2' }],
    ['a long node id', { type: 'heartbeat', term: 1, leaderId: 'n'.repeat(129) }],
    ['a missing field', { type: 'request_vote_response', term: 1, granted: true }],
    ['an array', [heartbeat('n2', 1)]],
    ['null', null],
  ])('refuse %s as bad_body', (_label, body) => {
    expect(codeOf(() => codec.decode(encodeWire('election', body)))).toBe('bad_body');
  });
});

describe('whatever arrives, decoding throws a WireError or nothing', () => {
  it('for arbitrary bytes and text', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => decodesOrRefuses(bytes)), { numRuns: 500 });
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 256 }), (value) => decodesOrRefuses(value)), { numRuns: 500 });
  });

  it('for arbitrary JSON, in and out of envelopes, cut anywhere', () => {
    const envelope = fc.record(
      { v: fc.oneof(fc.constant(1), fc.jsonValue()), c: fc.oneof(fc.constantFrom('round', 'election'), fc.jsonValue()), b: fc.jsonValue() },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(envelope, fc.jsonValue()), fc.nat(), (value, cut) => {
        const json = JSON.stringify(value);
        decodesOrRefuses(json);
        decodesOrRefuses(text(json));
        decodesOrRefuses(json.slice(0, cut % (json.length + 1)));
      }),
      { numRuns: 1_000 },
    );
  });

  it('for envelopes whose bodies are a real message with one field replaced by anything', () => {
    const bodies = fc.oneof(
      fc.record({ kind: fc.constantFrom('vote', 'proposal', 'entries', 'sync_response', 'lock_proof', 'payload'), peer: fc.jsonValue(), proposal: fc.jsonValue() }),
      fc.record({ type: fc.constantFrom('heartbeat', 'request_vote'), term: fc.jsonValue(), leaderId: fc.jsonValue(), candidateId: fc.jsonValue() }),
    );
    fc.assert(
      fc.property(fc.constantFrom('round', 'election'), bodies, (channel, body) => decodesOrRefuses(`{"v":1,"c":"${channel}","b":${JSON.stringify(body)}}`)),
      { numRuns: 500 },
    );
  });
});
