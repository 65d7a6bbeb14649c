import { createHash } from 'node:crypto';
import type { LogEntry } from '../../engine/commitLog';
import type { CommitCertificate } from '../../engine/signing/certificate';
import { keyPairFromSeed, signStatement, valueDigestOf } from '../../engine/signing/index';
import { LedgerFrame, LedgerPeer } from '../../examples/ledger/types';
import { humanReport } from '../../cli/render';
import { LogMatching } from '../../simulator/LogMatching';
import { runSimulation } from '../../simulator/runSimulation';
import { splitCommitPlan } from './splitCommitPlan';

const CHAIN = 'log-matching-test';
const names = ['n0', 'n1', 'n2', 'n3'];
const pairs = new Map(names.map((name) => [name, keyPairFromSeed(createHash('sha256').update(`log matching ${name}`).digest())]));
const members = names.map((id) => ({ id, publicKey: pairs.get(id)!.publicKey, weight: 1 }));

/** A quorum's confirmations of `valueDigest` at `rank` and `attempt`, signed with the members' keys. */
function certify(rank: number, attempt: number, valueDigest: string, signers = ['n0', 'n1', 'n2']): CommitCertificate {
  const statement = { chainId: CHAIN, kind: 'confirmation' as const, rank, attempt, valueDigest };
  return { rank, attempt, valueDigest, signers, signatures: signers.map((signer) => signStatement(pairs.get(signer)!.privateKey, statement)) };
}

/** Frames 1…length chained from genesis; `tag` makes another chain. */
function chain(length: number, tag = ''): LedgerFrame[] {
  const frames: LedgerFrame[] = [];
  let parent = LedgerFrame.genesis();
  for (let height = 1; height <= length; height += 1) {
    parent = LedgerFrame.create(height, parent.hash, 'n1', parent.time, [`tx:${height}${tag}`]);
    frames.push(parent);
  }
  return frames;
}

type Entry = LogEntry<LedgerFrame, LedgerPeer>;

function entry(frame: LedgerFrame, attempt = 0, certificate: CommitCertificate | null = certify(frame.height, attempt, valueDigestOf(frame.hash))): Entry {
  return {
    index: frame.height,
    rank: frame.height,
    attempt,
    term: null,
    valueDigest: valueDigestOf(frame.hash),
    proposer: new LedgerPeer(frame.prover),
    certificate,
    payload: frame,
  };
}

const signedChecker = () => new LogMatching({ members, chainId: CHAIN });

describe('LogMatching', () => {
  it('accepts honest logs that hold the same entries, and verifies every certificate', () => {
    const check = signedChecker();
    const frames = chain(3);
    for (const node of ['n0', 'n1', 'n2']) for (const frame of frames) expect(check.append(node, entry(frame))).toBeNull();
    expect(check.summary()).toEqual({ entries: 9, signed: true, certificatesVerified: 9, gaps: 0, skippedRanks: 0, filled: 0, violation: null });
  });

  it('lets the same value be committed in different attempts at different nodes', () => {
    const check = signedChecker();
    const [one] = chain(1);
    expect(check.append('n0', entry(one, 0))).toBeNull();
    expect(check.append('n1', entry(one, 2))).toBeNull();
    expect(check.summary().violation).toBeNull();
  });

  it('counts gaps (ranks adopted through sync) without calling them violations, a log that ends short of the state included', () => {
    const check = signedChecker();
    const frames = chain(6);
    expect(check.append('n0', entry(frames[0]))).toBeNull();
    expect(check.append('n0', entry(frames[3]))).toBeNull(); // 2 and 3 skipped
    expect(check.append('n1', entry(frames[2]))).toBeNull(); // 1 and 2 skipped
    expect(check.summary()).toMatchObject({ entries: 3, gaps: 2, skippedRanks: 4, violation: null });
    // n0's state is at 6, its log ends at 4; n1's at 3, its log too.
    expect(check.summary(new Map([['n0', 6], ['n1', 3]]))).toMatchObject({ gaps: 3, skippedRanks: 6 });
  });

  it('reports an entry logged twice, or below the tail where nothing was missing', () => {
    const check = signedChecker();
    const frames = chain(2);
    check.append('n0', entry(frames[0]));
    check.append('n0', entry(frames[1]));
    const finding = check.append('n0', entry(frames[1]));
    expect(finding).toEqual({ kind: 'log_matching', rank: 2, nodes: ['n0'], detail: 'n0 logged entry 2 after entry 2, and 2 was not missing from its log' });
    expect(check.summary().violation).toEqual(finding);
    expect(check.append('n0', entry(frames[0]))?.detail).toBe('n0 logged entry 1 after entry 2, and 1 was not missing from its log');
  });

  it('takes an entry filled in below the tail where the log skipped ranks, once, and counts it', () => {
    const check = signedChecker();
    const frames = chain(4);
    expect(check.append('n0', entry(frames[0]))).toBeNull();
    expect(check.append('n0', entry(frames[3]))).toBeNull();
    expect(check.summary()).toMatchObject({ gaps: 1, skippedRanks: 2, filled: 0 });
    expect(check.append('n0', entry(frames[2]))).toBeNull();
    expect(check.summary()).toMatchObject({ gaps: 1, skippedRanks: 1, filled: 1 });
    expect(check.append('n0', entry(frames[2]))?.detail).toBe('n0 logged entry 3 after entry 4, and 3 was not missing from its log');
    expect(check.append('n0', entry(frames[1]))).toBeNull();
    expect(check.summary()).toMatchObject({ gaps: 0, skippedRanks: 0, filled: 2 });
  });

  it('negative control: a fabricated entry that diverges from another honest log at one index is a violation naming both nodes', () => {
    const check = signedChecker();
    const [one] = chain(1);
    const [other] = chain(1, '-fork');
    expect(check.append('n0', entry(one))).toBeNull();
    // Validly certified, even: only the other log shows it is a fork.
    expect(check.append('n2', entry(other))).toEqual({
      kind: 'agreement',
      rank: 1,
      nodes: ['n0', 'n2'],
      detail: `n0 finalized ${one.hash} at 1 but n2 finalized ${other.hash}`,
    });
  });

  it('reports an entry whose value digest is not its value\'s, or whose index is not its rank', () => {
    const [one] = chain(1);
    const digest = entry(one);
    expect(signedChecker().append('n0', { ...digest, valueDigest: valueDigestOf('something else') })?.detail).toMatch(/^n0's log entry 1 has value digest [0-9a-f]{64}, but its value /);
    expect(signedChecker().append('n0', { ...digest, index: 2 })?.detail).toBe("n0's log entry 2 is for rank 1, its value for rank 1");
  });

  it('reports a certificate that does not verify, names another position, or is missing', () => {
    const [one] = chain(1);
    const good = entry(one);
    const certificate = good.certificate!;
    const forged = { ...certificate, signatures: [certificate.signatures[1], ...certificate.signatures.slice(1)] };
    expect(signedChecker().append('n0', { ...good, certificate: forged })?.detail).toBe(
      "n0's log entry 1 has a certificate that does not verify: n0's signature does not verify",
    );
    const short = { ...certificate, signers: certificate.signers.slice(0, 2), signatures: certificate.signatures.slice(0, 2) };
    expect(signedChecker().append('n0', { ...good, certificate: short })?.detail).toBe(
      "n0's log entry 1 has a certificate that does not verify: the signers weigh 2, short of the quorum of 3",
    );
    const stranger = { ...certificate, signers: ['n0', 'n1', 'n9'] };
    expect(signedChecker().append('n0', { ...good, certificate: stranger })?.detail).toMatch(/n9 is not a member$/);
    // Signed for another rank, attempt or value: valid signatures, of something else.
    for (const other of [certify(2, 0, good.valueDigest), certify(1, 1, good.valueDigest), certify(1, 0, valueDigestOf('x'))]) {
      expect(signedChecker().append('n0', { ...good, certificate: other })?.detail).toMatch(/^n0's log entry 1 \(attempt 0, digest [0-9a-f]{64}\) carries a certificate of rank/);
    }
    // Signed for another chain.
    const elsewhere = new LogMatching({ members, chainId: 'another-chain' });
    expect(elsewhere.append('n0', good)?.detail).toMatch(/does not verify: n0's signature does not verify$/);
    expect(signedChecker().append('n0', { ...good, certificate: null })?.detail).toBe("n0's log entry 1 has no certificate");
  });

  it('without keys checks the logs and leaves certificates alone', () => {
    const check = new LogMatching({ members: null, chainId: CHAIN });
    const frames = chain(2);
    for (const frame of frames) expect(check.append('n0', entry(frame, 0, null))).toBeNull();
    expect(check.summary()).toMatchObject({ entries: 2, signed: false, certificatesVerified: 0 });
  });
});

describe('LogMatching in the simulator', () => {
  it('checks every honest log entry of a run and verifies its certificate; the verdict says so', async () => {
    const report = await runSimulation({ rounds: 6, seed: 3 });
    expect(report.violations).toEqual([]);
    expect(report.reachedTarget).toBe(true);
    const honest = report.perNode.filter((node) => node.byzantine === null);
    const heights = honest.reduce((sum, node) => sum + node.roundsFinalized, 0);
    // No crash, no sync: every height every honest node finalized is in its log.
    expect(report.logMatching).toEqual({ entries: heights, signed: true, certificatesVerified: heights, gaps: 0, skippedRanks: 0, filled: 0, violation: null });
    expect(report.logs).toBeUndefined();
    expect(humanReport(report).trimEnd().split('\n').at(-1)).toMatch(
      new RegExp(`; logs match: ${heights} entries, ${heights} certificates verified, 0 gaps; [\\d.]+ s simulated`),
    );
  });

  it('a node that restarts and adopts heights through sync leaves a gap in its log: counted, not a violation', async () => {
    const report = await runSimulation({ rounds: 30, seed: 2, byzantine: 0, latency: { min: 2, max: 10 }, crashes: [{ node: 'n2', at: 300, restartAt: 1500 }] });
    expect(report.violations).toEqual([]);
    expect(report.perNode.find((node) => node.name === 'n2')!.framesSynced).toBeGreaterThan(0);
    expect(report.logMatching.gaps).toBeGreaterThan(0);
    expect(report.logMatching.skippedRanks).toBeGreaterThanOrEqual(report.logMatching.gaps);
    expect(report.logMatching.violation).toBeNull();
  });

  it('negative control: an entry forged in one honest log fails the run as an agreement violation would', async () => {
    const report = await runSimulation(
      { rounds: 6, seed: 3 },
      {
        sabotageLog: (node, entry) => {
          if (node !== 'n1' || entry.index !== 3 || entry.certificate === null) return entry;
          // The second signer's signature in the first signer's place.
          const { signatures } = entry.certificate;
          return { ...entry, certificate: { ...entry.certificate, signatures: [signatures[1], ...signatures.slice(1)] } };
        },
      },
    );
    expect(report.violations).toHaveLength(1);
    const [violation] = report.violations;
    expect(violation).toMatchObject({ kind: 'log_matching', rank: 3, nodes: ['n1'], seed: 3 });
    expect(violation.detail).toMatch(/^n1's log entry 3 has a certificate that does not verify: n\d's signature does not verify$/);
    expect(violation.replay).toMatch(/^statechart-consensus simulate /);
    expect(report.logMatching.violation).toMatchObject({ kind: 'log_matching', rank: 3 });
    expect(report.reachedTarget).toBe(false);
    expect(report.stalled).toBe(false);
    expect(humanReport(report).trimEnd().split('\n').at(-1)).toMatch(/^UNSAFE: log_matching violated at height 3 \(n1\)/);
  });

  it('negative control: a run that forks under an unsafe rule (no keys) diverges in the honest logs too', async () => {
    // Seed 1 of roundChangeControls' split-commit plan forks with commit-on-votes.
    const report = await runSimulation(splitCommitPlan(1, 'commit-on-votes'));
    // The logs show it first: an entry enters the log before the ledger hears of the commit.
    const found = report.logMatching.violation!;
    expect(report.violations[0]).toMatchObject({ kind: 'agreement', rank: found.rank, nodes: found.nodes });
    expect(found.kind).toBe('agreement');
    expect(found.nodes).toHaveLength(2);
    expect(found.nodes.every((node) => !report.byzantineNodes.includes(node))).toBe(true);
    expect(found.detail).toMatch(/^n\d finalized [0-9a-f]+ at \d+ but n\d finalized [0-9a-f]+$/);
    expect(report.logMatching.signed).toBe(false);
  });
});
