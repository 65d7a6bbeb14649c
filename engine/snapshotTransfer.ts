import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { EngineMemberships } from './membership/engineMemberships';
import { epochsOfRecord, membershipRecordSchema, type MembershipRecord } from './membership/history';
import type { MemberKeys } from './signing/certificate';
import type { ValueCodec } from '../providers/codec';
import type { ConsensusClock } from '../providers/clock';
import type { RelayProvider, SnapshotChunk } from '../providers/relay';
import type { TraceLogger } from '../providers/trace';
import type { Identity, Unique } from '../providers/unique';
import type { CommitLog } from './commitLog';
import { adoptValue } from './door';
import { InvalidSignatureError, MalformedMessageError } from './errors';
import { describeIssues } from './schemas';
import { commitCertificateSchema, verifySigned } from './signing/certificate';
import type { EngineSigning } from './signing/engineSigning';
import { valueDigestOf } from './signing/statement';
import type { Snapshot, StateMachineRunner } from './stateMachine';

/** Characters of snapshot data one chunk carries at most. */
export const SNAPSHOT_CHUNK_CHARS = 64 * 1024;
/** Default largest snapshot a node assembles from a peer, in characters of JSON. */
export const DEFAULT_MAX_SNAPSHOT_CHARS = 64 * 1024 * 1024;

const chunkSchema = z
  .object({
    index: z.number().int().min(1),
    state: z.unknown(),
    certificate: z.unknown(),
    dataDigest: z.string().regex(/^[0-9a-f]{64}$/),
    size: z.number().int().min(0),
    offset: z.number().int().min(0),
    data: z.string().max(SNAPSHOT_CHUNK_CHARS),
    membership: membershipRecordSchema.optional(),
  })
  .strict();

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export interface SnapshotTransferOptions<StateT extends Unique, PeerIDT extends Unique> {
  runner: StateMachineRunner<StateT, PeerIDT>;
  log: CommitLog<StateT, PeerIDT>;
  signing: EngineSigning;
  memberships: EngineMemberships;
  /** Engines with keys (always, for a transfer): the memberships a snapshot carries have keys. */
  keyed: boolean;
  relay: RelayProvider<StateT, PeerIDT, unknown>;
  clock: ConsensusClock;
  logger: TraceLogger;
  codec: ValueCodec<StateT>;
  maxValueSize: number;
  maxSnapshotChars: number;
  peerOf: (id: Identity) => PeerIDT;
  /** Ms between two sends of a snapshot to one peer. */
  interval: number;
  /** Told first when a snapshot is about to take this node's state: what it says holds from its index on, for everything that follows. */
  beforeRestore?: (snapshot: Snapshot<StateT>) => void;
}

/** A snapshot being received from one peer, chunk by chunk, in order. */
interface Assembly<StateT> {
  snapshot: Omit<Snapshot<StateT>, 'data'>;
  /** The data's digest, and the memberships' when the snapshot carries them: what senders must agree on. */
  dataDigest: string;
  size: number;
  parts: string[];
  received: number;
}

/**
 * Hands a peer that needs entries older than this node's log holds the
 * newest snapshot instead, in chunks; and puts a snapshot in place of this
 * node's state once members with more than the faulty weight (at least one
 * honest) sent the same one. Each sender's chunks are assembled in order,
 * one snapshot per sender at a time, at most `maxSnapshotChars`; the first
 * chunk's committed value must carry a certificate that verifies, so a
 * snapshot always ends at a committed entry; its data must hash to the digest
 * every chunk names. Nothing a faulty peer sends grows beyond one assembly.
 */
export class SnapshotTransfer<StateT extends Unique, PeerIDT extends Unique> {
  private readonly assemblies = new Map<Identity, Assembly<StateT>>();
  /** Complete snapshots offered, by index and digest: who sent them, and the data once. */
  private readonly offers = new Map<string, { senders: Set<Identity>; snapshot: Snapshot<StateT> }>();
  private readonly sent = new Map<Identity, number>();
  /** The digest of the snapshot last sent: hashed once, however many peers ask for it. */
  private digested: { snapshot: Snapshot<StateT>; digest: string } | null = null;

  private digestOf(snapshot: Snapshot<StateT>): string {
    if (this.digested?.snapshot !== snapshot) this.digested = { snapshot, digest: sha256(snapshot.data) };
    return this.digested.digest;
  }

  constructor(private readonly options: SnapshotTransferOptions<StateT, PeerIDT>) {}

  /** A peer asked for entries from `from`: if this node's log no longer holds them and a snapshot covers them, the snapshot goes back. */
  answer(peer: Identity, from: number): boolean {
    const { runner, log, relay, clock, interval } = this.options;
    const snapshot = runner.snapshot;
    if (relay.sendSnapshotChunk === undefined || snapshot === null || snapshot.certificate === null) return false;
    if (from >= log.first || snapshot.index < from) return false;
    const last = this.sent.get(peer);
    if (last !== undefined && clock.now() - last < interval) return false;
    this.sent.set(peer, clock.now());
    const to = this.options.peerOf(peer);
    const dataDigest = this.digestOf(snapshot);
    const { index, certificate } = snapshot;
    for (let offset = 0; offset === 0 || offset < snapshot.data.length; offset += SNAPSHOT_CHUNK_CHARS) {
      const chunk: SnapshotChunk<StateT> = {
        index,
        state: snapshot.value.clone(),
        certificate,
        dataDigest,
        size: snapshot.data.length,
        offset,
        data: snapshot.data.slice(offset, offset + SNAPSHOT_CHUNK_CHARS),
        ...(snapshot.membership === undefined ? {} : { membership: snapshot.membership }),
      };
      Promise.resolve()
        .then(() => relay.sendSnapshotChunk?.(to, chunk))
        .catch((error: unknown) => this.options.logger.error('relay.sendSnapshotChunk failed', error));
    }
    return true;
  }

  /**
   * A chunk from a member. Refused (`MalformedMessageError`,
   * `InvalidSignatureError`, nothing kept) when it is not one, when its
   * certificate does not verify, or when its data does not hash to its
   * digest. Returns 'restored' when it completed a snapshot that members
   * with more than the faulty weight sent and that is now this node's state,
   * 'kept' when it was kept, 'ignored' when it is older than what is applied.
   */
  receive(sender: Identity, raw: unknown): 'restored' | 'kept' | 'ignored' {
    const parsed = chunkSchema.safeParse(raw);
    if (!parsed.success) throw new MalformedMessageError('confirmation', describeIssues(parsed.error).map((issue) => `snapshot chunk: ${issue}`));
    const chunk = parsed.data;
    const { runner, maxSnapshotChars } = this.options;
    if (chunk.index <= runner.applied) return 'ignored';
    if (chunk.size > maxSnapshotChars) throw new MalformedMessageError('confirmation', [`a snapshot of ${chunk.size} characters is over the ${maxSnapshotChars} this node takes`]);
    if (chunk.offset + chunk.data.length > chunk.size) throw new MalformedMessageError('confirmation', ['a snapshot chunk runs past the size it names']);
    let assembly = this.assemblies.get(sender);
    if (chunk.offset === 0) {
      assembly = { snapshot: this.certified(sender, chunk), dataDigest: chunk.dataDigest, size: chunk.size, parts: [], received: 0 };
      this.assemblies.set(sender, assembly);
    } else if (assembly === undefined || assembly.snapshot.index !== chunk.index || assembly.dataDigest !== chunk.dataDigest || assembly.received !== chunk.offset) {
      // Out of order or from another snapshot: what was assembled from this sender is dropped.
      this.assemblies.delete(sender);
      return 'ignored';
    }
    assembly.parts.push(chunk.data);
    assembly.received += chunk.data.length;
    if (assembly.received < assembly.size) return 'kept';
    this.assemblies.delete(sender);
    const data = assembly.parts.join('');
    if (sha256(data) !== assembly.dataDigest) throw new MalformedMessageError('confirmation', [`the snapshot at ${chunk.index} does not hash to the digest its chunks name`]);
    // Senders agree on the memberships too: one Byzantine sender must not pin its own on honest data.
    const agreed = assembly.snapshot.membership === undefined ? assembly.dataDigest : `${assembly.dataDigest}/${sha256(JSON.stringify(assembly.snapshot.membership))}`;
    return this.offered(sender, { ...assembly.snapshot, data }, agreed);
  }

  /** The first chunk's committed value, proven by its certificate. */
  private certified(sender: Identity, chunk: z.infer<typeof chunkSchema>): Omit<Snapshot<StateT>, 'data'> {
    const { codec, maxValueSize, signing } = this.options;
    const own = adoptValue('snapshot.state', chunk.state, codec, maxValueSize);
    if (!own.ok) throw new MalformedMessageError('confirmation', [own.issue]);
    const certificate = commitCertificateSchema.safeParse(chunk.certificate);
    if (!certificate.success) throw new MalformedMessageError('confirmation', ['snapshot.certificate is not a certificate']);
    const valueDigest = valueDigestOf(own.value.id);
    if (own.value.rank !== chunk.index || certificate.data.rank !== chunk.index || certificate.data.valueDigest !== valueDigest) {
      throw new InvalidSignatureError('confirmation', sender, 'the snapshot certificate is for another rank or value than its state');
    }
    const membership = chunk.membership as MembershipRecord | undefined;
    const verdict = verifySigned({ kind: 'confirmation', ...certificate.data }, this.keysAt(sender, chunk.index, membership), signing.chainId, signing.verifier);
    if (!verdict.valid) throw new InvalidSignatureError('confirmation', verdict.signer ?? sender, `snapshot: ${verdict.reason}`);
    return { index: chunk.index, value: own.value.value as StateT, valueDigest, certificate: certificate.data, ...(membership === undefined ? {} : { membership }) };
  }

  /**
   * The keys a snapshot's certificate is checked with: those of its rank's
   * membership. When this node has not read that far, the membership the
   * snapshot carries (it is restored only if senders with more than the
   * faulty weight sent that very one).
   */
  private keysAt(sender: Identity, index: number, record: MembershipRecord | undefined): MemberKeys {
    const { memberships, signing } = this.options;
    const history = memberships.history;
    if (history === null) return signing.members;
    if (record === undefined) throw new MalformedMessageError('confirmation', ['snapshot: it carries no membership, and this cluster changes its membership']);
    let carried;
    try {
      carried = epochsOfRecord(record, this.options.keyed);
    } catch (error) {
      throw new MalformedMessageError('confirmation', [`snapshot.membership: ${(error as Error).message}`]);
    }
    const known = history.settledThrough + 1 >= index ? memberships.keysAt(index) : null;
    const own = [...carried].reverse().find((epoch) => epoch.from <= index);
    if (own === undefined || own.keys === null) throw new InvalidSignatureError('confirmation', sender, `snapshot: its membership does not cover rank ${index}`);
    return known ?? own.keys;
  }

  private offered(sender: Identity, snapshot: Snapshot<StateT>, dataDigest: string): 'restored' | 'kept' | 'ignored' {
    const { memberships, runner, log, logger } = this.options;
    const membership = memberships.at(runner.applied + 1) ?? memberships.history?.latest.membership;
    if (membership === undefined) return 'kept';
    const key = `${snapshot.index}/${dataDigest}`;
    const offer = this.offers.get(key) ?? { senders: new Set<Identity>(), snapshot };
    // One offer per sender: a newer one replaces what it offered before.
    for (const [other, held] of this.offers) if (other !== key && held.senders.delete(sender) && held.senders.size === 0) this.offers.delete(other);
    offer.senders.add(sender);
    this.offers.set(key, offer);
    const weight = [...offer.senders].reduce((sum, id) => sum + (membership.weights[id] ?? 0), 0);
    if (weight < membership.honest) return 'kept';
    let data: unknown;
    try {
      data = JSON.parse(snapshot.data);
    } catch {
      throw new MalformedMessageError('confirmation', [`the snapshot at ${snapshot.index} is not JSON`]);
    }
    this.options.beforeRestore?.(snapshot);
    if (!runner.restore(snapshot, data)) return 'ignored';
    this.offers.clear();
    this.assemblies.clear();
    // The entries it covers are no longer needed here: readers pass over them, and its own entry fills its place.
    const floor = log.first;
    if (snapshot.index - 1 >= floor) log.skip(floor, snapshot.index - 1);
    if (log.isMissing(snapshot.index)) {
      log.fill({ index: snapshot.index, rank: snapshot.index, attempt: snapshot.certificate!.attempt, term: null, valueDigest: snapshot.valueDigest, proposer: null, certificate: snapshot.certificate, payload: snapshot.value });
    }
    logger.trace(`restored the snapshot at ${snapshot.index}, sent by ${[...offer.senders].join(', ')}`);
    return 'restored';
  }
}
