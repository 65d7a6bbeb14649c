import { canonicalJson, jsonBytes, readPlainJson, type JsonValue } from './plainJson';

/**
 * Merges an application registers by name, for key spaces whose strategy is
 * `merge:app:<name>`. The strategy travels in the log and in snapshots as
 * that name, never as the function, so every replica must register the same
 * function under it, and the function is held to what `apply` is held to:
 * deterministic and pure, the same output for the same inputs on every
 * replica (no clock, no randomness, no I/O, nothing it keeps between calls).
 *
 * Unlike the built-in merges, an application's need not be commutative,
 * associative or idempotent. It is called with the written value and the
 * concurrent ones in a canonical order (by their canonical JSON text, each
 * with its object keys sorted), so the result does not depend on which of
 * the concurrent writes the log committed first. Writes that reach a key one
 * by one are merged one by one, each into the value already merged, so a
 * merge that is not associative may still depend on how the log grouped them;
 * every replica reads the same log and so computes the same value.
 */

export type AppMerge = (values: readonly JsonValue[]) => JsonValue;
export type AppMerges = { readonly [name: string]: AppMerge };

export const APP_MERGE_PREFIX = 'merge:app:';
/** Short and plain, since the name travels in every key space's configuration and in error messages. */
export const APP_MERGE_NAME = /^[a-z][a-z0-9_-]{0,31}$/;
export const APP_MERGE_STRATEGY = /^merge:app:[a-z][a-z0-9_-]{0,31}$/;
export type AppMergeStrategy = `merge:app:${string}`;

/** The registered name a strategy names, or null when it names no application merge. */
export function appMergeName(strategy: string): string | null {
  return APP_MERGE_STRATEGY.test(strategy) ? strategy.slice(APP_MERGE_PREFIX.length) : null;
}

/** The registry as the store keeps it; a wrong one is the host's bug, so it throws rather than refuses. */
export function registerAppMerges(merges: AppMerges | undefined): ReadonlyMap<string, AppMerge> {
  const registered = new Map<string, AppMerge>();
  if (merges === undefined) return registered;
  for (const [name, merge] of Object.entries(merges)) {
    if (!APP_MERGE_NAME.test(name)) throw new RangeError(`invalid KV merge name ${JSON.stringify(name)}: 1–32 of [a-z0-9_-], starting with a letter`);
    if (typeof merge !== 'function') throw new RangeError(`the KV merge ${name} is not a function`);
    registered.set(name, merge);
  }
  return registered;
}

export interface AppMergeBounds {
  readonly maxDepth: number;
  readonly maxBytes: number;
}

export type AppMergeOutcome =
  | { readonly ok: true; readonly value: JsonValue }
  | { readonly ok: false; readonly failure: 'threw' | 'not_json' | 'too_large'; readonly message: string };

/** A value with its object keys sorted, so that key order written by a client never reaches the merge. */
function canonicalCopy(value: JsonValue, bounds: AppMergeBounds): JsonValue {
  const read = readPlainJson(JSON.parse(canonicalJson(value)), { maxDepth: bounds.maxDepth, maxChars: Number.MAX_SAFE_INTEGER });
  // Stored values are plain JSON within these bounds already; reading them again cannot fail.
  return read.ok ? read.value : value;
}

/**
 * Runs `merge` over `values` in canonical order, and reads what it returns
 * as a value a put could have written. Whatever it throws is not looked at:
 * an exception's text may differ between runtimes, and the refusal must be
 * the same on every replica.
 */
export function runAppMerge(name: string, merge: AppMerge, values: readonly JsonValue[], bounds: AppMergeBounds): AppMergeOutcome {
  const ordered = values
    .map((value) => ({ text: canonicalJson(value), value }))
    .sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0))
    .map(({ value }) => canonicalCopy(value, bounds));
  let result: unknown;
  try {
    result = merge(Object.freeze(ordered));
  } catch {
    return { ok: false, failure: 'threw', message: `the merge ${name} threw` };
  }
  // Twice the bound in characters, so that a result just too large is told apart from one that is not JSON.
  const read = readPlainJson(result, { maxDepth: bounds.maxDepth, maxChars: 2 * bounds.maxBytes + 32_768 });
  if (!read.ok) {
    if (read.tooLarge) return { ok: false, failure: 'too_large', message: `the merge ${name} returned more than ${bounds.maxBytes} bytes of JSON` };
    return { ok: false, failure: 'not_json', message: `the merge ${name} returned something that is not a JSON value: ${read.message}` };
  }
  const bytes = jsonBytes(read.value);
  if (bytes > bounds.maxBytes) return { ok: false, failure: 'too_large', message: `the merge ${name} returned ${bytes} bytes of JSON; at most ${bounds.maxBytes}` };
  return { ok: true, value: read.value };
}
