import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT } from '../../cli/program';
import { signStatement, valueDigestOf } from '../../engine/signing/index';
import { LEDGER_CHAIN_ID } from '../../examples/ledger/LedgerNode';
import { LedgerFrame } from '../../examples/ledger/types';
import type { CommitLogsJson, LogEntryJson } from '../../simulator/commitLogs';
import { simulationKeys } from '../../simulator/keys';
import { nodeNames } from '../../simulator/options';
import { cli } from './harness';

const SEED = 7;
const ROUNDS = 6;
let dir: string;
let report: { logs: CommitLogsJson; roundsFinalized: Record<string, number>; byzantineNodes: string[] } & Record<string, unknown>;
let honest: string[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'verify-log-'));
  const run = await cli('simulate', '--rounds', String(ROUNDS), '--seed', String(SEED), '--json');
  expect(run.code).toBe(EXIT.ok);
  report = JSON.parse(run.stdout);
  honest = Object.keys(report.logs.nodes);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** Writes `content` (JSON unless a string) to a new file of the temporary directory. */
function file(content: unknown): string {
  files += 1;
  const path = join(dir, `log-${files}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/** A copy of the report whose log entry `index` of `node` went through `change`. */
function tampered(node: string, index: number, change: (entry: LogEntryJson) => void): unknown {
  const copy = structuredClone(report);
  change(copy.logs.nodes[node].find((entry) => entry.index === index)!);
  return copy;
}

/** `text` with its character at `at` replaced by another of the same kind (hex, base64 or digit stay so). */
function flip(text: string, at: number): string {
  const replacement = text[at] === '0' ? '1' : /[0-9]/.test(text[at]) ? '0' : text[at] === 'a' ? 'b' : 'a';
  return text.slice(0, at) + replacement + text.slice(at + 1);
}

/** Re-signs `entry`'s certificate with the simulated cluster's keys, after its frame was rewritten. */
function recertify(entry: LogEntryJson): void {
  const { height, parent, prover, time, entries } = entry.payload;
  entry.payload.hash = LedgerFrame.hashOf(height, parent, prover, time, entries);
  entry.valueDigest = valueDigestOf(entry.payload.hash);
  const keys = simulationKeys(nodeNames(4), SEED);
  const certificate = entry.certificate!;
  const statement = { chainId: LEDGER_CHAIN_ID, kind: 'confirmation' as const, rank: entry.rank, attempt: entry.attempt, valueDigest: entry.valueDigest };
  certificate.valueDigest = entry.valueDigest;
  certificate.signatures = certificate.signers.map((signer) => signStatement(keys.privateKeyOf(signer), statement));
}

describe('simulate --json carries the commit logs', () => {
  it('logs: the chain id, the members\' public keys and every honest node\'s entries, beside the report fields as they were', () => {
    expect(report).toMatchObject({ seed: SEED, nodes: 4, agreement: true, violations: [], reachedTarget: true });
    const keys = simulationKeys(nodeNames(4), SEED);
    expect(report.logs.chainId).toBe(LEDGER_CHAIN_ID);
    expect(report.logs.members).toEqual(nodeNames(4).map((id) => ({ id, publicKey: keys.publicKeys[id], weight: 1 })));
    expect(honest).toEqual(nodeNames(4).filter((name) => !report.byzantineNodes.includes(name)));
    for (const node of honest) {
      const log = report.logs.nodes[node];
      // No crash, no sync: every height the node finalized is in its log, in order.
      expect(log.map((entry) => entry.index)).toEqual(Array.from({ length: report.roundsFinalized[node] }, (_, i) => i + 1));
      for (const entry of log) {
        expect(Object.keys(entry)).toEqual(['index', 'rank', 'attempt', 'valueDigest', 'proposer', 'certificate', 'payload']);
        expect(Object.keys(entry.payload)).toEqual(['height', 'parent', 'prover', 'time', 'entries', 'hash']);
        expect(entry.certificate).toMatchObject({ rank: entry.rank, attempt: entry.attempt, valueDigest: entry.valueDigest });
      }
    }
  });

  it('the table has no log, and says what log matching checked', async () => {
    const { code, stdout } = await cli('simulate', '--rounds', String(ROUNDS), '--seed', String(SEED));
    expect(code).toBe(EXIT.ok);
    const entries = honest.reduce((sum, node) => sum + report.logs.nodes[node].length, 0);
    expect(stdout.trimEnd().split('\n').at(-1)).toMatch(new RegExp(`; logs match: ${entries} entries, ${entries} certificates verified, 0 gaps; `));
  });
});

describe('statechart-consensus verify --log', () => {
  it('verifies the untampered output of simulate --json, and its logs object alone, with a one-line summary', async () => {
    const entries = honest.reduce((sum, node) => sum + report.logs.nodes[node].length, 0);
    const highest = Math.max(...honest.map((node) => report.roundsFinalized[node]));
    const expected = `VERIFIED: 3 nodes, ${entries} entries (indices 1–${highest}), ${entries} certificates verified against 4 members' keys for chain "${LEDGER_CHAIN_ID}"\n`;
    for (const content of [report, report.logs]) {
      const { code, stdout, stderr } = await cli('verify', '--log', file(content));
      expect({ code, stdout, stderr }).toEqual({ code: 0, stdout: expected, stderr: '' });
    }
  });

  it('a gap in a log (ranks a node adopted through sync) is not an error', async () => {
    const copy = structuredClone(report);
    copy.logs.nodes[honest[0]] = copy.logs.nodes[honest[0]].filter((entry) => entry.index !== 2 && entry.index !== 3);
    const { code, stdout } = await cli('verify', '--log', file(copy));
    expect(code).toBe(0);
    expect(stdout).toMatch(/^VERIFIED: /);
  });

  const node = () => honest[1];
  it.each<[string, (entry: LogEntryJson) => void, RegExp]>([
    ['a certificate signature', (entry) => void (entry.certificate!.signatures[0] = flip(entry.certificate!.signatures[0], 10)), /^its certificate does not verify: n\d's signature does not verify$/],
    ['a payload entry', (entry) => void (entry.payload.entries[0] = flip(entry.payload.entries[0], entry.payload.entries[0].length - 1)), /^the payload's hash [0-9a-f]+ is not the hash of its content \([0-9a-f]+\)$/],
    ['a payload time', (entry) => void (entry.payload.time += 1), /^the payload's hash [0-9a-f]+ is not the hash of its content \([0-9a-f]+\)$/],
    ['a signer name', (entry) => void (entry.certificate!.signers[0] = flip(entry.certificate!.signers[0], 0)), /^its certificate does not verify: a\d is not a member$/],
    ['a valueDigest', (entry) => void (entry.valueDigest = flip(entry.valueDigest, 0)), /^valueDigest [0-9a-f]{64} is not the SHA-256 of the payload's hash [0-9a-f]+ \([0-9a-f]{64}\)$/],
  ])('one character changed in %s: exit 1, naming the node and the index', async (_what, change, problem) => {
    const { code, stdout, stderr } = await cli('verify', '--log', file(tampered(node(), 3, change)));
    expect(code).toBe(1);
    expect(stderr).toBe('');
    const line = /^REJECTED: node (\S+), index (\d+): (.*)\n$/.exec(stdout);
    expect(line).not.toBeNull();
    expect(line!.slice(1, 3)).toEqual([node(), '3']);
    expect(line![3]).toMatch(problem);
  });

  it('a frame re-signed by a quorum of the cluster\'s keys still fails where it breaks the chain, where its time goes back, or where another node holds another frame', async () => {
    // A new parent, hash, digest and certificate: only entry 2 of the same log shows it does not belong.
    const unchained = tampered(honest[0], 3, (entry) => {
      entry.payload.parent = flip(entry.payload.parent, 0);
      recertify(entry);
    });
    const first = await cli('verify', '--log', file(unchained));
    expect(first.code).toBe(1);
    expect(first.stdout).toMatch(new RegExp(`^REJECTED: node ${honest[0]}, index 3: the payload's parent [0-9a-f]+ is not the hash of entry 2 \\([0-9a-f]+\\)\\n$`));

    // Another frame for height 3 that chains and is certified: only the other nodes' logs show the fork.
    const forked = tampered(honest[1], 3, (entry) => {
      entry.payload.entries = [...entry.payload.entries, 'tx:forged'];
      recertify(entry);
    });
    const second = await cli('verify', '--log', file(forked));
    expect(second.code).toBe(1);
    expect(second.stdout).toMatch(new RegExp(`^REJECTED: node ${honest[1]}, index 3: it holds frame [0-9a-f]+ where ${honest[0]} holds [0-9a-f]+\\n$`));

    // Dated before the entry it chains to, and certified: the log itself shows time went back.
    const backwards = tampered(honest[0], 3, (entry) => {
      const previous = report.logs.nodes[honest[0]].find((other) => other.index === 2)!;
      entry.payload.time = previous.payload.time - 1;
      recertify(entry);
    });
    const third = await cli('verify', '--log', file(backwards));
    expect(third.code).toBe(1);
    expect(third.stdout).toMatch(new RegExp(`^REJECTED: node ${honest[0]}, index 3: the payload's time \\d+ is before entry 2's \\(\\d+\\)`));
  });

  it.each<[string, () => string, RegExp]>([
    ['a missing file', () => join(dir, 'missing.json'), /^error: --log: cannot read .*missing\.json: ENOENT/],
    ['a file that is not JSON', () => file('{"logs": '), /^error: --log: .* is not JSON: /],
    ['JSON of the wrong shape', () => file({ logs: { ...report.logs, nodes: { n0: [{ index: 1 }] } } }), /^error: --log: .* is not a commit log \(simulate --json's output, or its logs object\): logs\.nodes\.n0\.0\.rank: /],
    ['a member key that is not hex', () => file({ ...report.logs, members: [{ id: 'n0', publicKey: 'xyz' }] }), /^error: --log: .* is not a commit log .*: members\.0\.publicKey: must be 64 hex characters\n$/],
    ['members no quorum can be counted over', () => file({ ...report.logs, members: [...report.logs.members, report.logs.members[0]] }), /^error: --log: the members cannot check a certificate: /],
  ])('%s: one line on stderr, exit 2', async (_what, path, message) => {
    const { code, stdout, stderr } = await cli('verify', '--log', path());
    expect(code).toBe(EXIT.usage);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('refuses neither --log nor --url, and documents the checks and exit codes in --help', async () => {
    const missing = await cli('verify');
    expect(missing.code).toBe(EXIT.usage);
    expect(missing.stderr).toBe('error: verify takes --log FILE or --url URL..., one of them\n');
    const help = await cli('verify', '--help');
    expect(help.code).toBe(EXIT.ok);
    for (const text of ['--log <file>', 'a quorum of the', 'A gap in a log is not an error', 'Exit codes: 0']) expect(help.stdout).toContain(text);
  });
});
