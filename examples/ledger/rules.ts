import { maxFaultTolerance } from '../../guards/quorum';
import { LedgerFrame } from './types';

/**
 * f: how many Byzantine nodes a cluster of `nodes` equal members tolerates,
 * ⌊(n − 1)/3⌋. The engine counts every quorum from the membership itself;
 * the ledger only needs f to size its prover schedule.
 */
export function faultTolerance(nodes: number): number {
  return maxFaultTolerance(nodes);
}

/**
 * Default provers per height: f + 2 (capped at n), so that with f Byzantine
 * provers at least two honest ones remain and one more crash still leaves a
 * prover.
 */
export function defaultProversPerRank(nodes: number): number {
  return Math.min(nodes, faultTolerance(nodes) + 2);
}

/**
 * The leader schedule: the members rotated by height, first `provers` of
 * them, highest priority first. Every node can compute it, so every node
 * agrees on who may propose at each height.
 */
export function leaderSchedule(members: readonly string[], provers: number): (height: number) => string[] {
  if (!Number.isSafeInteger(provers) || provers < 1 || provers > members.length) {
    throw new RangeError(`provers per rank must be within [1, ${members.length}], got ${provers}`);
  }
  return (height) => {
    const start = height % members.length;
    return Array.from({ length: provers }, (_, i) => members[(start + i) % members.length]);
  };
}

/**
 * Who may propose in each attempt of a height, as the engine rotates it: in
 * attempt 0 every scheduled prover; in attempt a > 0 one member, the
 * scheduled provers first, then the others, turn a mod n. So any member may
 * come to prove a frame, once the provers before it were silent.
 */
export function attemptProposers(members: readonly string[], schedule: (height: number) => string[]): (height: number, attempt: number) => string[] {
  return (height, attempt) => {
    const provers = schedule(height);
    if (attempt === 0) return provers;
    const order = [...provers, ...members.filter((member) => !provers.includes(member))];
    return [order[attempt % order.length]];
  };
}

/** Printable ASCII a coordination command's or read's JSON may take in an entry: a frame's entries stay a few KiB. */
export const MAX_SERVICE_TEXT = 480;

/** A coordination command, `s:<name>:<JSON>`, or a read through the log, `r:<name>:<JSON>` (see serviceEntries.ts). */
export const SERVICE_ENTRY = new RegExp(`^[sr]:[A-Za-z0-9_-]{1,32}:[\\x20-\\x7e]{1,${MAX_SERVICE_TEXT}}$`);

/**
 * A membership change, `m:<tag>:add:<name>:<public key>` (the key as 64
 * hex characters; without it only in a cluster without keys) or
 * `m:<tag>:remove:<name>`, the tag unique to the proposal so that a member
 * removed can be added again (see membership.ts).
 */
export const MEMBER_ENTRY = /^m:[A-Za-z0-9_-]{1,24}:(?:add:[A-Za-z0-9_-]{1,32}(?::[0-9a-f]{64})?|remove:[A-Za-z0-9_-]{1,32})$/;

/**
 * A mutation as a collector writes it, `tx:<collector>:<height>:<index>`, or
 * a client's, `c:<name>:<text>`: a name unique to the proposal (two equal
 * texts are two proposals) and up to 200 printable ASCII characters; or a
 * coordination service's entry, or a membership change.
 */
const ENTRY = /^(?:tx:[A-Za-z0-9_-]{1,32}:\d{1,15}:\d{1,3}|c:[A-Za-z0-9_-]{1,32}:[\x20-\x7e]{1,200})$/;

/** Whether `entry` is a mutation a frame may carry: what a client's proposal must look like too. */
export function isEntry(entry: unknown): entry is string {
  return typeof entry === 'string' && (ENTRY.test(entry) || SERVICE_ENTRY.test(entry) || MEMBER_ENTRY.test(entry));
}

/** Whether `entry` is one a node made up itself (`tx:<node>:…`) rather than a client's. */
export function isOwnEntry(entry: string, node: string): boolean {
  return entry.startsWith(`tx:${node}:`);
}
/** Mutations per frame; a frame with more is refused (a bound on what a prover can make us store). */
export const MAX_FRAME_ENTRIES = 16;

/**
 * How far ahead of a voter's clock a proposed frame's time may be, by
 * default. It assumes the members' clocks agree within this bound (NTP keeps
 * ordinary hosts within tens of milliseconds): a prover whose clock runs
 * further ahead has its frames refused until the voters' clocks catch up, and
 * a Byzantine prover can push the chain's time at most this far ahead of the
 * honest clocks.
 */
export const DEFAULT_MAX_CLOCK_DRIFT_MS = 1_000;

/**
 * The time a prover stamps on the frame it builds on `parent`: its clock,
 * in whole milliseconds, but never below the parent's, so that time never
 * goes backwards along the chain even when the last prover's clock ran ahead.
 */
export function frameTimeAfter(parent: LedgerFrame, now: number): number {
  return Math.max(Math.floor(now), parent.time);
}

export type ProposalVerdict =
  | 'valid'
  | 'not_a_frame'
  | 'malformed'
  | 'wrong_height'
  | 'wrong_parent'
  | 'time_before_parent'
  | 'wrong_prover'
  | 'bad_entries'
  | 'time_ahead';

/**
 * Whether `candidate`, proved by `prover`, is a valid next frame on `head`:
 * well-formed (its hash checks), one above `head`, chained to it, no earlier
 * than it, proved by `prover` itself, who may prove at that height
 * (`mayProve`: the scheduled provers, or every member once later attempts
 * are considered), with plausible mutations. Every honest node at the same
 * head reaches the same verdict, which is what lets them skip an invalid
 * proposer without talking it over.
 *
 * `latestTime`, given when this node is to vote for the frame, is the latest
 * time it accepts: its own clock plus the drift it tolerates. There is no
 * earliest: a frame locked in an earlier attempt comes back later with its
 * original time and must still get votes. A frame a quorum already agreed on
 * (finalizing it) is judged without it: that judgement must come out the
 * same on every node, and their clocks differ.
 */
export function judgeProposal(
  candidate: unknown,
  prover: string,
  head: LedgerFrame,
  mayProve: (height: number) => readonly string[],
  latestTime?: number,
): ProposalVerdict {
  if (!(candidate instanceof LedgerFrame)) return 'not_a_frame';
  if (!candidate.isWellFormed()) return 'malformed';
  if (candidate.height !== head.height + 1) return 'wrong_height';
  if (candidate.parent !== head.hash) return 'wrong_parent';
  if (candidate.time < head.time) return 'time_before_parent';
  if (candidate.prover !== prover || !mayProve(candidate.height).includes(prover)) return 'wrong_prover';
  const entries = candidate.entries;
  if (entries.length === 0 || entries.length > MAX_FRAME_ENTRIES || !entries.every(isEntry)) {
    return 'bad_entries';
  }
  // Last, as the one verdict that changes as this node's clock advances.
  if (latestTime !== undefined && candidate.time > latestTime) return 'time_ahead';
  return 'valid';
}
