import { commands, queries, type DeleteOptions, type PutOptions } from './commandBuilders';
import { CoordinationError } from './coordinationError';
import {
  MAX_KEY_LENGTH,
  MAX_VALUE_BYTES,
  MAX_VALUE_DEPTH,
  type ConflictStrategy,
  type DeleteOutcome,
  type KvEntry,
  type KvSettings,
  type PutOutcome,
} from './kvCommands';
import { jsonBytes, readPlainJson } from './plainJson';
import type { QueryOptions, SubmitOptions } from './port';
import type { Committed, PortCaller } from './portCaller';

export interface KeysOptions extends QueryOptions {
  readonly prefix?: string;
  /** Keys after this one, for the next page. */
  readonly after?: string;
  /** At most 1000. */
  readonly limit?: number;
}

export interface KeyPage {
  /** In code-unit order. */
  readonly keys: readonly string[];
  /** Whether keys past the last one match too. */
  readonly more: boolean;
}

export interface KvClient {
  /** Writes `value`; pass the clock of the `get` it is based on as `context`, else the write is blind. */
  put(key: string, value: unknown, options: PutOptions & SubmitOptions): Promise<Committed<PutOutcome>>;
  /** Every version of `key` (more than one when concurrent writes were kept as siblings) and their clocks merged. */
  get(key: string, options?: QueryOptions): Promise<Committed<KvEntry>>;
  delete(key: string, options?: DeleteOptions & SubmitOptions): Promise<Committed<DeleteOutcome>>;
  keys(options?: KeysOptions): Promise<Committed<KeyPage>>;
  /**
   * Settles concurrent writes to keys starting with `prefix` by `strategy`
   * from this entry on; the longest matching prefix decides. Answers how
   * many key spaces there are now.
   */
  setKeySpace(prefix: string, strategy: ConflictStrategy, options?: SubmitOptions): Promise<Committed<{ readonly keySpaces: number }>>;
  /** Keys under `prefix` fall back to a shorter space or the default; clearing a prefix that has no space is no refusal. */
  clearKeySpace(prefix: string, options?: SubmitOptions): Promise<Committed<{ readonly keySpaces: number }>>;
  /** The store's settings: its key spaces, the default strategy and the key limit. */
  config(options?: QueryOptions): Promise<Committed<KvSettings>>;
}

/**
 * A long key or a large value is refused only when its entry is applied;
 * refusing it here, with the same code, spares the log an entry that can
 * only be refused.
 */
function checkWrite(key: string, value?: unknown): void {
  if (key.length > MAX_KEY_LENGTH) throw new CoordinationError('key_too_long', `a key of ${key.length} characters; at most ${MAX_KEY_LENGTH}`);
  if (value === undefined) return;
  const plain = readPlainJson(value, { maxDepth: MAX_VALUE_DEPTH, maxChars: 2 * MAX_VALUE_BYTES });
  if (!plain.ok && plain.tooLarge) throw new CoordinationError('value_too_large', `a value of ${plain.message}; at most ${MAX_VALUE_BYTES} bytes`);
  // Not plain JSON: the command's own check refuses it, in the services' words.
  if (!plain.ok) return;
  const bytes = jsonBytes(plain.value);
  if (bytes > MAX_VALUE_BYTES) throw new CoordinationError('value_too_large', `a value of ${bytes} bytes of JSON; at most ${MAX_VALUE_BYTES}`);
}

export function kvClient(caller: PortCaller): KvClient {
  return {
    async put(key, value, options) {
      const { writer, context, fence, deadline } = options;
      checkWrite(key, value);
      return caller.submit<PutOutcome>(commands.put(key, value, { writer, context, fence }), { deadline });
    },
    async get(key, options = {}) {
      return caller.query<KvEntry>(queries.get(key), options);
    },
    async delete(key, options = {}) {
      const { context, fence, deadline } = options;
      checkWrite(key);
      return caller.submit<DeleteOutcome>(commands.delete(key, { context, fence }), { deadline });
    },
    async keys(options = {}) {
      const { prefix, after, limit, ...read } = options;
      return caller.query<KeyPage>(queries.keys({ prefix, after, limit }), read);
    },
    async setKeySpace(prefix, strategy, options = {}) {
      return caller.submit(commands.setKeySpace(prefix, strategy), options);
    },
    async clearKeySpace(prefix, options = {}) {
      return caller.submit(commands.clearKeySpace(prefix), options);
    },
    async config(options = {}) {
      return caller.query<KvSettings>(queries.kvConfig(), options);
    },
  };
}

