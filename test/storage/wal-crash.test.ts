import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FRAME_BYTES, HEADER_BYTES } from '../../storage/segment';
import { openWal } from '../../storage/wal';
import { bundleForNode } from '../visualizer/support/bundle';
import { envInteger, runUntilKilled } from './killable';
import { payloadFor, prng } from './records';

/**
 * A real process appends to the log and is killed with SIGKILL at a random
 * moment, again and again on one directory (a fresh one every 25 kills);
 * after each kill the log must open, hold every record the process was told
 * was durable, and hold nothing else but whole, valid records numbered from 1.
 *
 * A SIGKILL loses nothing the kernel was given, so after half of the kills
 * the test also does what a power cut may do: it drops a random part of what
 * was written after the last acknowledged record (of the last segment, the
 * only one a sync has not sealed), which leaves a torn tail to recover from.
 *
 * WAL_CRASH_KILLS sets the number of kills (30 by default) and
 * WAL_CRASH_SEED the seed of the kill times; a run with either set prints
 * what it saw.
 */
const KILLS = envInteger('WAL_CRASH_KILLS', 30, 100_000);
const SEED = envInteger('WAL_CRASH_SEED', 15, 2 ** 31);
const SEGMENT_BYTES = 16 * 1024;
const IN_FLIGHT = 32;
/** The most a child may take to open the log before the test gives up on it. */
const OPEN_TIMEOUT_MS = 10_000;

/**
 * Kills per directory. Every open reads the whole log, so one directory for
 * all the kills would make a run's time grow with the square of their number.
 */
const KILLS_PER_DIRECTORY = 25;

const running = new Set<ChildProcess>();
let script: string;
let root: string;
let dir: string;
beforeAll(() => {
  script = bundleForNode('test/storage/walWriter.ts', 'wal-writer');
  root = mkdtempSync(join(tmpdir(), 'wal-crash-'));
});
afterAll(() => {
  for (const child of running) child.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

interface Run {
  /** The child's first line: what its own open found. */
  opened: { lastSeq: number; truncatedBytes: number; droppedRecords: number } | null;
  acked: number[];
  killedBeforeOpen: boolean;
}

/**
 * Starts a writer and kills it `delayMs` after it reports the log open, or,
 * with `early`, `delayMs` after it starts (which may land in its own open
 * and recovery).
 */
async function runAndKill(delayMs: number, early: boolean): Promise<Run> {
  const run = await runUntilKilled(script, [dir, String(SEGMENT_BYTES), String(IN_FLIGHT)], {
    delayMs,
    guardMs: OPEN_TIMEOUT_MS,
    armed: (stdout) => early || stdout.includes('\n'),
    running,
  });
  if (!run.killed) throw new Error(`writer exited with code ${run.code} before it was killed: ${run.stderr}`);
  // A line cut off by the kill is not an acknowledgement.
  const lines = run.stdout.split('\n').slice(0, -1);
  const first = lines[0]?.startsWith('open ') ? lines.shift()!.split(' ').slice(1).map(Number) : null;
  if (first === null && !early) throw new Error(`writer never opened the log within ${OPEN_TIMEOUT_MS} ms: ${run.stderr}`);
  return {
    opened: first === null ? null : { lastSeq: first[0], truncatedBytes: first[1], droppedRecords: first[2] },
    acked: lines.map(Number),
    killedBeforeOpen: first === null,
  };
}

/**
 * Cuts the last segment somewhere after the end of record `acked` (or after
 * its header, if that record is in an earlier segment). Returns the bytes cut.
 */
function loseUnsyncedTail(acked: number, random: () => number): number {
  // A writer killed before it made the directory or its first segment left nothing to cut.
  const names = existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith('.wal')).sort() : [];
  if (names.length === 0) return 0;
  const file = join(dir, names[names.length - 1]);
  const bytes = readFileSync(file);
  let durableEnd = HEADER_BYTES;
  let seq = Number(names[names.length - 1].slice(0, 16));
  for (let at = HEADER_BYTES; at + FRAME_BYTES <= bytes.length && seq <= acked; seq += 1) {
    at += FRAME_BYTES + bytes.readUInt32LE(at);
    if (at > bytes.length) break;
    durableEnd = at;
  }
  const cut = durableEnd + Math.floor(random() * (bytes.length - durableEnd + 1));
  truncateSync(file, cut);
  return bytes.length - cut;
}

test(
  `a writer killed with SIGKILL ${KILLS} times loses no acknowledged record and leaves no partial one`,
  async () => {
    const random = prng(SEED);
    let acknowledged = 0;
    const seen = { acks: 0, killedBeforeOpen: 0, tornTails: 0, droppedRecords: 0, tempFilesRemoved: 0, bytesCut: 0, lastLogRecords: 0, lastLogSegments: 0 };
    const started = Date.now();
    for (let kill = 0; kill < KILLS; kill += 1) {
      if (kill % KILLS_PER_DIRECTORY === 0) {
        dir = join(root, `log-${kill / KILLS_PER_DIRECTORY}`);
        acknowledged = 0;
      }
      const early = random() < 0.2;
      const delayMs = random() * (early ? 80 : 40);
      const run = await runAndKill(delayMs, early);
      const context = `kill ${kill + 1} of ${KILLS} (seed ${SEED}, ${early ? 'from start' : 'after open'} +${delayMs.toFixed(1)} ms)`;
      // What the previous run was told was durable, the next one found.
      if (run.opened !== null) expect([context, run.opened.lastSeq >= acknowledged]).toEqual([context, true]);
      const maxAcked = run.acked.reduce((max, seq) => Math.max(max, seq), acknowledged);
      seen.acks += run.acked.length;
      if (run.killedBeforeOpen) seen.killedBeforeOpen += 1;

      if (random() < 0.5) seen.bytesCut += loseUnsyncedTail(maxAcked, random);

      let next = 1;
      let wrong: string | null = null;
      const wal = await openWal(dir, {
        segmentBytes: SEGMENT_BYTES,
        onRecord: (seq, payload) => {
          if (wrong === null && (seq !== next || !Buffer.from(payload).equals(payloadFor(seq)))) wrong = `record ${seq} where ${next} was due, or with a wrong payload`;
          next = seq + 1;
        },
      });
      await wal.close();
      expect([context, wrong]).toEqual([context, null]);
      expect([context, wal.recovery.firstSeq, wal.recovery.lastSeq >= maxAcked]).toEqual([context, 1, true]);
      expect(next - 1).toBe(wal.recovery.lastSeq);
      if (wal.recovery.truncatedBytes > 0) {
        seen.tornTails += 1;
        seen.droppedRecords += wal.recovery.droppedRecords;
      }
      seen.tempFilesRemoved += wal.recovery.removedTempFiles;
      seen.lastLogRecords = wal.recovery.lastSeq;
      seen.lastLogSegments = wal.recovery.segments;
      acknowledged = maxAcked;
    }
    // The kills landed while records were being appended, not only before.
    expect(seen.acks).toBeGreaterThan(0);
    if (process.env.WAL_CRASH_KILLS !== undefined || process.env.WAL_CRASH_SEED !== undefined) {
      console.log(`${KILLS} kills (seed ${SEED}) in ${((Date.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(seen)}`);
    }
  },
  Math.max(60_000, KILLS * 2_000),
);
