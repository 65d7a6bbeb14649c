#!/usr/bin/env node
// Where a round's time goes: reads a V8 CPU profile of the rounds bench and
// prints self time by bucket (XState, the engine, the demo ledger, node's
// crypto, zod, the garbage collector, …), in ms and in µs per round.
//
//   node scripts/build.mjs --no-types
//   node --cpu-prof --cpu-prof-dir=/tmp/prof dist/cli.js bench --nodes 4
//   node bench/profile-budget.mjs /tmp/prof --rounds 400
//
// Only the rounds runs are counted: from the first sample in `runSimulation`
// to the first sample of the idle-memory measurement (the XState floor runs
// before, the memory after). The engine and the simulator are bundled into
// dist/chunk-*.js; a sample there is put in the source file that defines the
// top-level function or class it falls in (found by name in the sources), so
// engine/, machines/, guards/, node/ and providers/ make "engine", and so on.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const at = args.indexOf(name);
  return at < 0 ? fallback : args.splice(at, 2)[1];
};
const rounds = Number(flag('--rounds', '400'));
const root = flag('--root', process.cwd());
const json = args.includes('--json') ? (args.splice(args.indexOf('--json'), 1), true) : false;
const target = args[0] ?? '/tmp/prof';
const file = statSync(target).isDirectory()
  ? join(target, readdirSync(target).filter((name) => name.endsWith('.cpuprofile')).sort().at(-1) ?? '')
  : target;
const profile = JSON.parse(readFileSync(file, 'utf8'));

// --- Which source file defines each top-level name -------------------------
const SOURCE_DIRS = ['engine', 'machines', 'guards', 'node', 'providers', 'simulator', 'examples', 'bench', 'cli', 'visualizer'];
const definedIn = new Map();
const DEFINITION = /^(?:export\s+)?(?:default\s+)?(?:abstract\s+)?(?:async\s+)?(?:function\*?|class|const|let|var|enum)\s+([A-Za-z_$][\w$]*)/gm;
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) {
      for (const [, id] of readFileSync(path, 'utf8').matchAll(DEFINITION)) {
        if (!definedIn.has(id)) definedIn.set(id, new Set());
        definedIn.get(id).add(relative(root, path));
      }
    }
  }
}
for (const dir of SOURCE_DIRS) walk(join(root, dir));

// --- Each line of each chunk → the source file it came from ------------------
const chunkLines = new Map();
const TOP_LEVEL = /^(?:async\s+)?(?:function\*?|class|var|let|const)\s+([A-Za-z_$][\w$]*)/;
function chunkMap(path) {
  if (chunkLines.has(path)) return chunkLines.get(path);
  let lines = [];
  try {
    lines = readFileSync(path, 'utf8').split('\n');
  } catch {
    // Not on disk (rebuilt since): every line unknown.
  }
  const labels = new Array(lines.length);
  let current = 'unknown';
  lines.forEach((line, index) => {
    const match = TOP_LEVEL.exec(line);
    if (match) {
      const id = match[1];
      if (id.startsWith('require_')) current = 'bundled third-party';
      else {
        const candidates = definedIn.get(id) ?? definedIn.get(id.replace(/\d+$/, ''));
        if (candidates !== undefined && !candidates.has(current)) {
          const sameDir = [...candidates].find((candidate) => candidate.split('/')[0] === current.split('/')[0]);
          current = sameDir ?? [...candidates][0];
        }
      }
    }
    labels[index] = current;
  });
  chunkLines.set(path, labels);
  return labels;
}

function sourceOf(url, line) {
  const path = url.startsWith('file://') ? new URL(url).pathname : url;
  return chunkMap(path)[line] ?? 'unknown';
}

function bucketOf(frame) {
  const { functionName, url, lineNumber } = frame;
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(program)' || functionName === '(idle)' || functionName === '(root)') return 'V8 and idle: (program), (idle)';
  if (url.includes('node_modules/xstate/')) return 'XState';
  if (url.includes('node_modules/zod/')) return 'zod';
  if (url.includes('node_modules/')) return 'other packages';
  if (/node:internal\/crypto\/(sig|hash)|^node:crypto$/.test(url) || /internal\/crypto/.test(url)) return 'node crypto (sign, verify, hash)';
  if (url.startsWith('node:')) return 'node internals (timers, promises, abort signals, …)';
  if (/\/dist\/chunk-[\w]+\.js$|\/dist\/cli\.js$/.test(url)) {
    const source = sourceOf(url, lineNumber);
    const dir = source.split('/')[0];
    if (['engine', 'machines', 'guards', 'node', 'providers'].includes(dir)) return 'engine (engine/, machines/, guards/, node/, providers/)';
    if (dir === 'simulator') return 'simulator (network, clock, safety checker)';
    if (dir === 'examples') return 'demo ledger (examples/ledger: codec, signing, store)';
    if (dir === 'bench' || dir === 'cli') return 'bench and CLI';
    return `bundle, unattributed (${source})`;
  }
  if (url === '') return 'native, no script (V8 builtins)';
  return `other (${url})`;
}

// --- Samples in the rounds window --------------------------------------------
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const onStack = (id, names) => {
  for (let at = id; at !== undefined; at = parent.get(at)) if (names.has(nodes.get(at).callFrame.functionName)) return true;
  return false;
};
const START = new Set(['runSimulation']);
const END = new Set(['measureIdleMemory', 'idleEngine']);
let time = profile.startTime;
let start = null;
let end = null;
const times = profile.samples.map((id, index) => {
  time += profile.timeDeltas[index];
  return time;
});
profile.samples.forEach((id, index) => {
  if (start === null && onStack(id, START)) start = index;
  if (start !== null && end === null && onStack(id, END)) end = index;
});
if (start === null) throw new Error(`${file}: no sample in runSimulation: is it a profile of \`bench\`?`);
end ??= profile.samples.length;

const byBucket = new Map();
const bySource = new Map();
let total = 0;
for (let index = start; index < end; index += 1) {
  // A sample's time is the delta to the next one.
  const us = (times[index + 1] ?? times[index]) - times[index];
  const frame = nodes.get(profile.samples[index]).callFrame;
  const bucket = bucketOf(frame);
  byBucket.set(bucket, (byBucket.get(bucket) ?? 0) + us);
  if (bucket.startsWith('engine') || bucket.startsWith('demo') || bucket.startsWith('simulator')) {
    const source = sourceOf(frame.url, frame.lineNumber);
    bySource.set(source, (bySource.get(source) ?? 0) + us);
  }
  total += us;
}

const rows = [...byBucket.entries()].sort((a, b) => b[1] - a[1]);
if (json) {
  console.log(JSON.stringify({ file, rounds, windowMs: total / 1000, buckets: Object.fromEntries(rows.map(([bucket, us]) => [bucket, { ms: us / 1000, usPerRound: us / rounds }])) }));
} else {
  console.log(`${file}: ${(total / 1000).toFixed(0)} ms of rounds runs, ${rounds} rounds: ${(total / rounds).toFixed(0)} µs per round`);
  for (const [bucket, us] of rows) {
    console.log(`${(us / 1000).toFixed(0).padStart(7)} ms  ${(us / rounds).toFixed(0).padStart(6)} µs/round  ${((100 * us) / total).toFixed(1).padStart(5)} %  ${bucket}`);
  }
  console.log('\nby source file (engine, simulator, ledger):');
  for (const [source, us] of [...bySource.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
    console.log(`${(us / 1000).toFixed(0).padStart(7)} ms  ${(us / rounds).toFixed(0).padStart(6)} µs/round  ${source}`);
  }
}
