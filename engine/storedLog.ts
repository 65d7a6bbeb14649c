import { z } from 'zod';
import type { ValueCodec } from '../providers/codec';
import type { LogStorage, StoredLogEntry, StoredSnapshot } from '../providers/storage';
import type { Snapshot } from './stateMachine';
import type { Identity, Unique } from '../providers/unique';
import type { LogEntry } from './commitLog';
import { describeError, readOwn } from './door';
import { StoredLogError } from './errors';
import { describeIssues } from './schemas';
import { commitCertificateSchema } from './signing/certificate';
import { valueDigestOf } from './signing/statement';
import { membershipRecordSchema } from './membership/history';

const storedEntrySchema = z
  .object({
    index: z.number().int().nonnegative(),
    rank: z.number().int().nonnegative(),
    attempt: z.number().int().nonnegative(),
    term: z.number().int().nonnegative().nullable(),
    valueDigest: z.string().regex(/^[0-9a-f]{64}$/),
    proposer: z.string().min(1).nullable(),
    certificate: commitCertificateSchema.nullable(),
    payload: z.unknown(),
  })
  .strict();

/** A value as storage keeps it: plain data, the codec's (JSON's when it has no `encode`), sharing nothing with the value. */
export function storedValueOf<StateT extends Unique>(value: StateT, codec: ValueCodec<StateT>): unknown {
  return JSON.parse(JSON.stringify(codec.encode === undefined ? value : codec.encode(value)) ?? 'null') as unknown;
}

/** An entry as storage keeps it: the value as `storedValueOf` makes it, the proposer by identity. */
export function storedEntryOf<StateT extends Unique, PeerIDT extends Unique>(entry: LogEntry<StateT, PeerIDT>, codec: ValueCodec<StateT>): StoredLogEntry {
  return {
    index: entry.index,
    rank: entry.rank,
    attempt: entry.attempt,
    term: entry.term,
    valueDigest: entry.valueDigest,
    proposer: entry.proposer === null ? null : entry.proposer.identity(),
    certificate: entry.certificate,
    payload: storedValueOf(entry.payload, codec),
  };
}

export interface ResumedLog<StateT, PeerIDT> {
  /** The stored entries, rebuilt, in index order. */
  entries: LogEntry<StateT, PeerIDT>[];
  /** The newest stored snapshot, its value rebuilt. */
  snapshot: Snapshot<StateT> | null;
  /** The value of the last entry, or of the snapshot, when past `initial`; else `initial`: where the engine resumes. */
  state: StateT;
}

const storedSnapshotSchema = z
  .object({
    index: z.number().int().nonnegative(),
    valueDigest: z.string().regex(/^[0-9a-f]{64}$/),
    certificate: commitCertificateSchema.nullable(),
    value: z.unknown(),
    data: z.string(),
    membership: membershipRecordSchema.optional(),
  })
  .strict();

/** A stored value rebuilt by the codec: it must be the value its digest names, at its rank. */
function revive<StateT extends Unique>(codec: ValueCodec<StateT>, index: number, rank: number, valueDigest: string, payload: unknown, what: string): StateT {
  let value: StateT;
  try {
    value = codec.decode(payload);
  } catch (error) {
    throw new StoredLogError(index, `${what} does not decode: ${describeError(error)}`);
  }
  const own = readOwn(`entry ${index}`, value);
  if (!own.ok) throw new StoredLogError(index, own.issue);
  if (own.value.rank !== rank) throw new StoredLogError(index, `${what} is for rank ${own.value.rank}`);
  if (valueDigestOf(own.value.id) !== valueDigest) throw new StoredLogError(index, `${what} is not the one its digest names`);
  return value;
}

function resumeSnapshot<StateT extends Unique>(storage: LogStorage, codec: ValueCodec<StateT>): Snapshot<StateT> | null {
  let raw: StoredSnapshot | null;
  try {
    raw = storage.readSnapshot();
  } catch (error) {
    throw new StoredLogError(null, `readSnapshot threw: ${describeError(error)}`);
  }
  if (raw === null) return null;
  const parsed = storedSnapshotSchema.safeParse(raw);
  if (!parsed.success) throw new StoredLogError(null, `the snapshot: ${describeIssues(parsed.error).join('; ')}`);
  const { index, valueDigest, certificate, value, data, membership } = parsed.data;
  const revived = revive(codec, index, index, valueDigest, value, "the snapshot's value");
  return { index, valueDigest, certificate, data, value: revived, ...(membership === undefined ? {} : { membership }) };
}

/**
 * Reads back the log an engine wrote: each entry must decode through the
 * app's codec to the value its digest names, at the rank it is stored at, in
 * increasing order. Anything else is a `StoredLogError`, and nothing resumes.
 * A proposer that is no longer a member is kept as unknown (null).
 */
export function resumeLog<StateT extends Unique, PeerIDT extends Unique>(
  storage: LogStorage,
  codec: ValueCodec<StateT>,
  memberOf: (id: Identity) => PeerIDT | undefined,
  initial: StateT,
): ResumedLog<StateT, PeerIDT> {
  let stored: readonly StoredLogEntry[];
  try {
    stored = storage.readLog();
  } catch (error) {
    throw new StoredLogError(null, `readLog threw: ${describeError(error)}`);
  }
  if (!Array.isArray(stored)) throw new StoredLogError(null, 'readLog must return an array');
  const entries: LogEntry<StateT, PeerIDT>[] = [];
  for (const raw of stored) {
    const parsed = storedEntrySchema.safeParse(raw);
    const index = typeof (raw as { index?: unknown })?.index === 'number' ? (raw as { index: number }).index : null;
    if (!parsed.success) throw new StoredLogError(index, describeIssues(parsed.error).join('; '));
    const entry = parsed.data;
    const previous = entries[entries.length - 1];
    if (previous !== undefined && entry.index <= previous.index) throw new StoredLogError(entry.index, `it follows entry ${previous.index}`);
    if (entry.rank !== entry.index) throw new StoredLogError(entry.index, `it is kept for rank ${entry.rank}`);
    const value = revive(codec, entry.index, entry.rank, entry.valueDigest, entry.payload, 'the value');
    entries.push({
      ...entry,
      proposer: entry.proposer === null ? null : (memberOf(entry.proposer) ?? null),
      payload: value,
    });
  }
  const snapshot = resumeSnapshot(storage, codec);
  let state = initial;
  const tail = entries[entries.length - 1];
  if (snapshot !== null && snapshot.index > state.rank()) state = snapshot.value;
  if (tail !== undefined && tail.rank > state.rank()) state = tail.payload;
  return { entries, snapshot, state };
}
