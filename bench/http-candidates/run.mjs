// Side by side, the HTTP server for a node's client API: node:http against
// fastify (plain, and with response schemas, its own serialisation speed-up),
// the same two routes on each, driven by the same keep-alive load. Set up with
// `npm ci --prefix bench/http-candidates`, then
// `node bench/http-candidates/run.mjs [--clients 64] [--seconds 3] [--reps 3] [--only http,fastify,fastify-schema] [--json]`.
//
// Each server is a child process (server.mjs), so it and the load generator
// each have a core of their own; all of them run for the whole bench, each
// idle while another is driven. Per rep the order rotates, so drift over the
// run does not always favour one. The generator is one process of N
// keep-alive clients, each sending its next request when the last is
// answered; on two cores it may saturate before the fastest server does, so
// the server's own CPU per request is measured too (its process.cpuUsage over
// the run ÷ requests), which does not depend on who the bottleneck was, and
// the generator's (a figure near 10^6 ÷ req/s says the generator was it).
// The generator does the same work per request whichever server answers, so
// its CPU per request tracks how fast the shared machine is at that moment;
// the server's CPU divided by it (`server ÷ generator CPU`) is the figure that
// drift between runs moves least.
// Progress goes to stderr so that --json leaves stdout to the JSON alone.
//
// Plain JavaScript on purpose: the project's tsc never sees these imports, and
// fastify lives only in this directory's node_modules.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values: flags } = parseArgs({
  options: {
    clients: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '3' },
    reps: { type: 'string', default: '3' },
    warm: { type: 'string', default: '1' },
    only: { type: 'string', default: 'http,fastify,fastify-schema' },
    json: { type: 'boolean', default: false },
  },
});
const CLIENTS = Number(flags.clients);
const RUN_MS = Number(flags.seconds) * 1000;
const WARM_MS = Number(flags.warm) * 1000;
const REPS = Number(flags.reps);
const NAMES = { http: 'node:http', fastify: 'fastify', 'fastify-schema': 'fastify+schemas' };
const kinds = flags.only.split(',').filter((k) => k in NAMES);

const BODY = JSON.stringify({ payload: { to: 'bob', amount: 3, memo: 'rent for december', ref: 'a1b2c3d4e5f6' }, timeoutMs: 5000 });
const ROUTES = {
  post: { method: 'POST', path: '/v1/propose', body: BODY, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) } },
  get: { method: 'GET', path: '/v1/status', body: undefined, headers: {} },
};
const METRICS = [
  ['rps', 'req/s'],
  ['p50', 'p50 ms'],
  ['p99', 'p99 ms'],
  ['cpuUs', 'server CPU µs/req'],
  ['genCpuUs', 'generator CPU µs/req'],
  ['cpuShare', 'server ÷ generator CPU'],
];

const log = (line) => process.stderr.write(`${line}\n`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
function deadline(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Starts server.mjs as `kind`; resolves with its port and a way to read its CPU time. */
async function startServer(kind) {
  const child = spawn(process.execPath, [join(here, 'server.mjs'), kind], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const waiting = [];
  let port;
  const ready = new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
    lines.on('line', (line) => {
      if (line.startsWith('PORT ')) resolve((port = Number(line.slice(5))));
      else if (line.startsWith('CPU ')) waiting.shift()?.(Number(line.slice(4)));
    });
  });
  await deadline(ready, 10_000, `${kind} server start`);
  const cpuUs = () => deadline(new Promise((resolve) => { waiting.push(resolve); child.stdin.write('cpu\n'); }), 5_000, `${kind} cpu`);
  return { kind, port, cpuUs, stop: () => child.stdin.end() };
}

function send(agent, port, route) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, agent, method: route.method, path: route.path, headers: route.headers });
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8'), type: res.headers['content-type'] }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(route.body);
  });
}

/** The servers must answer alike before their speeds mean anything. */
async function checkAlike(server) {
  const agent = new http.Agent({ keepAlive: true });
  try {
    const post = await send(agent, server.port, ROUTES.post);
    const body = JSON.parse(post.text);
    if (post.status !== 200 || !Number.isInteger(body.index) || body.rank !== body.index) throw new Error(`POST answered ${post.status} ${post.text}`);
    const get = await send(agent, server.port, ROUTES.get);
    if (get.status !== 200 || JSON.parse(get.text).members?.length !== 4) throw new Error(`GET answered ${get.status} ${get.text}`);
    const missing = await send(agent, server.port, { method: 'GET', path: '/nope', headers: {} });
    if (missing.status !== 404 || JSON.parse(missing.text).error !== 'not_found') throw new Error(`404 answered ${missing.status} ${missing.text}`);
    const bare = await send(agent, server.port, { ...ROUTES.post, body: '{}', headers: { 'content-type': 'application/json', 'content-length': 2 } });
    if (bare.status !== 400) throw new Error(`a body without payload answered ${bare.status} ${bare.text}`);
    return { postBytes: post.text.length, getBytes: get.text.length, type: post.type };
  } finally {
    agent.destroy();
  }
}

/** CLIENTS keep-alive clients, each sending as soon as its last answer is in, for `ms`. */
async function drive(server, route, ms) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  const latencies = [];
  let ok = 0, bad = 0, errors = 0;
  const cpu0 = await server.cpuUs();
  const gen0 = process.cpuUsage();
  const start = performance.now();
  const stopAt = start + ms;
  const client = async () => {
    while (performance.now() < stopAt) {
      const t0 = performance.now();
      try {
        const { status } = await send(agent, server.port, route);
        latencies.push(performance.now() - t0);
        if (status === 200) ok += 1;
        else bad += 1;
      } catch {
        errors += 1;
      }
    }
  };
  await deadline(Promise.all(Array.from({ length: CLIENTS }, client)), ms + 15_000, `${server.kind} ${route.method}`);
  const elapsed = performance.now() - start;
  const gen = process.cpuUsage(gen0);
  const cpu1 = await server.cpuUs();
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return { rps: ok / (elapsed / 1000), p50: at(0.5), p99: at(0.99), cpuUs: (cpu1 - cpu0) / Math.max(1, ok + bad), genCpuUs: (gen.user + gen.system) / Math.max(1, ok + bad), cpuShare: (cpu1 - cpu0) / (gen.user + gen.system), requests: ok, bad, errors };
}

const servers = [];
for (const kind of kinds) servers.push(await startServer(kind));
const shapes = {};
const runs = Object.fromEntries(kinds.map((k) => [k, { post: [], get: [] }]));
const failures = [];
try {
  for (const server of servers) {
    shapes[server.kind] = await checkAlike(server);
    for (const route of Object.values(ROUTES)) await drive(server, route, WARM_MS);
    log(`${server.kind}: answers checked, warmed up`);
  }
  for (let rep = 0; rep < REPS; rep++) {
    const order = servers.map((_, i) => servers[(i + rep) % servers.length]);
    for (const server of order) {
      for (const [name, route] of Object.entries(ROUTES)) {
        const out = await drive(server, route, RUN_MS).catch((err) => (failures.push({ kind: server.kind, rep: rep + 1, error: String(err?.message ?? err) }), null));
        if (out === null) continue;
        if (out.bad || out.errors) failures.push({ kind: server.kind, rep: rep + 1, error: `${name}: ${out.bad} non-200 answers, ${out.errors} errors` });
        runs[server.kind][name].push(out);
        log(`rep ${rep + 1}/${REPS} ${server.kind} ${name}: ${Math.round(out.rps)} req/s, p50 ${out.p50.toFixed(2)} ms, p99 ${out.p99.toFixed(2)} ms, server ${out.cpuUs.toFixed(1)} µs CPU/req, generator ${out.genCpuUs.toFixed(1)}`);
      }
    }
  }
} finally {
  for (const server of servers) server.stop();
}

const results = {};
for (const kind of kinds) {
  results[kind] = {};
  for (const name of Object.keys(ROUTES)) {
    results[kind][name] = {};
    for (const [key] of METRICS) {
      const values = runs[kind][name].map((r) => r[key]).filter(Number.isFinite);
      if (values.length === 0) continue;
      const med = median(values);
      results[kind][name][key] = { median: med, runs: values, spread: (Math.max(...values) - Math.min(...values)) / med };
    }
  }
}
const base = kinds[0];
const ratio = (kind, name, key) => results[kind][name][key]?.median / results[base][name][key]?.median;
const env = {
  node: process.version,
  fastify: JSON.parse(readFileSync(join(here, 'node_modules', 'fastify', 'package.json'), 'utf8')).version,
  cpu: `${os.cpus()[0]?.model} x${os.cpus().length}`,
  platform: `${os.platform()} ${os.release()}`,
  loadavgAtEnd: os.loadavg().map((x) => x.toFixed(2)).join(' '), // other work on the box skews everything
};

if (flags.json) {
  console.log(JSON.stringify({ env, config: { clients: CLIENTS, runMs: RUN_MS, warmMs: WARM_MS, reps: REPS, body: BODY }, shapes, results, failures }, null, 2));
} else {
  const fmt = (v) => (v >= 1000 ? Math.round(v).toLocaleString('en-US') : v.toPrecision(3));
  const cell = (kind, name, key, m = results[kind][name][key]) => (!m ? 'n/a' : kind === base ? fmt(m.median) : `${fmt(m.median)} (×${ratio(kind, name, key).toFixed(2)})`);
  const labels = Object.keys(ROUTES).flatMap((name) => METRICS.map(([key, label]) => [name, key, `${ROUTES[name].method} ${label}`]));
  const w0 = Math.max(...labels.map(([, , l]) => l.length)) + 2;
  const widths = kinds.map((k) => Math.max(NAMES[k].length, ...labels.map(([name, key]) => cell(k, name, key).length)) + 2);
  const row = (first, cells) => first.padEnd(w0) + cells.map((c, i) => c.padStart(widths[i])).join('');
  console.log(`node ${env.node} | fastify ${env.fastify} | ${env.cpu} | load ${env.loadavgAtEnd}`);
  console.log(`median of ${REPS} runs of ${RUN_MS / 1000} s, ${CLIENTS} keep-alive clients; (×r) = ratio to ${NAMES[base]}; POST body ${Buffer.byteLength(BODY)} B`);
  console.log(row('metric', kinds.map((k) => NAMES[k])));
  for (const [name, key, label] of labels) console.log(row(label, kinds.map((k) => cell(k, name, key))));
  console.log(`\nspread of the ${REPS} runs, (max - min) / median:`);
  for (const [name, key, label] of labels) console.log(row(label, kinds.map((k) => (results[k][name][key] ? `${Math.round(results[k][name][key].spread * 100)}%` : 'n/a'))));
  for (const f of failures) console.log(`FAILED ${f.kind} rep ${f.rep}: ${f.error}`);
}
process.exitCode = failures.length ? 1 : 0;
