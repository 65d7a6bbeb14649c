import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import { valueDigestOf } from '../engine/signing/statement';
import { DEFAULT_VERDICT_CACHE, SignatureVerifier } from '../engine/signing/verifier';
import { LedgerFrame } from '../examples/ledger/types';
import { certificateVerifier } from '../engine/signing/certificate';
import { UsageError } from './usage';
import { fetchCommitLogs } from './remoteLogs';

interface CommandIO {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** Exit codes of `verify` (bad input is a `UsageError`: exit 2, as for every command). */
export const VERIFY_EXIT = Object.freeze({ verified: 0, rejected: 1 });

// The file's shape only: what an entry's fields say is the verification's
// business, so that a tampered value is reported at its node and index (exit
// 1) rather than as a file of the wrong shape (exit 2).
const whole = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const frame = z.object({ height: whole, parent: z.string(), prover: z.string(), time: whole, entries: z.array(z.string()), hash: z.string() });
const certificate = z.object({
  rank: z.number(),
  attempt: z.number(),
  valueDigest: z.string(),
  signers: z.array(z.string()),
  signatures: z.array(z.string()),
});
const entry = z.object({
  index: whole,
  rank: whole,
  attempt: whole,
  valueDigest: z.string(),
  proposer: z.string().nullable().optional(),
  certificate: certificate.nullable(),
  payload: frame,
});
export const commitLogsSchema = z.object({
  chainId: z.string(),
  members: z
    .array(z.object({ id: z.string().min(1), publicKey: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex characters'), weight: whole.optional() }))
    .min(1),
  nodes: z.record(z.string(), z.array(entry)),
});

export type CommitLogsInput = z.infer<typeof commitLogsSchema>;
type Entry = z.infer<typeof entry>;

export type LogVerdict =
  | { ok: true; nodes: number; entries: number; certificates: number; lowest: number | null; highest: number | null }
  | { ok: false; node: string; index: number; problem: string };

/**
 * Reads a `simulate --json` report, or its `logs` object alone. Throws
 * `UsageError` for a file that is missing, not JSON, or of the wrong shape.
 */
export function readCommitLogs(path: string): CommitLogsInput {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--log: cannot read ${path}: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--log: ${path} is not JSON: ${(error as Error).message}`);
  }
  const wrapped = typeof raw === 'object' && raw !== null && !Array.isArray(raw) && 'logs' in raw;
  const parsed = commitLogsSchema.safeParse(wrapped ? (raw as { logs: unknown }).logs : raw);
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    const where = [...(wrapped ? ['logs'] : []), ...issue.path.map(String)].join('.');
    throw new UsageError(
      `--log: ${path} is not a commit log (simulate --json's output, or its logs object): ${where === '' ? '' : `${where}: `}${issue.message}`,
    );
  }
  return parsed.data;
}

/**
 * Checks every entry of every node's log, in file order, and stops at the
 * first bad one: its frame hashes to its hash, its value digest is that
 * hash's SHA-256, its index, rank and height are one number, it chains to
 * the entry before it when that one is the previous index, its time is no
 * earlier than that entry's (time never goes back along the chain), its
 * certificate names its rank, attempt and digest and is a quorum of the
 * members' signatures for the chain, and every node that holds its index
 * holds the same frame. Throws `UsageError` for members no certificate could be
 * checked against.
 */
export function verifyCommitLogs(logs: CommitLogsInput): LogVerdict {
  const signatures = Object.values(logs.nodes).reduce((sum, log) => sum + log.reduce((n, e) => n + (e.certificate?.signatures.length ?? 0), 0), 0);
  let verify: ReturnType<typeof certificateVerifier>;
  try {
    // Room for every signature of the file: a certificate several nodes hold is checked once.
    verify = certificateVerifier(logs.members, { chainId: logs.chainId, verifier: new SignatureVerifier(Math.max(DEFAULT_VERDICT_CACHE, signatures)) });
  } catch (error) {
    throw new UsageError(`--log: the members cannot check a certificate: ${(error as Error).message}`);
  }
  const held = new Map<number, { node: string; hash: string }>();
  let entries = 0;
  let lowest: number | null = null;
  let highest: number | null = null;
  for (const [node, log] of Object.entries(logs.nodes)) {
    let previous: Entry | undefined;
    for (const current of log) {
      const problem = entryProblem(current, previous, verify) ?? agreementProblem(current, node, held);
      if (problem !== null) return { ok: false, node, index: current.index, problem };
      if (!held.has(current.index)) held.set(current.index, { node, hash: current.payload.hash });
      lowest = Math.min(lowest ?? current.index, current.index);
      highest = Math.max(highest ?? current.index, current.index);
      entries += 1;
      previous = current;
    }
  }
  // Every entry carries a certificate that verified, or the walk stopped.
  return { ok: true, nodes: Object.keys(logs.nodes).length, entries, certificates: entries, lowest, highest };
}

function entryProblem(current: Entry, previous: Entry | undefined, verify: ReturnType<typeof certificateVerifier>): string | null {
  const { index, rank, attempt, valueDigest, payload } = current;
  if (index !== rank || rank !== payload.height) return `index ${index}, rank ${rank} and payload height ${payload.height} are not one number`;
  if (previous !== undefined && index <= previous.index) return `it comes after index ${previous.index}: a log's indices increase`;
  const hash = LedgerFrame.hashOf(payload.height, payload.parent, payload.prover, payload.time, payload.entries);
  if (hash !== payload.hash) return `the payload's hash ${payload.hash} is not the hash of its content (${hash})`;
  const digest = valueDigestOf(payload.hash);
  if (digest !== valueDigest) return `valueDigest ${valueDigest} is not the SHA-256 of the payload's hash ${payload.hash} (${digest})`;
  // A gap is legitimate (a node that adopted a state through sync logged no entry for it); consecutive entries chain.
  if (previous !== undefined && previous.index === index - 1 && payload.parent !== previous.payload.hash) {
    return `the payload's parent ${payload.parent} is not the hash of entry ${previous.index} (${previous.payload.hash})`;
  }
  if (previous !== undefined && payload.time < previous.payload.time) {
    return `the payload's time ${payload.time} is before entry ${previous.index}'s (${previous.payload.time}): time never goes back along the chain`;
  }
  const { certificate } = current;
  if (certificate === null) return 'it has no certificate';
  if (certificate.rank !== rank || certificate.attempt !== attempt || certificate.valueDigest !== valueDigest) {
    return (
      `its certificate is for rank ${certificate.rank}, attempt ${certificate.attempt}, valueDigest ${certificate.valueDigest}; ` +
      `the entry is rank ${rank}, attempt ${attempt}, valueDigest ${valueDigest}`
    );
  }
  const verdict = verify(certificate);
  return verdict.valid ? null : `its certificate does not verify: ${verdict.reason}`;
}

function agreementProblem(current: Entry, node: string, held: ReadonlyMap<number, { node: string; hash: string }>): string | null {
  const known = held.get(current.index);
  if (known === undefined || known.hash === current.payload.hash) return null;
  return `it holds frame ${current.payload.hash} where ${known.node} holds ${known.hash}`;
}

export const VERIFY_HELP = `
Reads what 'simulate --json' printed (or its 'logs' object alone): the chain id, the members'
public keys and each honest node's commit log. For every entry of every node it checks that
  - the payload's hash is the hash of its height, parent, prover, time and entries;
  - valueDigest is the SHA-256 of that hash, and index = rank = payload height;
  - the entry chains to the one before it (parent = its hash) when that is the previous index;
  - its time is not before that of the entry before it;
  - the certificate names the entry's rank, attempt and valueDigest, and a quorum of the
    members signed it for the chain id (Ed25519, the members' public keys only);
  - every node holding that index holds the same frame.
A gap in a log is not an error: a node that adopted a state through sync logs no entry for it.

Examples:
  $ statechart-consensus simulate --rounds 20 --seed 7 --json > run.json
  $ statechart-consensus verify --log run.json
  $ statechart-consensus verify --url http://127.0.0.1:8001 http://127.0.0.1:8002

Exit codes: 0 every entry verified (one summary line); 1 an entry failed (the node, the index
  and what is wrong); 2 the file is missing, not JSON, or not a commit log (one line on stderr).`;

/** `verify --log FILE`: an outsider's check of a simulation's commit logs. */
export function addVerifyCommand(program: Command, io: CommandIO, setExitCode: (code: number) => void): void {
  program
    .command('verify')
    .description("Verify the commit logs 'simulate --json' wrote: frames, digests, chaining, certificates against the members' public keys, agreement.")
    .option('--log <file>', "a JSON file: the output of 'simulate --json', or its logs object")
    .option('--url <url...>', "running nodes' client URLs: their logs, fetched whole, and the members' keys the first one gives")
    .addHelpText('after', VERIFY_HELP)
    .action(async (flags: { log?: string; url?: string[] }) => {
      if ((flags.log === undefined) === (flags.url === undefined)) throw new UsageError('verify takes --log FILE or --url URL..., one of them');
      const logs = flags.log !== undefined ? readCommitLogs(flags.log) : await fetchCommitLogs(flags.url!);
      const verdict = verifyCommitLogs(logs);
      if (!verdict.ok) {
        io.stdout.write(`REJECTED: node ${verdict.node}, index ${verdict.index}: ${verdict.problem}\n`);
        setExitCode(VERIFY_EXIT.rejected);
        return;
      }
      const span = verdict.lowest === null ? '' : ` (indices ${verdict.lowest}–${verdict.highest})`;
      io.stdout.write(
        `VERIFIED: ${verdict.nodes} node${verdict.nodes === 1 ? '' : 's'}, ${verdict.entries} entr${verdict.entries === 1 ? 'y' : 'ies'}${span}, ` +
          `${verdict.certificates} certificate${verdict.certificates === 1 ? '' : 's'} verified against ${logs.members.length} members' keys ` +
          `for chain ${JSON.stringify(logs.chainId)}\n`,
      );
      setExitCode(VERIFY_EXIT.verified);
    });
}
