import type { LogEntry } from '../engine/commitLog';
import { DEFAULT_LOG_RETENTION } from '../engine/config';
import type { CertificateMember, CommitCertificate } from '../engine/signing/certificate';
import type { LedgerFrame, LedgerPeer } from '../examples/ledger/types';

/** A ledger frame as plain data: `hash` is `LedgerFrame.hashOf(height, parent, prover, time, entries)`. */
export interface FrameJson {
  height: number;
  parent: string;
  prover: string;
  /** Milliseconds on the prover's clock, agreed with the frame. */
  time: number;
  entries: string[];
  hash: string;
}

/** One commit log entry as plain data, for anyone to check without the engine. */
export interface LogEntryJson {
  index: number;
  rank: number;
  attempt: number;
  /** SHA-256 of `payload.hash` (the frame's identity), hex. */
  valueDigest: string;
  proposer: string | null;
  /** Null for engines without keys. */
  certificate: CommitCertificate | null;
  payload: FrameJson;
}

/**
 * Every honest node's commit log with what verifies it: the chain id the
 * signatures are for and the members' public keys (`simulate --json`'s
 * `logs`, what `statechart-consensus verify --log` reads).
 */
export interface CommitLogsJson {
  chainId: string;
  members: Required<CertificateMember>[];
  /** By honest node, in member order: its entries in index order. */
  nodes: Record<string, LogEntryJson[]>;
}

/**
 * The entries each honest node logged, over all its incarnations: an
 * engine's log lives in memory and starts empty after a restart, but what
 * the node committed before its crash was committed. Each node keeps the
 * engine's own retention, the oldest dropped first.
 */
export class CommitLogRecorder {
  private readonly logs = new Map<string, LogEntryJson[]>();

  constructor(
    nodes: readonly string[],
    private readonly retention = DEFAULT_LOG_RETENTION,
  ) {
    for (const node of nodes) this.logs.set(node, []);
  }

  record(node: string, entry: LogEntry<LedgerFrame, LedgerPeer>): void {
    const log = this.logs.get(node);
    if (log === undefined) return;
    // An entry filled in after a sync lands below the tail: kept in index order.
    let at = log.length;
    while (at > 0 && log[at - 1].index > entry.index) at -= 1;
    log.splice(at, 0, entryJson(entry));
    if (log.length > this.retention) log.splice(0, log.length - this.retention);
  }

  toJSON(chainId: string, members: readonly Required<CertificateMember>[]): CommitLogsJson {
    return { chainId, members: members.map((member) => ({ ...member })), nodes: Object.fromEntries(this.logs) };
  }
}

function entryJson({ index, rank, attempt, valueDigest, proposer, certificate, payload }: LogEntry<LedgerFrame, LedgerPeer>): LogEntryJson {
  return {
    index,
    rank,
    attempt,
    valueDigest,
    proposer: proposer?.identity() ?? null,
    certificate:
      certificate === null
        ? null
        : {
            rank: certificate.rank,
            attempt: certificate.attempt,
            valueDigest: certificate.valueDigest,
            signers: [...certificate.signers],
            signatures: [...certificate.signatures],
          },
    payload: { height: payload.height, parent: payload.parent, prover: payload.prover, time: payload.time, entries: [...payload.entries], hash: payload.hash },
  };
}
