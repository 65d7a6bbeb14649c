// Side by side, in one process: the repo's write-ahead log (storage/wal.ts),
// LevelDB (classic-level) and SQLite (better-sqlite3), each made durable on
// every acknowledged write. Set up with `npm ci --prefix bench/storage-candidates`,
// then `node bench/storage-candidates/run.mjs [--writes N] [--batched N] [--repeat R] [--restart N] [--json]`.
//
// Plain JavaScript on purpose: the project's tsc never sees these imports, and
// the two third-party packages live only in this directory's node_modules.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { ClassicLevel } from 'classic-level';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const { values: flags } = parseArgs({
  options: {
    writes: { type: 'string', default: '500' },
    batched: { type: 'string', default: '6400' },
    repeat: { type: 'string', default: '3' },
    restart: { type: 'string', default: '10000' },
    json: { type: 'boolean', default: false },
  },
});
const WRITES = Number(flags.writes);
const BATCHED = Number(flags.batched);
const REPEAT = Number(flags.repeat);
const RESTART_RECORDS = Number(flags.restart);
const BATCH = 64;
const WARMUP = 20;
const SIZES = [256, 4096];

// The build only emits the public entries (the WAL sits inside the CLI's
// bundle), so bundle storage/wal.ts on its own: it imports only node: builtins.
const walBundle = join(here, '.build', 'wal.mjs');
await build({ entryPoints: [join(repo, 'storage', 'wal.ts')], bundle: true, format: 'esm', platform: 'node', target: 'node20', outfile: walBundle, logLevel: 'warning' });
const { openWal } = await import(pathToFileURL(walBundle).href);

const now = () => process.hrtime.bigint();
const usSince = (start) => Number(now() - start) / 1000;
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return (s[Math.floor((s.length - 1) / 2)] + s[Math.ceil((s.length - 1) / 2)]) / 2;
}
function percentiles(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] };
}
// LevelDB sorts keys as bytes: big-endian keeps sequence order.
function seqKey(seq) {
  const key = Buffer.alloc(8);
  key.writeBigUInt64BE(BigInt(seq));
  return key;
}

/**
 * Each candidate: open(dir) gives a store with `one(seq, value)` (one durable
 * write) and the batched modes, each `(firstSeq, values)` making a batch of
 * writes durable together; `reopen(dir)` resolves with the records read back.
 */
const candidates = [
  {
    name: 'wal',
    batchModes: ['64 concurrent appends'],
    async open(dir) {
      const wal = await openWal(dir);
      return {
        one: (seq, value) => wal.append(value),
        // Concurrent appends in one tick share one write and one fdatasync.
        batch: { '64 concurrent appends': (first, values) => Promise.all(values.map((v) => wal.append(v))) },
        close: () => wal.close(),
      };
    },
    async reopen(dir) {
      let records = 0;
      const wal = await openWal(dir, { onRecord: () => void (records += 1) });
      await wal.close();
      return records;
    },
  },
  {
    name: 'leveldb',
    batchModes: ['batch(64, sync)', '64 concurrent sync puts'],
    async open(dir) {
      const db = new ClassicLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
      await db.open();
      const sync = { sync: true };
      return {
        one: (seq, value) => db.put(seqKey(seq), value, sync),
        batch: {
          'batch(64, sync)': (first, values) => db.batch(values.map((value, i) => ({ type: 'put', key: seqKey(first + i), value })), sync),
          // LevelDB merges writers queued behind one another into one log write and sync.
          '64 concurrent sync puts': (first, values) => Promise.all(values.map((value, i) => db.put(seqKey(first + i), value, sync))),
        },
        close: () => db.close(),
      };
    },
    async reopen(dir) {
      const db = new ClassicLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
      await db.open();
      let records = 0;
      for await (const _entry of db.iterator()) records += 1;
      await db.close();
      return records;
    },
  },
  {
    name: 'sqlite',
    batchModes: ['transaction of 64'],
    async open(dir) {
      const db = openSqlite(dir);
      const insert = db.prepare('INSERT INTO log (seq, data) VALUES (?, ?)');
      const many = db.transaction((first, values) => values.forEach((value, i) => insert.run(first + i, value)));
      return {
        // better-sqlite3 is synchronous: the commit's fsync blocks the event loop.
        one: async (seq, value) => void insert.run(seq, value),
        batch: { 'transaction of 64': async (first, values) => void many(first, values) },
        close: async () => db.close(),
      };
    },
    async reopen(dir) {
      const db = openSqlite(dir);
      let records = 0;
      for (const _row of db.prepare('SELECT seq, data FROM log ORDER BY seq').iterate()) records += 1;
      db.close();
      return records;
    },
  },
];

function openSqlite(dir) {
  const db = new Database(join(dir, 'log.sqlite'));
  db.pragma('journal_mode = WAL');
  // FULL in WAL mode syncs the WAL file on every commit; NORMAL would not be durable per write.
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, data BLOB NOT NULL)');
  return db;
}

// Distinct random records, so neither LevelDB's Snappy nor anything else can compress them away.
const pools = new Map(SIZES.map((size) => [size, Array.from({ length: 256 }, () => randomBytes(size))]));

async function withDir(name, run) {
  const dir = mkdtempSync(join(tmpdir(), `storage-candidates-${name}-`));
  try {
    return await run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One timed row in a fresh store: `count` entries in steps of `step`; latency per step (write or batch). */
function measure(candidate, recordBytes, mode, count) {
  return withDir(candidate.name, async (dir) => {
    const store = await candidate.open(dir);
    const pool = pools.get(recordBytes);
    const step = mode === 'one' ? 1 : BATCH;
    const write = mode === 'one' ? (seq) => store.one(seq, pool[seq % pool.length]) : (seq) => store.batch[mode](seq, Array.from({ length: step }, (_, i) => pool[(seq + i) % pool.length]));
    let seq = 1;
    // Warm-up: first file creations, JIT, the thread pool; not counted.
    for (let warm = 0; warm < WARMUP; warm += step, seq += step) await write(seq);
    const latencies = [];
    const start = now();
    for (let done = 0; done < count; done += step, seq += step) {
      const t = now();
      await write(seq);
      latencies.push(usSince(t));
    }
    const seconds = usSince(start) / 1e6;
    await store.close();
    return { perSecond: count / seconds, ...percentiles(latencies) };
  });
}

/** Open + read every record of a store holding `records` records of 256 B (written beforehand, untimed). */
function restart(candidate, records) {
  return withDir(candidate.name, async (dir) => {
    const store = await candidate.open(dir);
    const pool = pools.get(256);
    const mode = candidate.batchModes[0];
    for (let seq = 1; seq <= records; seq += BATCH) {
      await store.batch[mode](seq, Array.from({ length: Math.min(BATCH, records - seq + 1) }, (_, i) => pool[(seq + i) % pool.length]));
    }
    await store.close();
    const start = now();
    const read = await candidate.reopen(dir);
    const ms = usSince(start) / 1000;
    if (read !== records) throw new Error(`${candidate.name} read back ${read} of ${records} records`);
    return { ms };
  });
}

// Every cell, every repeat, in this process; the candidate order rotates per
// repeat so none always runs first (cold disk) or last (fuller disk).
const cells = [];
for (const recordBytes of SIZES) {
  for (const kind of ['one', 'batched']) {
    for (const candidate of candidates) {
      for (const mode of kind === 'one' ? ['one'] : candidate.batchModes) cells.push({ candidate, recordBytes, kind, mode, count: kind === 'one' ? WRITES : BATCHED, runs: [] });
    }
  }
}
const restarts = candidates.map((candidate) => ({ candidate, runs: [] }));
for (let r = 0; r < REPEAT; r += 1) {
  const rotated = candidates.slice(r % candidates.length).concat(candidates.slice(0, r % candidates.length));
  for (const recordBytes of SIZES) {
    for (const kind of ['one', 'batched']) {
      for (const candidate of rotated) {
        for (const cell of cells.filter((c) => c.candidate === candidate && c.recordBytes === recordBytes && c.kind === kind)) {
          if (!flags.json) process.stderr.write(`repeat ${r + 1}/${REPEAT}: ${candidate.name} ${recordBytes} B ${cell.mode}\n`);
          cell.runs.push(await measure(candidate, recordBytes, cell.mode, cell.count));
        }
      }
    }
  }
  if (RESTART_RECORDS > 0) for (const candidate of rotated) restarts.find((x) => x.candidate === candidate).runs.push(await restart(candidate, RESTART_RECORDS));
}

const rows = cells.map((cell) => {
  const med = (key) => median(cell.runs.map((run) => run[key]));
  return { candidate: cell.candidate.name, recordBytes: cell.recordBytes, kind: cell.kind, mode: cell.mode, entries: cell.count, entriesPerSecond: med('perSecond'), latencyUs: { p50: med('p50'), p99: med('p99'), max: med('max') }, repeats: cell.runs };
});
for (const row of rows) {
  const wal = rows.find((w) => w.candidate === 'wal' && w.recordBytes === row.recordBytes && w.kind === row.kind);
  row.ratioToWal = row.entriesPerSecond / wal.entriesPerSecond;
}
const restartRows = restarts
  .filter((x) => x.runs.length > 0)
  .map((x) => ({ candidate: x.candidate.name, records: RESTART_RECORDS, recordBytes: 256, ms: median(x.runs.map((run) => run.ms)), repeatsMs: x.runs.map((run) => run.ms) }));
for (const row of restartRows) row.ratioToWal = row.ms / restartRows.find((w) => w.candidate === 'wal').ms;

const require = createRequire(import.meta.url);
const version = (name) => JSON.parse(readFileSync(join(dirname(require.resolve(`${name}/package.json`)), 'package.json'), 'utf8')).version;
const probe = new Database(':memory:');
const versions = { node: process.version, 'classic-level': version('classic-level'), 'better-sqlite3': version('better-sqlite3'), sqlite: probe.prepare('SELECT sqlite_version() AS v').get().v, esbuild: version('esbuild') };
probe.close();
const config = { directory: tmpdir(), writes: WRITES, batched: BATCHED, batch: BATCH, warmup: WARMUP, repeat: REPEAT, recordSizes: SIZES };

if (flags.json) {
  console.log(JSON.stringify({ config, versions, rows, restart: restartRows }, null, 2));
} else {
  const fmt = (n) => Math.round(n).toLocaleString('en-US');
  console.log(`durable writes under ${config.directory}; median of ${REPEAT} repeats; ${WARMUP}+ warm-up writes discarded per row`);
  console.log(Object.entries(versions).map(([k, v]) => `${k} ${v}`).join(', '));
  // The spread over repeats shows how far to trust a ratio on this noisy disk.
  const header = ['record', 'candidate', 'mode', 'entries', 'entries/s', 'repeats min–max', '× WAL', 'p50 µs', 'p99 µs', 'max µs'];
  const widths = [6, 9, 24, 7, 10, 17, 6, 8, 8, 8];
  const spread = (runs) => `${fmt(Math.min(...runs.map((r) => r.perSecond)))}–${fmt(Math.max(...runs.map((r) => r.perSecond)))}`;
  const line = (cols) => cols.map((c, i) => (i === 1 || i === 2 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  let last = '';
  for (const row of rows) {
    const group = `${row.recordBytes}/${row.kind}`;
    if (group !== last) {
      console.log(`\n${row.kind === 'one' ? 'one at a time (latency per write)' : `batches of ${BATCH} (latency per batch)`}, ${row.recordBytes} B records`);
      console.log(line(header));
      last = group;
    }
    console.log(line([row.recordBytes, row.candidate, row.mode, row.entries, fmt(row.entriesPerSecond), spread(row.repeats), row.ratioToWal.toFixed(2), fmt(row.latencyUs.p50), fmt(row.latencyUs.p99), fmt(row.latencyUs.max)]));
  }
  if (restartRows.length > 0) {
    console.log(`\nrestart: open + read back ${RESTART_RECORDS} records of 256 B (page cache warm; × WAL is time, lower is better)`);
    for (const row of restartRows) {
      const range = `${Math.min(...row.repeatsMs).toFixed(1)}–${Math.max(...row.repeatsMs).toFixed(1)} ms`;
      console.log(`${row.candidate.padEnd(9)}  ${row.ms.toFixed(1).padStart(8)} ms  (repeats ${range})  × WAL ${row.ratioToWal.toFixed(2)}`);
    }
  }
}
