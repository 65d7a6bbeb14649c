import { z } from 'zod';
import { APP_MERGE_STRATEGY, type AppMergeStrategy, type AppMerges } from './kvAppMerge';
import { MERGE_NAMES, type MergeName } from './kvMerge';
import { CounterSchema, IndexSchema, NameSchema, TimeSchema } from './schemas';
import { VectorClockSchema, type VectorClock } from './vectorClock';
import type { JsonValue } from './plainJson';

/**
 * The language of the KV service: its commands, queries, configuration and
 * snapshot, with the bounds each one is held to.
 */

export const DEFAULT_MAX_KEYS = 10_000;
/** The most a configuration may raise `maxKeys` to: a million values of 64 KiB is already 64 GiB of state. */
export const MAX_KEYS_LIMIT = 1_000_000;
export const MAX_KEY_LENGTH = 256;
/** A value's JSON text in UTF-8: coordination data (leaders, configs, manifests), not blobs. */
export const MAX_VALUE_BYTES = 64 * 1024;
/** Nesting of a value; deeper JSON is refused with the command before anything walks it recursively. */
export const MAX_VALUE_DEPTH = 32;
/** Concurrent versions kept under the siblings strategy before a write is refused until someone resolves them. */
export const MAX_SIBLINGS = 16;
/** Key spaces are matched against every key written; a short list keeps that cheap. */
export const MAX_KEY_SPACES = 64;

/**
 * How a key space settles writes that are concurrent by their vector clocks.
 * Strategies are named, not functions, because they travel in the log and in
 * snapshots and must mean the same on every replica: `merge:app:<name>`
 * names a merge the application registered (`kvAppMerge.ts`), and whether a
 * replica has it is decided when a command or snapshot is applied, not here.
 */
export const STRATEGIES = ['last-writer-wins', 'siblings', 'reject', ...MERGE_NAMES.map((name) => `merge:${name}` as const)] as const;
export type BuiltInStrategy = 'last-writer-wins' | 'siblings' | 'reject' | `merge:${MergeName}`;
export type ConflictStrategy = BuiltInStrategy | AppMergeStrategy;

/** Whether `text` is a strategy by its syntax: a built-in one, or `merge:app:` and a valid name. */
export function isConflictStrategy(text: string): text is ConflictStrategy {
  return (STRATEGIES as readonly string[]).includes(text) || APP_MERGE_STRATEGY.test(text);
}

export const ConflictStrategySchema = z.custom<ConflictStrategy>(
  (value) => typeof value === 'string' && isConflictStrategy(value),
  `a strategy: one of ${STRATEGIES.join(', ')}, or merge:app:<name> with a name of 1–32 of [a-z0-9_-] starting with a letter`,
);

const service = z.literal('kv').optional();

/** Length is checked by the store, so that a long key gets its own refusal code. */
const KeySchema = z.string().min(1);
const PrefixSchema = z.string().max(MAX_KEY_LENGTH);

/** A fenced write names the lock it is made under and the token its holder was granted. */
export const FenceSchema = z.strictObject({ lock: NameSchema, token: CounterSchema });

/**
 * `context` is the clock of the versions the writer read (from `get`); a
 * write without one is blind and concurrent with every version written by
 * someone else. `writer` is the member whose counter the write advances.
 */
export const PutSchema = z.strictObject({
  service,
  op: z.literal('put'),
  key: KeySchema,
  value: z.unknown(),
  context: VectorClockSchema.optional(),
  writer: NameSchema,
  fence: FenceSchema.optional(),
});

/** Without a context a delete removes every version; with one, only those the context has seen (see `kv.ts`). */
export const DeleteSchema = z.strictObject({
  service,
  op: z.literal('delete'),
  key: KeySchema,
  context: VectorClockSchema.optional(),
  fence: FenceSchema.optional(),
});

/** Sets the strategy of every key starting with `prefix`; the longest matching prefix decides. */
export const SetKeySpaceSchema = z.strictObject({
  service,
  op: z.literal('setKeySpace'),
  prefix: PrefixSchema,
  strategy: ConflictStrategySchema,
});

export const ClearKeySpaceSchema = z.strictObject({ service, op: z.literal('clearKeySpace'), prefix: PrefixSchema });

export const KvTickSchema = z.strictObject({ service, op: z.literal('tick') });

export const KvCommandSchema = z.discriminatedUnion('op', [PutSchema, DeleteSchema, SetKeySpaceSchema, ClearKeySpaceSchema, KvTickSchema]);
export type KvCommand = z.infer<typeof KvCommandSchema>;

/** Keys per page of a listing. */
export const MAX_LIST_LIMIT = 1_000;

export const KvQuerySchema = z.discriminatedUnion('op', [
  z.strictObject({ service, op: z.literal('get'), key: KeySchema }),
  /** Keys in code-unit order, starting after `after`, at most `limit`. */
  z.strictObject({
    service,
    op: z.literal('keys'),
    prefix: PrefixSchema.optional(),
    after: KeySchema.optional(),
    limit: z.int().min(1).max(MAX_LIST_LIMIT).optional(),
  }),
  z.strictObject({ service, op: z.literal('config') }),
]);
export type KvQuery = z.infer<typeof KvQuerySchema>;

export type KvErrorCode =
  | 'key_too_long'
  | 'value_too_large'
  /** A new key would exceed the store's `maxKeys`. */
  | 'too_many_keys'
  /** Under the siblings strategy, the write would leave more than `MAX_SIBLINGS` versions. */
  | 'too_many_siblings'
  /** Under the reject strategy, the write (or delete) is concurrent with a version it has not seen. */
  | 'concurrent_write'
  /** The key's merge strategy cannot combine this value (e.g. `merge:max` with a string). */
  | 'value_not_mergeable'
  /** A key space named `merge:app:<name>` that this store has no merge registered for. */
  | 'unknown_merge'
  /** An application merge threw, or returned something that is not a JSON value a put could write. */
  | 'merge_failed'
  | 'too_many_key_spaces'
  /** A fenced write reached a KV store with no lock table beside it. */
  | 'fencing_unavailable'
  | 'clock_too_large'
  | 'counter_exhausted'
  | 'fence_holder_gone'
  | 'stale_fence_token'
  | 'unknown_fence_token';

export interface KeySpace {
  readonly prefix: string;
  readonly strategy: ConflictStrategy;
}

export interface KvConfig {
  /** Default 10,000. */
  readonly maxKeys?: number;
  /** For keys no key space matches; default last-writer-wins. */
  readonly defaultStrategy?: ConflictStrategy;
  readonly keySpaces?: readonly KeySpace[];
  /**
   * The application's merges, by the name `merge:app:<name>` gives. Not part
   * of the replicated state: every replica must register the same ones, each
   * deterministic and pure (see `kvAppMerge.ts`).
   */
  readonly merges?: AppMerges;
}

const KeySpaceSchema = z.strictObject({ prefix: PrefixSchema, strategy: ConflictStrategySchema });

export const KvConfigSchema = z.strictObject({
  maxKeys: z.int().min(1).max(MAX_KEYS_LIMIT),
  defaultStrategy: ConflictStrategySchema,
  keySpaces: z
    .array(KeySpaceSchema)
    .max(MAX_KEY_SPACES)
    .refine((spaces) => new Set(spaces.map((space) => space.prefix)).size === spaces.length, 'key space prefixes must be distinct'),
});
export type KvSettings = z.infer<typeof KvConfigSchema>;

/** One value of a key, with the clock that says what it has seen and the entry that wrote it. */
export interface KvVersion {
  readonly value: JsonValue;
  readonly clock: VectorClock;
  readonly writer: string;
  readonly index: number;
  readonly time: number;
}

/** How a put met the versions before it. */
export type Resolution =
  /** The write had seen every version: it replaced them. */
  | 'none'
  /** Concurrent versions were kept beside it. */
  | 'siblings'
  /** Concurrent versions were overwritten by the later committed write. */
  | 'last-writer-wins'
  /** Concurrent values were combined by the key space's merge. */
  | 'merged';

export interface PutOutcome {
  readonly key: string;
  /** The clock of the version written: a context for the writer's next write. */
  readonly clock: VectorClock;
  readonly resolution: Resolution;
  /** Versions the key holds now. */
  readonly siblings: number;
}

export interface DeleteOutcome {
  readonly key: string;
  readonly removed: number;
  readonly remaining: number;
}

export interface KvEntry {
  readonly key: string;
  readonly found: boolean;
  /** One per version; more than one when writes were concurrent and kept as siblings. */
  readonly values: readonly JsonValue[];
  /** Every version's clock merged: the context a write that resolves the siblings passes. */
  readonly clock: VectorClock;
  readonly versions: readonly KvVersion[];
}

const VersionSchema = z.strictObject({
  value: z.unknown(),
  clock: VectorClockSchema,
  writer: NameSchema,
  index: IndexSchema,
  time: TimeSchema,
});

export const KvSnapshotSchema = z.strictObject({
  config: KvConfigSchema,
  entries: z.array(
    z.strictObject({
      key: KeySchema.max(MAX_KEY_LENGTH),
      versions: z.array(VersionSchema).min(1).max(MAX_SIBLINGS),
    }),
  ),
});
export type KvSnapshot = z.infer<typeof KvSnapshotSchema>;
