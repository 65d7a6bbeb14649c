import { certificateVerifier, type CertificateVerdict } from '../../engine/signing/certificate';
import type { Membership } from '../../guards/quorum';
import { NodeId, type Block, type PayloadCluster, type PayloadEngine } from '../../bench/payloadCluster';
import type { MembershipChange } from '../../engine/membership/change';
import type { ProposalOutcome } from '../../engine/proposals/options';

/**
 * The test app's way of changing the membership: a payload `member:add:n4`
 * or `member:remove:n3` in a committed block. An added node's public key is
 * the one the cluster made for it.
 */
export function changeIn(keyOf: (name: string) => string, signed = true) {
  return (block: Block): MembershipChange<NodeId> | null => {
    for (const payload of block.payloads) {
      const [tag, op, name] = payload.split(':');
      if (tag !== 'member') continue;
      if (op === 'add') return { op: 'add', id: new NodeId(name), ...(signed ? { publicKey: keyOf(name) } : {}) };
      if (op === 'addnokey') return { op: 'add', id: new NodeId(name) };
      if (op === 'remove') return { op: 'remove', id: name };
      if (op === 'junk') return { op: 'promote', id: name } as unknown as MembershipChange<NodeId>;
    }
    return null;
  };
}

/** A promise's outcome, read without awaiting it. */
export function track<T>(promise: Promise<T>): { done: boolean; value?: T; error?: unknown } {
  const outcome: { done: boolean; value?: T; error?: unknown } = { done: false };
  promise.then(
    (value) => Object.assign(outcome, { done: true, value }),
    (error: unknown) => Object.assign(outcome, { done: true, error }),
  );
  return outcome;
}

export type Tracked = ReturnType<typeof track<ProposalOutcome>>;

/** The rank a log entry carrying `payload` committed at, in `engine`'s log. */
export function indexOf(engine: PayloadEngine, payload: string): number | null {
  for (const entry of engine.log.range(engine.log.first, engine.getActiveRank())) if (entry.payload.payloads.includes(payload)) return entry.index;
  return null;
}

/** Every pair of logs agrees wherever both hold an entry. */
export function disagreements(engines: readonly PayloadEngine[]): string[] {
  const problems: string[] = [];
  const [first, ...rest] = engines;
  for (const other of rest) {
    const to = Math.min(first.getActiveRank(), other.getActiveRank());
    for (const entry of other.log.range(1, to)) {
      const mine = first.log.get(entry.index);
      if (mine !== undefined && mine.valueDigest !== entry.valueDigest) problems.push(`index ${entry.index}: ${first.id.name} and ${other.id.name} differ`);
    }
  }
  return problems;
}

/**
 * The membership of every rank as the documented rule gives it, computed
 * here from a log alone and never from an engine's own view: each change a
 * committed block carries takes effect rankWindow + 1 ranks later, one at a
 * time, invalid ones ignored.
 */
export function referenceMemberships(log: PayloadEngine['log'], upTo: number, founders: string[], rankWindow: number, effective = (c: number) => c + rankWindow + 1) {
  const epochs: Array<{ from: number; members: string[] }> = [{ from: 0, members: [...founders] }];
  for (const entry of log.range(1, upTo)) {
    const latest = epochs[epochs.length - 1];
    for (const payload of entry.payload.payloads) {
      const [tag, op, name] = payload.split(':');
      if (tag !== 'member' || latest.from > entry.index) continue;
      if (op === 'add' && !latest.members.includes(name)) epochs.push({ from: effective(entry.index), members: [...latest.members, name] });
      if (op === 'remove' && latest.members.includes(name) && latest.members.length > 1) epochs.push({ from: effective(entry.index), members: latest.members.filter((m) => m !== name) });
      break;
    }
  }
  return (rank: number) => [...epochs].reverse().find((epoch) => epoch.from <= rank)!.members;
}

/** Every certificate in every log, checked with the reference membership of its rank: what is wrong, if anything. */
export function certificateProblems(cluster: PayloadCluster, engines: readonly PayloadEngine[], membersAt: (rank: number) => string[]): string[] {
  const problems: string[] = [];
  const verifiers = new Map<string, (certificate: unknown) => CertificateVerdict>();
  for (const engine of engines) {
    for (const entry of engine.log.range(engine.log.first, engine.getActiveRank())) {
      if (entry.certificate === null) continue;
      const members = membersAt(entry.index);
      const key = members.join(',');
      let verify = verifiers.get(key);
      if (verify === undefined) {
        verify = certificateVerifier(members.map((id) => ({ id, publicKey: cluster.publicKey(id) })), { verifier: cluster.verifier });
        verifiers.set(key, verify);
      }
      const verdict = verify(entry.certificate);
      if (!verdict.valid) problems.push(`${engine.id.name} rank ${entry.index}: ${verdict.reason}`);
    }
  }
  return problems;
}

export const idsOf = (membership: Membership | null) => (membership === null ? null : [...membership.ids]);
