// Side by side, node-to-node transports on 127.0.0.1 for the real cluster:
// raw TCP + our length-prefix framing, ws (WebSocket), and mutual TLS over the
// same framing; tcp-nocork is raw TCP with one write() per message, to show
// what coalescing buys. Set up with `npm ci --prefix bench/transport-candidates`,
// then `node bench/transport-candidates/run.mjs [--reps N] [--only tcp,ws,tls,tcp-nocork] [--json]`.
//
// The receiver (server.mjs) is a child process, so each side has its own core
// and its own event loop, as two nodes would. One long-lived connection per
// transport carries the throughput and latency runs; setup opens fresh ones.
// Progress goes to stderr so that --json leaves stdout to the JSON alone.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { MAX_FRAME, attachFramer, framedSender } from './framing.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values: flags } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    reps: { type: 'string', default: '3' },
    only: { type: 'string', default: 'tcp,ws,tls,tcp-nocork' },
  },
});
const REPS = Number(flags.reps);
const SIZES = [200, 2048, 65536];
// At 100k the fastest 200 B run lasted 75 ms and swung 2x between runs.
const COUNT = { 200: 500_000, 2048: 200_000, 65536: 20_000 };
const RUN_MS = 30_000; // every loop stops at its count or after this long
const HWM = 16 * 1024; // net's default writableHighWaterMark; ws gets the same bound
const ROUNDS = 1000, WARM = 200, INFLIGHT = 64, CONNS = 50, CONN_WARM = 5;
const E = 0x45, S = 0x53, D = 0x44, X = 0x58, R = 0x52;

const hr = () => Number(process.hrtime.bigint()) / 1000; // µs
const log = (line) => process.stderr.write(`${line}\n`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const pct = (xs, q) => [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil(q * xs.length) - 1)];
const msg = (op, size) => Buffer.alloc(size, 0x61).fill(op, 0, 1);
function deadline(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

// Self-signed P-256 cert with an IP SAN, so the client verifies the server by
// its address for real, and the server verifies the client by the same cert.
function makeCert() {
  if (spawnSync('which', ['openssl']).status !== 0) return { skip: 'openssl not on PATH: TLS skipped' };
  const dir = mkdtempSync(join(os.tmpdir(), 'transport-bench-'));
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=bench-node',
    '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  if (r.status !== 0) return rmSync(dir, { recursive: true, force: true }), { skip: `openssl req failed, TLS skipped: ${r.stderr.trim()}` };
  const cert = readFileSync(join(dir, 'cert.pem'));
  return { dir, ctx: tls.createSecureContext({ key: readFileSync(join(dir, 'key.pem')), cert, ca: cert }) };
}

const live = new Set();
process.on('exit', () => { for (const pid of live) try { process.kill(pid, 'SIGKILL'); } catch {} });

async function startServer(kind, certDir) {
  const child = spawn(process.execPath, [join(here, 'server.mjs'), kind, ...(certDir ? [certDir] : [])], { stdio: ['pipe', 'pipe', 'inherit'] });
  live.add(child.pid);
  let out = '';
  const port = await deadline(new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => { const m = /PORT (\d+)/.exec((out += d)); if (m) resolve(Number(m[1])); });
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening`)));
  }), 10_000, `${kind} server start`);
  return { child, port };
}

async function stopServer(child) {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, 'exit');
    process.kill(child.pid, 'SIGTERM');
    await deadline(exited, 5000, 'server stop').catch(() => process.kill(child.pid, 'SIGKILL'));
  }
  live.delete(child.pid);
}

// One shape for all three: send() says whether to wait for drain() before the
// next send, as socket.write() does.
function connect(kind, port, ctx) {
  return new Promise((resolve, reject) => {
    const c = { onMessage: () => {}, info: kind };
    if (kind === 'ws') {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false, maxPayload: MAX_FRAME });
      // ws has no 'drain'; a send's callback runs once the socket took that
      // frame, so the last one pending is the drain.
      let queued = 0, flushed = 0, waiter = null;
      const onSent = () => ++flushed === queued && waiter?.();
      c.send = (buf) => (queued++, ws.send(buf, onSent), ws.bufferedAmount < HWM);
      c.drain = () => (flushed === queued ? Promise.resolve() : new Promise((r) => { waiter = r; }));
      c.close = () => ws.terminate();
      c.closed = new Promise((r) => ws.once('close', r));
      ws.on('message', (m) => c.onMessage(m));
      ws.on('error', reject);
      ws.once('open', () => resolve(c));
      return;
    }
    const sock = kind === 'tls' ? tls.connect({ host: '127.0.0.1', port, secureContext: ctx }) : net.connect(port, '127.0.0.1');
    sock.setNoDelay(true); // consensus messages are small and latency-bound
    c.send = framedSender(sock, kind !== 'tcp-nocork');
    c.drain = () => (sock.writableNeedDrain ? once(sock, 'drain') : Promise.resolve());
    c.close = () => sock.destroy();
    c.closed = new Promise((r) => sock.once('close', r));
    attachFramer(sock, (m) => c.onMessage(m));
    sock.on('error', reject);
    sock.once(kind === 'tls' ? 'secureConnect' : 'connect', () => {
      if (kind === 'tls') c.info = `${sock.getProtocol()} ${sock.getCipher().name}`;
      resolve(c);
    });
  });
}

function request(c, m) {
  const reply = new Promise((r) => { c.onMessage = r; });
  c.send(m);
  return deadline(reply, 5000, 'echo');
}

async function oneWay(c, size, n) {
  const report = new Promise((resolve) => {
    c.onMessage = (m) => { if (m[0] === R) resolve(JSON.parse(m.subarray(1).toString())); };
  });
  const start = msg(S, 5);
  start.writeUInt32BE(n, 1);
  const data = msg(D, size);
  let stop;
  const watchdog = new Promise((_, reject) => { stop = setTimeout(() => reject(new Error('drain: stuck')), RUN_MS + 5000); });
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  c.send(start);
  let sent = 0;
  try {
    while (sent < n) {
      const more = c.send(data);
      sent++;
      if (!more) await Promise.race([c.drain(), watchdog]);
      if ((sent & 1023) === 0 && Date.now() - t0 > RUN_MS) break;
    }
  } finally { clearTimeout(stop); }
  if (sent < n) c.send(Buffer.from([X]));
  const r = await deadline(report, RUN_MS, 'receiver report');
  const cpu = process.cpuUsage(cpu0);
  const secs = r.ns / 1e9;
  return { msgs: r.count / secs, mb: r.bytes / secs / 1e6, count: r.count, cutShort: sent < n, clientCpuUs: cpu.user + cpu.system, serverCpuUs: r.cpuUs };
}

// Round trips of 200 B with `inflight` outstanding; the first `warm` replies
// are not counted.
function rtt(c, inflight, rounds, warm) {
  const total = rounds + warm;
  const sentAt = new Float64Array(total);
  const samples = [];
  const t0 = Date.now();
  let sent = 0, got = 0, firstMeasured = 0;
  const sendOne = () => {
    const m = msg(E, 200);
    m.writeUInt32BE(sent, 1);
    sentAt[sent] = hr();
    if (sent++ === warm) firstMeasured = sentAt[warm];
    c.send(m);
  };
  const done = new Promise((resolve) => {
    c.onMessage = (m) => {
      const now = hr();
      const seq = m.readUInt32BE(1);
      if (seq >= warm) samples.push(now - sentAt[seq]);
      got++;
      if (sent < total && Date.now() - t0 < RUN_MS) sendOne();
      else if (got === sent) resolve({ p50: pct(samples, 0.5), p99: pct(samples, 0.99), perSec: samples.length / ((now - firstMeasured) / 1e6), n: samples.length });
    };
  });
  for (let i = 0; i < Math.min(inflight, total); i++) sendOne();
  return deadline(done, RUN_MS + 5000, `rtt x${inflight}`);
}

async function setupTime(kind, port, ctx) {
  const samples = [];
  const t0 = Date.now();
  for (let i = 0; i < CONN_WARM + CONNS && Date.now() - t0 < RUN_MS; i++) {
    const start = hr();
    const c = await deadline(connect(kind, port, ctx), 5000, 'connect');
    await request(c, msg(E, 200));
    if (i >= CONN_WARM) samples.push(hr() - start);
    c.close();
    await deadline(c.closed, 5000, 'close');
  }
  return pct(samples, 0.5);
}

// Fills `out` as it goes, so a failure keeps what was measured before it.
async function measure(kind, tlsSetup, out) {
  const { child, port } = await startServer(kind, tlsSetup.dir);
  try {
    const c = await deadline(connect(kind, port, tlsSetup.ctx), 5000, 'connect');
    out.info = c.info;
    // Warm-up, so that both processes run optimized code when it counts.
    await oneWay(c, 200, 20_000);
    await oneWay(c, 65536, 500);
    await rtt(c, 1, 300, 0);
    for (const size of SIZES) {
      const r = await oneWay(c, size, COUNT[size]);
      out[`msgs${size}`] = r.msgs;
      out[`mb${size}`] = r.mb;
      if (r.cutShort) out.notes.push(`${size} B run stopped at ${RUN_MS} ms after ${r.count} messages`);
      // CPU comes from the 200 B run: µs over its count, as ms per 100k.
      if (size === 200) Object.assign(out, { cpuClient: r.clientCpuUs / r.count * 100, cpuServer: r.serverCpuUs / r.count * 100 });
    }
    for (const k of [1, INFLIGHT]) {
      const r = await rtt(c, k, ROUNDS, WARM);
      Object.assign(out, { [`rtt${k}p50`]: r.p50, [`rtt${k}p99`]: r.p99, [`rtt${k}rate`]: r.perSec });
    }
    c.close();
    out.setupP50 = await setupTime(kind, port, tlsSetup.ctx);
  } finally {
    await stopServer(child);
  }
}

const METRICS = [
  ['msgs200', 'one-way 200 B  msg/s'], ['mb200', 'one-way 200 B  MB/s'],
  ['msgs2048', 'one-way 2 KiB  msg/s'], ['mb2048', 'one-way 2 KiB  MB/s'],
  ['msgs65536', 'one-way 64 KiB msg/s'], ['mb65536', 'one-way 64 KiB MB/s'],
  ['rtt1p50', 'RTT 200 B, 1 in flight  p50 µs'], ['rtt1p99', 'RTT 200 B, 1 in flight  p99 µs'],
  ['rtt1rate', 'round trips/s, 1 in flight'],
  ['rtt64p50', `RTT 200 B, ${INFLIGHT} in flight p50 µs`], ['rtt64p99', `RTT 200 B, ${INFLIGHT} in flight p99 µs`],
  ['rtt64rate', `round trips/s, ${INFLIGHT} in flight`],
  ['setupP50', 'connect + 1st echo p50 µs'],
  ['cpuClient', 'CPU ms/100k×200 B sender'], ['cpuServer', 'CPU ms/100k×200 B receiver'],
];

const kinds = flags.only.split(',').filter((k) => ['tcp', 'ws', 'tls', 'tcp-nocork'].includes(k));
const notes = [];
const tlsSetup = kinds.includes('tls') ? makeCert() : {};
if (tlsSetup.skip) { notes.push(tlsSetup.skip); kinds.splice(kinds.indexOf('tls'), 1); }
const runs = Object.fromEntries(kinds.map((k) => [k, []]));
const failures = [];
for (let rep = 0; rep < REPS; rep++) {
  // Rotate the order, so drift over the run does not always favour one.
  const order = kinds.map((_, i) => kinds[(i + rep) % kinds.length]);
  for (const kind of order) {
    const out = { notes: [] };
    const t = Date.now();
    await measure(kind, tlsSetup, out).catch((err) => failures.push({ kind, rep: rep + 1, error: String(err?.message ?? err) }));
    runs[kind].push(out);
    log(`rep ${rep + 1}/${REPS} ${kind}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
}
if (tlsSetup.dir) rmSync(tlsSetup.dir, { recursive: true, force: true });

const results = {};
for (const kind of kinds) {
  results[kind] = { info: runs[kind].find((r) => r.info)?.info, notes: [...new Set(runs[kind].flatMap((r) => r.notes))], metrics: {} };
  for (const [key] of METRICS) {
    const values = runs[kind].map((r) => r[key]).filter((v) => typeof v === 'number' && Number.isFinite(v));
    if (!values.length) continue;
    const med = median(values);
    results[kind].metrics[key] = { median: med, runs: values, spread: (Math.max(...values) - Math.min(...values)) / med };
  }
}
const ratio = (kind, key) => results[kind]?.metrics[key]?.median / results.tcp?.metrics[key]?.median;
const sslCli = spawnSync('openssl', ['version'], { encoding: 'utf8' });
const env = {
  node: process.version,
  ws: JSON.parse(readFileSync(join(here, 'node_modules', 'ws', 'package.json'), 'utf8')).version,
  opensslCli: sslCli.status === 0 ? sslCli.stdout.trim() : 'not found',
  opensslInNode: process.versions.openssl,
  cpu: `${os.cpus()[0]?.model} x${os.cpus().length}`,
  platform: `${os.platform()} ${os.release()}`,
  loadavgAtEnd: os.loadavg().map((x) => x.toFixed(2)).join(' '), // other work on the box skews everything
};

if (flags.json) {
  const ratios = Object.fromEntries(kinds.map((k) => [k, Object.fromEntries(METRICS.map(([key]) => [key, ratio(k, key)]))]));
  console.log(JSON.stringify({ env, config: { reps: REPS, counts: COUNT, rounds: ROUNDS, warm: WARM, inflight: INFLIGHT, conns: CONNS, runMs: RUN_MS, hwm: HWM }, results, ratios, notes, failures }, null, 2));
} else {
  const fmt = (v) => (v >= 1000 ? Math.round(v).toLocaleString('en-US') : v.toPrecision(3));
  const cell = (kind, key, m = results[kind].metrics[key]) => (!m ? 'n/a' : kind === 'tcp' ? fmt(m.median) : `${fmt(m.median)} (×${ratio(kind, key).toFixed(2)})`);
  const w0 = Math.max(...METRICS.map(([, l]) => l.length)) + 2;
  const widths = kinds.map((k) => Math.max(k.length, ...METRICS.map(([key]) => cell(k, key).length)) + 2);
  const row = (first, cells) => first.padEnd(w0) + cells.map((c, i) => c.padStart(widths[i])).join('');
  console.log(`node ${env.node} | ws ${env.ws} | ${env.opensslCli} (node's TLS: OpenSSL ${env.opensslInNode}) | ${env.cpu} | load ${env.loadavgAtEnd}`);
  console.log(`median of ${REPS} runs; (×r) = ratio to raw TCP; MB = 10^6 B of payload; tls = ${results.tls?.info ?? 'skipped'}, mutual auth`);
  console.log(row('metric', kinds));
  for (const [key, label] of METRICS) console.log(row(label, kinds.map((k) => cell(k, key))));
  console.log(`\nspread of the ${REPS} runs, (max - min) / median:`);
  for (const [key, label] of METRICS) console.log(row(label, kinds.map((k) => (results[k].metrics[key] ? `${Math.round(results[k].metrics[key].spread * 100)}%` : 'n/a'))));
  for (const n of [...notes, ...kinds.flatMap((k) => results[k].notes.map((x) => `${k}: ${x}`))]) console.log(`note: ${n}`);
  for (const f of failures) console.log(`FAILED ${f.kind} rep ${f.rep}: ${f.error}`);
}
process.exitCode = failures.length ? 1 : 0;
