import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openNodeStore } from '../../storage/nodeStore';
import { bundleForNode } from '../visualizer/support/bundle';
import { envInteger, runUntilKilled } from './killable';
import { prng } from './records';

/**
 * Four nodes opened with `openNode` in one real process, each on its own
 * data directory, are killed with SIGKILL at a random moment, again and
 * again on the same directories (fresh ones every 50 kills). The child
 * prints every save its stores report durable; after each kill the test
 * opens each store itself and checks what a restart must find:
 * - the term never goes back, and a vote acknowledged in a term is the vote
 *   found for it: no node votes twice in one term, over all the runs;
 * - the round's record (rank, attempts voted and confirmed, lock) never goes back;
 * - every acknowledged log entry is in the log, with the same digest;
 * - no two entries for one index differ, across nodes and runs (agreement).
 *
 * NODE_CRASH_KILLS sets the number of kills (200 by default) and
 * NODE_CRASH_SEED the seed; a run with either set prints what it saw.
 */
const KILLS = envInteger('NODE_CRASH_KILLS', 200, 100_000);
const SEED = envInteger('NODE_CRASH_SEED', 7, 2 ** 31);
const KILLS_PER_DIRECTORY = 50;
const NAMES = ['n1', 'n2', 'n3', 'n4'];
/** The most a child may take to open its stores before the test gives up on it. */
const OPEN_TIMEOUT_MS = 15_000;

const running = new Set<ChildProcess>();
let script: string;
let root: string;
beforeAll(() => {
  script = bundleForNode('test/storage/durableClusterChild.ts', 'durable-cluster-child');
  root = mkdtempSync(join(tmpdir(), 'node-crash-'));
});
afterAll(() => {
  for (const child of running) child.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

/**
 * Runs the child on `dir` and kills it `delayMs` after it says its nodes are
 * open, or (`afterCommit`) after it reports its first durable log entry, so
 * half the kills land while the cluster commits however slow the machine;
 * resolves with the lines it printed whole.
 */
async function runAndKill(dir: string, seed: number, delayMs: number, afterCommit: boolean): Promise<string[]> {
  const run = await runUntilKilled(script, [dir, String(seed)], {
    delayMs,
    guardMs: OPEN_TIMEOUT_MS,
    armed: (stdout) => (afterCommit ? stdout.includes('\nentry ') : stdout.startsWith('open\n')),
    running,
  });
  if (!run.killed) throw new Error(`the child exited with code ${run.code} before it was killed: ${run.stderr}`);
  if (!run.stdout.startsWith('open\n')) throw new Error(`the child never opened its nodes within ${OPEN_TIMEOUT_MS} ms: ${run.stderr}`);
  // A line cut off by the kill is not an acknowledgement.
  return run.stdout.split('\n').slice(1, -1);
}

interface Acked {
  term: number;
  votedFor: string | null;
  /** rank, votedAttempt, confirmedAttempt, lock attempt (-1: none) */
  round: [number, number, number, number] | null;
  /** index → digest */
  entries: Map<number, string>;
}

/** Each of the attempts (voted, confirmed, locked) at least what was acknowledged. */
const notBefore = (found: number[], acked: number[]) => acked.every((attempt, i) => found[i] >= attempt);

test(
  `four nodes killed with SIGKILL ${KILLS} times lose no acknowledged term, vote, lock or log entry, and never vote twice in a term`,
  async () => {
    const random = prng(SEED);
    const seen = { lines: 0, entries: 0, votes: 0, roundSaves: 0, runsThatCommitted: 0, highestIndex: 0, tornTails: 0 };
    const started = Date.now();
    let dir = '';
    let acked = new Map<string, Acked>();
    /** node → term → the one vote ever acknowledged or found in it */
    let votes = new Map<string, Map<number, string>>();
    /** index → digest, over every node and run in this directory */
    let agreed = new Map<number, string>();
    for (let kill = 0; kill < KILLS; kill += 1) {
      if (kill % KILLS_PER_DIRECTORY === 0) {
        dir = join(root, `cluster-${kill / KILLS_PER_DIRECTORY}`);
        acked = new Map(NAMES.map((name) => [name, { term: 0, votedFor: null, round: null, entries: new Map() }]));
        votes = new Map(NAMES.map((name) => [name, new Map()]));
        agreed = new Map();
      }
      const afterCommit = random() < 0.5;
      const delayMs = afterCommit ? random() * 300 : 20 + random() * 900;
      const context = `kill ${kill + 1} of ${KILLS} (seed ${SEED}, +${delayMs.toFixed(0)} ms after ${afterCommit ? 'a commit' : 'opening'})`;
      const lines = await runAndKill(dir, SEED * 1000 + kill, delayMs, afterCommit);
      seen.lines += lines.length;
      let committed = false;
      const vote = (name: string, term: number, votedFor: string) => {
        const before = votes.get(name)!.get(term);
        expect([context, name, term, before ?? votedFor]).toEqual([context, name, term, votedFor]);
        votes.get(name)!.set(term, votedFor);
      };
      const agree = (index: number, digest: string) => {
        expect([context, index, agreed.get(index) ?? digest]).toEqual([context, index, digest]);
        agreed.set(index, digest);
      };
      for (const line of lines) {
        const [kind, name, ...rest] = line.split(' ');
        const mine = acked.get(name)!;
        if (kind === 'hard') {
          mine.term = Number(rest[0]);
          mine.votedFor = rest[1] === '-' ? null : rest[1];
          if (mine.votedFor !== null) {
            vote(name, mine.term, mine.votedFor);
            seen.votes += 1;
          }
        } else if (kind === 'safety') {
          mine.round = [Number(rest[0]), Number(rest[1]), Number(rest[2]), rest[3] === '-' ? -1 : Number(rest[3])];
          seen.roundSaves += 1;
        } else if (kind === 'entry') {
          mine.entries.set(Number(rest[0]), rest[1]);
          agree(Number(rest[0]), rest[1]);
          seen.entries += 1;
          seen.highestIndex = Math.max(seen.highestIndex, Number(rest[0]));
          committed = true;
        }
      }
      if (committed) seen.runsThatCommitted += 1;

      // What each store holds now is what the next process starts from.
      for (const name of NAMES) {
        const store = await openNodeStore(join(dir, name, 'store'));
        const hard = await store.loadHardState();
        const round = await store.loadRoundSafety();
        const log = store.readLog();
        if (store.recovery.truncatedBytes > 0) seen.tornTails += 1;
        await store.close();
        const mine = acked.get(name)!;
        expect([context, name, 'term', (hard?.term ?? 0) >= mine.term]).toEqual([context, name, 'term', true]);
        if (hard?.term === mine.term && mine.votedFor !== null) expect([context, name, 'vote', hard.votedFor]).toEqual([context, name, 'vote', mine.votedFor]);
        if (hard?.votedFor != null) vote(name, hard.term, hard.votedFor);
        if (mine.round !== null) {
          const found = round === null ? [-1] : [round.rank, round.votedAttempt, round.confirmedAttempt, round.lock?.attempt ?? -1];
          // Within a rank, attempts voted and confirmed only rise; a later rank may start them over.
          const ok = found[0] > mine.round[0] || (found[0] === mine.round[0] && notBefore(found.slice(1), mine.round.slice(1)));
          expect([context, name, 'round', found, ok]).toEqual([context, name, 'round', found, true]);
        }
        const held = new Map(log.map((entry) => [entry.index, entry.valueDigest]));
        for (const [index, digest] of mine.entries) expect([context, name, index, held.get(index)]).toEqual([context, name, index, digest]);
        for (const [index, digest] of held) agree(index, digest);
      }
    }
    // The kills landed while the nodes were voting and committing, not only before.
    expect(seen.runsThatCommitted).toBeGreaterThan(KILLS / 4);
    if (process.env.NODE_CRASH_KILLS !== undefined || process.env.NODE_CRASH_SEED !== undefined) {
      console.log(`${KILLS} kills (seed ${SEED}) in ${((Date.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(seen)}`);
    }
  },
  Math.max(60_000, KILLS * 5_000),
);
