/**
 * What may leave a process in an inspection stream: contexts and events made
 * plain, bounded and free of secrets before they are serialised for the
 * Stately inspector or the live view. A round holds a book of messages per
 * rank and sender, apps put keys and tokens in their ids; neither belongs on
 * a wire, and a stream that grows with the cluster would stall the viewer.
 */

export interface SanitizeOptions {
  /** Longer strings are cut to this many characters, with a note of how many were cut. */
  maxStringLength: number;
  /** Longer arrays keep this many items, then a note of how many were left out. */
  maxArrayLength: number;
  /** Objects with more keys keep this many, then a note of how many were left out. */
  maxObjectEntries: number;
  /** Nesting deeper than this is replaced by a marker. */
  maxDepth: number;
  /** A key that matches has its value replaced by `[redacted]`, at any depth. */
  secretKeys: RegExp;
  /**
   * Context keys holding a rank book (`{ [rank]: { [sender]: entry } }`),
   * replaced by their per-rank counts.
   */
  rankBooks: readonly string[];
}

export const DEFAULT_SANITIZE_OPTIONS: Readonly<SanitizeOptions> = Object.freeze({
  maxStringLength: 256,
  maxArrayLength: 32,
  maxObjectEntries: 32,
  maxDepth: 6,
  secretKeys: /secret|private_?key|token|passw(or)?d|passphrase|credential|api_?key|mnemonic|seed_?phrase/i,
  // The round machine's message books (machines/round.types.ts `RoundContext`).
  rankBooks: Object.freeze(['liveness', 'proposals', 'votes', 'confirmations']),
});

export const REDACTED = '[redacted]';
export const TOO_DEEP = '[depth limit]';
export const CIRCULAR = '[circular]';
export const UNREADABLE = '[unreadable]';

export function resolveSanitizeOptions(options: Partial<SanitizeOptions> = {}): SanitizeOptions {
  return { ...DEFAULT_SANITIZE_OPTIONS, ...options };
}

/**
 * A plain, JSON-safe copy of `value`: functions and symbols dropped, class
 * instances reduced to their own fields, errors to name and message, maps and
 * sets to their size, bigints to strings, secrets redacted and every size
 * capped. Never throws, whatever getters or cycles `value` has.
 */
export function sanitizeValue(value: unknown, options: Partial<SanitizeOptions> = {}): unknown {
  return sanitizeAt(value, resolveSanitizeOptions(options), 0, new Set());
}

/**
 * A context made safe to stream: rank books become per-rank counts (so the
 * viewer still sees how much arrived for each rank), the rest goes through
 * `sanitizeValue`.
 */
export function sanitizeContext(context: unknown, options: Partial<SanitizeOptions> = {}): unknown {
  const resolved = resolveSanitizeOptions(options);
  if (!isRecord(context)) return sanitizeAt(context, resolved, 0, new Set());
  const books: Record<string, unknown> = {};
  const rest: Record<string, unknown> = {};
  for (const key of safeKeys(context)) {
    const value = safeGet(context, key);
    if (resolved.rankBooks.includes(key) && isRecord(value)) books[key] = summarizeRankBook(value);
    else rest[key] = value;
  }
  const sanitized = sanitizeAt(rest, resolved, 0, new Set()) as Record<string, unknown>;
  return { ...sanitized, ...books };
}

/** `{ [rank]: { [sender]: entry } }` → `{ [rank]: senders }`, ranks in ascending order. */
export function summarizeRankBook(book: Readonly<Record<string, unknown>>): Record<string, number> {
  const counts: Record<string, number> = {};
  const ranks = safeKeys(book).sort((a, b) => Number(a) - Number(b) || (a < b ? -1 : a > b ? 1 : 0));
  for (const rank of ranks) {
    const senders = safeGet(book, rank);
    counts[rank] = isRecord(senders) ? safeKeys(senders).length : 0;
  }
  return counts;
}

function sanitizeAt(value: unknown, options: SanitizeOptions, depth: number, ancestors: Set<object>): unknown {
  switch (typeof value) {
    case 'string':
      return capString(value, options.maxStringLength);
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'boolean':
    case 'undefined':
      return value;
    case 'bigint':
      return `${value.toString()}n`;
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (value === null) return null;
  const object = value as object;
  if (ancestors.has(object)) return CIRCULAR;
  if (depth >= options.maxDepth) return TOO_DEEP;
  try {
    return sanitizeObject(object, options, depth, ancestors);
  } catch {
    // A proxy whose traps throw: nothing of it can be read safely.
    return UNREADABLE;
  }
}

function sanitizeObject(object: object, options: SanitizeOptions, depth: number, ancestors: Set<object>): unknown {
  if (object instanceof Error) {
    return { name: capString(object.name, options.maxStringLength), message: capString(object.message, options.maxStringLength) };
  }
  if (object instanceof Date) return Number.isNaN(object.getTime()) ? null : object.toISOString();
  if (object instanceof Map) return { $type: 'Map', size: object.size };
  if (object instanceof Set) return { $type: 'Set', size: object.size };
  if (ArrayBuffer.isView(object) || object instanceof ArrayBuffer) return { $type: 'bytes', size: object.byteLength };

  ancestors.add(object);
  try {
    if (Array.isArray(object)) {
      const kept = object.slice(0, options.maxArrayLength).map((item) => {
        const sanitized = sanitizeAt(item, options, depth + 1, ancestors);
        // JSON would turn a dropped item into null anyway; say so explicitly.
        return sanitized === undefined ? null : sanitized;
      });
      if (object.length > options.maxArrayLength) kept.push(`… ${object.length - options.maxArrayLength} more`);
      return kept;
    }
    const result: Record<string, unknown> = {};
    let kept = 0;
    let left = 0;
    for (const key of safeKeys(object)) {
      const raw = safeGet(object, key);
      if (typeof raw === 'function' || typeof raw === 'symbol') continue;
      if (kept === options.maxObjectEntries) {
        left += 1;
        continue;
      }
      kept += 1;
      result[key] = options.secretKeys.test(key) ? REDACTED : sanitizeAt(raw, options, depth + 1, ancestors);
    }
    if (left > 0) result['…'] = `${left} more entries`;
    return result;
  } finally {
    ancestors.delete(object);
  }
}

function capString(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…(+${text.length - max} chars)`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function safeKeys(object: object): string[] {
  try {
    return Object.keys(object);
  } catch {
    return [];
  }
}

/** A getter or proxy that throws must not stop the stream. */
function safeGet(object: object, key: string): unknown {
  try {
    return (object as Record<string, unknown>)[key];
  } catch (error) {
    return error instanceof Error ? error : UNREADABLE;
  }
}
