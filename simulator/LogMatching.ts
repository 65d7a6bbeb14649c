import type { LogEntry } from '../engine/commitLog';
import type { CertificateMember, CertificateVerdict } from '../engine/signing/certificate';
import { valueDigestOf } from '../engine/signing/statement';
import type { Unique } from '../providers/unique';
import { certificateVerifier } from '../engine/signing/certificate';
import type { Finding } from './SafetyChecker';

export interface LogMatchingOptions {
  /** The members' public keys (and weights); null for engines without keys, whose entries carry no certificate. */
  members: readonly CertificateMember[] | null;
  /**
   * For a membership that changes through the log: the members (and keys)
   * deciding each rank, which a certificate of that rank must be a quorum of.
   * Takes the place of `members` when given with them.
   */
  membersAt?: (rank: number) => readonly CertificateMember[];
  /** What the members' signatures are for. */
  chainId: string;
}

export interface LogMatchingSummary {
  /** Honest nodes' log entries checked. */
  entries: number;
  /** Whether entries carry certificates to check: false for engines without keys. */
  signed: boolean;
  /** Certificates that verified against the members' public keys (0 without keys). */
  certificatesVerified: number;
  /**
   * Stretches of ranks missing from an honest node's log at the end of the
   * run, a log that ends short of the node's state included. Legitimate: a
   * node that adopted a state through sync fills the ranks it skipped from
   * its peers' certified entries, and a range no one could send (or one
   * below a restarted node's persisted head) stays missing.
   */
  gaps: number;
  /** Ranks missing over all those gaps. */
  skippedRanks: number;
  /** Entries a node filled in below its tail, from peers, after syncing past them. */
  filled: number;
  /** The first violation this check found, kept even when another check's violation stopped the run first. */
  violation: Finding | null;
}

/** The log entries of any app: only identities are compared. */
export type MatchedEntry = LogEntry<Unique, Unique>;

interface Held {
  node: string;
  valueDigest: string;
  identity: string;
}

/**
 * Log matching, checked as entries are appended: every honest node's commit
 * log grows strictly by index, holds at each index the entry every other
 * honest node holds there (the same value: attempts may differ, a straggler
 * may commit a rank in a later attempt than the first node did), and, with
 * keys, each entry's certificate is a quorum of the members' signatures over
 * that very rank, attempt and value. The frame checks of `SafetyChecker`
 * look at what the app finalized; this looks at what the engine logged, and
 * proves, which is what a peer or an auditor would be handed.
 *
 * Bookkeeping only, like `SafetyChecker`: it returns a finding and the
 * simulator stops the run.
 */
export class LogMatching {
  /** The last index each node logged, over all its incarnations (a restart resumes past its persisted head). */
  private readonly tails = new Map<string, number>();
  /** Per node, the indices below its tail it has no entry for: only these may be filled in. */
  private readonly holes = new Map<string, Set<number>>();
  private filled = 0;
  private readonly held = new Map<number, Held>();
  private readonly verify: ((certificate: unknown, rank: number) => CertificateVerdict) | null;
  private entries = 0;
  private certificatesVerified = 0;
  private violation: Finding | null = null;

  constructor(options: LogMatchingOptions) {
    // A verifier of its own: a verdict the engines cached is not taken on trust.
    const { members, chainId } = options;
    if (members === null) {
      this.verify = null;
      return;
    }
    const membersAt = options.membersAt ?? (() => members);
    // One verifier per distinct membership: a run has a handful.
    const verifiers = new Map<string, (certificate: unknown) => CertificateVerdict>();
    this.verify = (certificate, rank) => {
      const current = membersAt(rank);
      const key = current.map((member) => member.id).join(',');
      let verify = verifiers.get(key);
      if (verify === undefined) verifiers.set(key, (verify = certificateVerifier(current, { chainId })));
      return verify(certificate);
    };
  }

  /** `node` appended `entry` to its log. */
  append(node: string, entry: MatchedEntry): Finding | null {
    const finding = this.check(node, entry);
    if (finding !== null) {
      this.violation ??= finding;
      return finding;
    }
    const last = this.tails.get(node) ?? 0;
    const holes = this.holes.get(node) ?? new Set<number>();
    this.holes.set(node, holes);
    if (entry.index > last) {
      for (let missing = last + 1; missing < entry.index; missing += 1) holes.add(missing);
      this.tails.set(node, entry.index);
    } else {
      holes.delete(entry.index);
      this.filled += 1;
    }
    this.entries += 1;
    return null;
  }

  /** What was checked; `heads`, each honest node's rank now, counts the ranks past a log's tail as one more gap. */
  summary(heads: ReadonlyMap<string, number> = new Map()): LogMatchingSummary {
    let gaps = 0;
    let skippedRanks = 0;
    for (const holes of this.holes.values()) {
      const sorted = [...holes].sort((a, b) => a - b);
      sorted.forEach((index, i) => {
        if (i === 0 || sorted[i - 1] !== index - 1) gaps += 1;
      });
      skippedRanks += sorted.length;
    }
    for (const [node, head] of heads) {
      const tail = this.tails.get(node) ?? 0;
      if (head > tail) {
        gaps += 1;
        skippedRanks += head - tail;
      }
    }
    return {
      entries: this.entries,
      signed: this.verify !== null,
      certificatesVerified: this.certificatesVerified,
      gaps,
      skippedRanks,
      filled: this.filled,
      violation: this.violation,
    };
  }

  private check(node: string, entry: MatchedEntry): Finding | null {
    const { index } = entry;
    const found = (detail: string, nodes: string[] = [node]): Finding => ({ kind: 'log_matching', rank: index, nodes, detail });
    if (index !== entry.rank || Number(entry.payload.rank()) !== entry.rank) {
      return found(`${node}'s log entry ${index} is for rank ${entry.rank}, its value for rank ${String(entry.payload.rank())}`);
    }
    // The genesis state is rank 0 and never logged: a first entry at 0 is out of order too.
    const last = this.tails.get(node) ?? 0;
    // Below the tail only a missing place may be filled: anything else is an entry logged twice or out of order.
    if (index <= last && !(this.holes.get(node)?.has(index) ?? false)) {
      return found(`${node} logged entry ${index} after entry ${last}, and ${index} was not missing from its log`);
    }
    const identity = entry.payload.identity();
    if (valueDigestOf(identity) !== entry.valueDigest) {
      return found(`${node}'s log entry ${index} has value digest ${entry.valueDigest}, but its value ${identity} digests to ${valueDigestOf(identity)}`);
    }
    const known = this.held.get(index);
    if (known !== undefined && (known.valueDigest !== entry.valueDigest || known.identity !== identity)) {
      // Two honest logs that differ at one index are two honest nodes that finalized different values:
      // the agreement property itself, seen in the logs (often before the app hears of the commit).
      return { kind: 'agreement', rank: index, nodes: [known.node, node], detail: `${known.node} finalized ${known.identity} at ${index} but ${node} finalized ${identity}` };
    }
    if (this.verify !== null) {
      const { certificate } = entry;
      if (certificate === null) return found(`${node}'s log entry ${index} has no certificate`);
      if (certificate.rank !== entry.rank || certificate.attempt !== entry.attempt || certificate.valueDigest !== entry.valueDigest) {
        return found(
          `${node}'s log entry ${index} (attempt ${entry.attempt}, digest ${entry.valueDigest}) carries a certificate of rank ${certificate.rank}, ` +
            `attempt ${certificate.attempt}, digest ${certificate.valueDigest}`,
        );
      }
      const verdict = this.verify(certificate, entry.rank);
      if (!verdict.valid) return found(`${node}'s log entry ${index} has a certificate that does not verify: ${verdict.reason}`);
      this.certificatesVerified += 1;
    }
    if (known === undefined) this.held.set(index, { node, valueDigest: entry.valueDigest, identity });
    return null;
  }
}
