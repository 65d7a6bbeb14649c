// Side by side: the wire encoding for node-to-node messages. JSON on UTF-8
// Buffers (no dependency) vs msgpackr (plain, inline records, per-connection
// sequential records) vs @msgpack/msgpack, on plain-data copies of what the
// ledger, engine and election actually send. Set up with
// `npm ci --prefix bench/codec-candidates`, then
// `node bench/codec-candidates/run.mjs [--ms 200] [--repeat 5] [--timeout 10000] [--json]`.
//
// Plain JavaScript on purpose: the project's tsc never sees these imports, and
// the two third-party packages live only in this directory's node_modules.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect, isDeepStrictEqual, parseArgs } from 'node:util';
import { Packr, Unpackr, isNativeAccelerationEnabled } from 'msgpackr';
import { Decoder, Encoder } from '@msgpack/msgpack';

const here = dirname(fileURLToPath(import.meta.url));
const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    ms: { type: 'string', default: '200' },
    repeat: { type: 'string', default: '5' },
    timeout: { type: 'string', default: '10000' },
    json: { type: 'boolean', default: false },
    child: { type: 'boolean', default: false },
  },
});
const TARGET_NS = Number(flags.ms) * 1e6;
const REPEAT = Number(flags.repeat);
const TIMEOUT_MS = Number(flags.timeout);

// One encoder/decoder pair per candidate, reused across calls as each library
// recommends; `encode` must return bytes the caller may keep (as socket.write
// would), so @msgpack's shared-ref variant is not used. `msgpack` marks the
// candidates that read MessagePack bytes (the hostile inputs differ by format).
function candidates() {
  const plain = [new Packr({ useRecords: false }), new Unpackr({ useRecords: false })];
  const records = [new Packr({ useRecords: true }), new Unpackr({ useRecords: true })];
  // A stand-in for one TCP connection: the first message of each shape carries
  // its record definition, later ones only a reference, and the decoder keeps
  // what it learned; so both sides are stateful per connection.
  const seq = [new Packr({ sequential: true }), new Unpackr({ sequential: true })];
  const enc = new Encoder(), dec = new Decoder();
  return [
    { name: 'JSON', msgpack: false, encode: (v) => Buffer.from(JSON.stringify(v), 'utf8'), decode: (b) => JSON.parse(b.toString('utf8')) },
    { name: 'msgpackr', msgpack: true, encode: (v) => plain[0].pack(v), decode: (b) => plain[1].unpack(b) },
    { name: 'msgpackr records', msgpack: true, encode: (v) => records[0].pack(v), decode: (b) => records[1].unpack(b) },
    { name: 'msgpackr seq/conn', msgpack: true, encode: (v) => seq[0].pack(v), decode: (b) => seq[1].unpack(b), primes: true },
    { name: '@msgpack/msgpack', msgpack: true, encode: (v) => enc.encode(v), decode: (b) => dec.decode(b) },
  ];
}

// Deterministic, so every run (and every machine) encodes the same bytes.
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Shapes from examples/ledger/{messages,types}.ts, engine/signing/certificate.ts,
// engine/catchUp.ts, providers/relay.ts and machines/election.schemas.ts, as the
// plain data a codec sees (peers and votes by their enumerable fields).
// Signatures are what engine/signing/keys.ts makes: 64 bytes, base64 (88 chars).
function fixtures() {
  const rnd = mulberry32(7);
  const hex = (n) => Array.from({ length: n }, () => ((rnd() * 16) | 0).toString(16)).join('');
  const sig = () => Buffer.from(Array.from({ length: 64 }, () => (rnd() * 256) | 0)).toString('base64');
  const entry = () => `transfer ${hex(8)} -> ${hex(8)} amount=${(rnd() * 1e5) | 0}`;
  const frame = (height, count) => ({ height, parent: hex(16), prover: `n${height % 4}`, entries: Array.from({ length: count }, entry), hash: hex(16) });
  const certificate = (rank, n) => ({
    rank, attempt: 0, valueDigest: hex(64),
    signers: Array.from({ length: n }, (_, i) => `n${i}`), signatures: Array.from({ length: n }, sig),
  });
  const framed = hex(16);
  // A snapshot chunk's data is a slice of the app state's JSON text, so JSON
  // must escape every quote in it: realistic, and it costs JSON bytes.
  let state = '';
  for (let h = 1; state.length < 65536; h += 1) state += JSON.stringify(frame(h, 10)) + ',';
  return [
    ['election request_vote', { type: 'request_vote', preVote: false, term: 42, candidateId: 'n3', lastLogTerm: 41, lastLogIndex: 1287 }],
    ['vote + signature', { kind: 'vote', proposer: { name: 'n2' }, voter: { name: 'n0' }, vote: { height: 1287, voter: 'n0', proposer: 'n2', frame: framed }, attempt: 0, proposal: framed, signature: sig() }],
    ['proposal, 10 entries', { kind: 'proposal', peer: { name: 'n1' }, proposal: frame(1287, 10), attempt: 0, validAttempt: null }],
    ['proposal, 100 entries', { kind: 'proposal', peer: { name: 'n1' }, proposal: frame(1288, 100), attempt: 1, validAttempt: 0 }],
    ['certificate, 4 signers', certificate(1287, 4)],
    ['certificate, 16 signers', certificate(1287, 16)],
    ['certificate, 64 signers', certificate(1287, 64)],
    ['entries: 64 × (frame10, cert n=4)', { kind: 'entries', entries: Array.from({ length: 64 }, (_, i) => ({ state: frame(1000 + i, 10), certificate: certificate(1000 + i, 4) })) }],
    ['snapshot chunk 64 KiB', { index: 1287, state: frame(1287, 10), certificate: certificate(1287, 4), dataDigest: hex(64), size: 3_407_872, offset: 65536, data: state.slice(0, 65536) }],
  ];
}

// A fresh loop function per measurement (new Function): closures of one
// literal share type feedback in V8, which would let the first candidate run
// monomorphic and the rest megamorphic.
function opsPerSec(fn, arg) {
  const loop = new Function('fn', 'arg', 'n', 'let r; for (let i = 0; i < n; i++) r = fn(arg); return r;');
  const time = (n) => { const t = process.hrtime.bigint(); loop(fn, arg, n); return Number(process.hrtime.bigint() - t); };
  // Doubling until a batch takes a quarter of the target is the warm-up and the calibration.
  let n = 1, ns = time(n);
  while (ns < TARGET_NS / 4) { n *= 2; ns = time(n); }
  n = Math.max(1, Math.round((n * TARGET_NS) / ns));
  const rates = [];
  for (let i = 0; i < REPEAT; i += 1) rates.push((n * 1e9) / time(n));
  rates.sort((a, b) => a - b);
  const median = rates[(rates.length - 1) >> 1];
  return { median, spread: (rates[rates.length - 1] - rates[0]) / median };
}

function firstDifference(a, b, path = '$') {
  if (isDeepStrictEqual(a, b)) return null;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return `${path}: ${inspect(a)} → ${inspect(b)}`;
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (!(k in b)) return `${path}.${k} dropped`;
    const d = firstDifference(a[k], b[k], `${path}.${k}`);
    if (d) return d;
  }
  return `${path}: prototype ${a.constructor?.name} → ${b.constructor?.name}`;
}

function benchFixtures() {
  const cands = candidates();
  const rows = [];
  for (const [fixture, value] of fixtures()) {
    for (const c of cands) {
      // The sequential codec's first message of a shape teaches the decoder; measure the steady state after it.
      if (c.primes) c.decode(Buffer.from(c.encode(value)));
      const wire = Buffer.from(c.encode(value)); // a copy, as it would arrive from a socket
      let roundTrip;
      try { roundTrip = firstDifference(value, c.decode(wire)) ?? 'ok'; } catch (e) { roundTrip = `decode threw: ${e.message}`; }
      const enc = opsPerSec(c.encode, value), dec = opsPerSec(c.decode, wire);
      rows.push({ fixture, codec: c.name, bytes: wire.length, encodeOps: enc.median, encodeSpread: enc.spread, decodeOps: dec.median, decodeSpread: dec.spread, roundTrip });
    }
  }
  for (const r of rows) {
    const base = rows.find((x) => x.fixture === r.fixture && x.codec === 'JSON');
    Object.assign(r, { bytesVsJson: r.bytes / base.bytes, encodeVsJson: r.encodeOps / base.encodeOps, decodeVsJson: r.decodeOps / base.decodeOps });
  }
  return rows;
}

// Values outside the fixtures' strings-and-small-integers that messages could
// still carry: what comes back tells what a schema on the far side would see.
const PROBES = [
  ['integer 1287', 1287], ['2^53 − 1', 2 ** 53 - 1], ['float 0.1', 0.1], ['-0', -0], ['NaN', NaN], ['Infinity', Infinity],
  ['null', null], ['{a: undefined}', { a: undefined }], ['[undefined]', [undefined]], ['BigInt 2^64 − 1', 2n ** 64n - 1n],
  ['Date(0)', new Date(0)], ['Uint8Array [1,2,3]', new Uint8Array([1, 2, 3])], ["Map {'k' → 1}", new Map([['k', 1]])],
  ['own __proto__ key', JSON.parse('{"__proto__":{"x":1}}')], ['lone surrogate \\ud800', '\ud800'],
];

function probeTypes() {
  const cands = candidates();
  return PROBES.map(([label, value]) => {
    const row = { value: label };
    for (const c of cands) {
      let wire;
      try { wire = Buffer.from(c.encode(value)); } catch (e) { row[c.name] = `encode threw: ${e.message}`; continue; }
      try {
        const back = c.decode(wire);
        row[c.name] = isDeepStrictEqual(back, value) ? 'ok' : `→ ${inspect(back, { breakLength: Infinity, depth: 3 })}`;
      } catch (e) { row[c.name] = `decode threw: ${e.message}`; }
    }
    return row;
  });
}

// Each hostile case's bytes in both formats; null where the format has no such thing.
const nested = (depth, msgpack) =>
  msgpack ? Buffer.concat([Buffer.alloc(depth, 0x91), Buffer.from([0x90])]) : Buffer.from('['.repeat(depth) + ']'.repeat(depth));
const randomMiB = (seed, header) => {
  const rnd = mulberry32(seed), b = Buffer.allocUnsafe(1 << 20);
  for (let i = 0; i < b.length; i += 1) b[i] = (rnd() * 256) | 0;
  header.copy(b);
  return b;
};
const HOSTILE = {
  'random 1 MiB (8 seeds)': () => Array.from({ length: 8 }, (_, s) => randomMiB(1000 + s, Buffer.alloc(0))),
  // Bare random bytes mostly fail on the first one; behind a container header
  // the decoder must walk the random items, through every type and extension.
  'random 1 MiB after an array header (64 seeds)': (m) =>
    Array.from({ length: 64 }, (_, s) => randomMiB(2000 + s, m ? Buffer.from([0xdd, 0, 0x10, 0, 0]) : Buffer.from('['))),
  'nested array, depth 10,000': (m) => [nested(10_000, m)],
  'nested array, depth 100,000': (m) => [nested(100_000, m)],
  'nested array, depth 1,000,000': (m) => [nested(1_000_000, m)],
  'array32 header claims 2^32−1 items (5 B)': (m) => (m ? [Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff])] : null),
  'str32 header claims 4 GiB (8 B)': (m) => (m ? [Buffer.from([0xdb, 0xff, 0xff, 0xff, 0xff, 0x61, 0x62, 0x63])] : null),
  'map32 claims 2^32−1 pairs, 1 given': (m) => (m ? [Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 0x6b, 0x01])] : null),
  // msgpackr's own extension bytes (made with moreTypes and useBigIntExtension):
  // what a peer can make a decoder build besides plain data.
  'ext: RegExp, Set, Error, BigInt, Float64Array, int64': (m) =>
    m ? [Buffer.from('96d4780092a3612b24a167d473009101d4650093a54572726f72a178d40000d84200000000000000400000000000000000c7097408000000000000f03fd31000000000000000', 'hex')] : null,
  '{"__proto__": {"polluted": 1}}': (m) =>
    [m ? Buffer.from('81a95f5f70726f746f5f5f81a8706f6c6c7574656401', 'hex') : Buffer.from('{"__proto__":{"polluted":1}}')],
};

// Runs in a child process: a decoder that overflows natively or loops forever takes only the child down.
function hostileChild(codecName, caseName) {
  const c = candidates().find((x) => x.name === codecName);
  const inputs = HOSTILE[caseName](c.msgpack);
  if (!inputs) return { outcome: 'n/a', detail: 'no such thing in this format (JSON.parse builds only plain data)' };
  const errors = new Map();
  let returned = 0, maxMs = 0, detail = '';
  for (const input of inputs) {
    const t = performance.now();
    try {
      const v = c.decode(input);
      returned += 1;
      if (caseName.includes('__proto__')) {
        const what = v instanceof Map ? `a Map, keys [${[...v.keys()]}]` : `keys [${Object.keys(v)}], prototype ${Object.getPrototypeOf(v) === Object.prototype ? 'intact' : 'REPLACED'}`;
        detail = `${what}, Object.prototype ${({}).polluted ? 'POLLUTED' : 'clean'}`;
      } else if (caseName.startsWith('ext')) detail = `built [${v.map((x) => x?.constructor?.name ?? typeof x)}]`;
      else detail = `value: ${inspect(v, { depth: 1, breakLength: Infinity, maxArrayLength: 3, maxStringLength: 20 }).slice(0, 60)}`;
    } catch (e) {
      // Grouped by kind: quoted input and numbers differ per seed.
      const m = `${e.constructor.name}: ${e.message}`.replace(/"[\s\S]*$|'[^']*'/g, '…').replace(/\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b/g, 'N').slice(0, 70);
      errors.set(m, (errors.get(m) ?? 0) + 1);
    }
    maxMs = Math.max(maxMs, performance.now() - t);
  }
  // Module-level decoder state left half-way by a throw would garble the next honest message.
  const good = { kind: 'vote', voter: { name: 'n0' }, attempt: 0 };
  let after;
  try { after = isDeepStrictEqual(c.decode(Buffer.from(c.encode(good))), good) ? 'ok' : 'WRONG'; } catch (e) { after = `THREW ${e.message}`; }
  const threw = inputs.length - returned;
  const outcome = threw === inputs.length ? 'threw' : returned === inputs.length ? 'returned' : `threw ${threw}/${inputs.length}`;
  const errs = [...errors].map(([m, k]) => (inputs.length > 1 ? `${k}× ${m}` : m)).join(' | ');
  return { outcome, detail: [errs, detail].filter(Boolean).join(' | '), maxMs: Number(maxMs.toFixed(2)), maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024), nextGoodMessage: after };
}

function hostile() {
  const rows = [];
  for (const c of candidates()) {
    for (const caseName of Object.keys(HOSTILE)) {
      const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', c.name, caseName], { encoding: 'utf8', timeout: TIMEOUT_MS, maxBuffer: 1 << 20 });
      let res;
      if (r.error?.code === 'ETIMEDOUT') res = { outcome: 'HUNG', detail: `killed after ${TIMEOUT_MS} ms` };
      else if (r.status !== 0) res = { outcome: 'CRASHED', detail: `${r.signal ?? `exit ${r.status}`}: ${(r.stderr.trim().split('\n').find((l) => /error|fatal|abort/i.test(l)) ?? r.stderr.trim().split('\n').pop() ?? '').slice(0, 80)}` };
      else res = JSON.parse(r.stdout);
      rows.push({ codec: c.name, case: caseName, ...res });
    }
  }
  return rows;
}

function versions() {
  const v = (p) => JSON.parse(readFileSync(join(here, 'node_modules', p, 'package.json'), 'utf8')).version;
  let extract = null;
  try { extract = v('msgpackr-extract'); } catch { /* optional dependency absent */ }
  return { node: process.version, msgpackr: v('msgpackr'), 'msgpackr-extract': extract, msgpackrNative: isNativeAccelerationEnabled, '@msgpack/msgpack': v('@msgpack/msgpack') };
}

function table(headers, rows) {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (i > 0 && /^[\d.,]+[KMB]?[×%]?$/.test(String(c)) ? String(c).padStart(w[i]) : String(c).padEnd(w[i]))).join('  ').trimEnd();
  return [line(headers), w.map((x) => '-'.repeat(x)).join('  '), ...rows.map(line)].join('\n');
}

const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumSignificantDigits: 3 });
const ratio = (x) => `${x.toFixed(2)}×`;

if (flags.child) {
  process.stdout.write(JSON.stringify(hostileChild(positionals[0], positionals[1])));
} else {
  const meta = versions();
  const results = benchFixtures();
  const probes = probeTypes();
  const hostileRows = hostile();
  if (flags.json) {
    console.log(JSON.stringify({ versions: meta, msPerRepeat: Number(flags.ms), repeat: REPEAT, results, probes, hostile: hostileRows }, null, 2));
  } else {
    console.log(`node ${meta.node}, msgpackr ${meta.msgpackr} (native string extraction: ${meta.msgpackrNative ? `on, msgpackr-extract ${meta['msgpackr-extract']}` : 'off'}), @msgpack/msgpack ${meta['@msgpack/msgpack']}`);
    console.log(`ops/s: median of ${REPEAT} runs of ~${flags.ms} ms each after warm-up; decode reads a Buffer copy of the encoded bytes\n`);
    let last = null;
    const rows = [];
    for (const r of results) {
      if (last !== null && r.fixture !== last) rows.push(Array(10).fill(''));
      rows.push([r.fixture === last ? '' : r.fixture, r.codec, String(r.bytes), ratio(r.bytesVsJson), compact.format(r.encodeOps), ratio(r.encodeVsJson), compact.format(r.decodeOps), ratio(r.decodeVsJson), `${Math.round(100 * Math.max(r.encodeSpread, r.decodeSpread))}%`, r.roundTrip]);
      last = r.fixture;
    }
    console.log(table(['fixture', 'codec', 'bytes', 'vs JSON', 'encode/s', 'vs JSON', 'decode/s', 'vs JSON', 'spread', 'round-trip'], rows));
    console.log(`spread: (max − min) / median of the ${REPEAT} runs, the worse of encode and decode`);
    const names = candidates().map((c) => c.name);
    console.log(`\nType round-trips (ok = deep-strict-equal after decode)\n`);
    console.log(table(['value', ...names], probes.map((p) => [p.value, ...names.map((n) => p[n].slice(0, 44))])));
    console.log(`\nHostile input to the decoder (each case in its own child process, killed after ${TIMEOUT_MS} ms)\n`);
    console.log(table(['codec', 'case', 'outcome', 'max ms', 'RSS MiB', 'next', 'detail'], hostileRows.map((h) => [h.codec, h.case, h.outcome, h.maxMs ?? '', h.maxRssMiB ?? '', h.nextGoodMessage ?? '', h.detail.slice(0, 100)])));
    console.log(`next: whether the same decoder then decodes an honest message correctly`);
  }
}
