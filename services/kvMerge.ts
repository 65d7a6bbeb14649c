import { canonicalJson, type JsonValue } from './plainJson';

/**
 * The built-in merges a key space can name. Each is commutative, associative
 * and idempotent (a join, as in state-based CRDTs), so the merged value does
 * not depend on which of the concurrent writes was committed first, and
 * merging a value already merged in changes nothing.
 */

export const MERGE_NAMES = ['max', 'min', 'union'] as const;
export type MergeName = (typeof MERGE_NAMES)[number];

interface NamedMerge {
  /** What the merge takes, for a refusal's message. */
  readonly expects: string;
  readonly accepts: (value: JsonValue) => boolean;
  /** Called with at least one value, each accepted. */
  readonly combine: (values: readonly JsonValue[]) => JsonValue;
}

const isNumber = (value: JsonValue): boolean => typeof value === 'number';

/**
 * Set union of JSON arrays. Elements are equal when their canonical JSON is
 * (object key order does not matter), and the result is sorted by it, so
 * every replica and every order of merging gives the same array.
 */
function union(values: readonly JsonValue[]): JsonValue {
  const elements = new Map<string, JsonValue>();
  for (const value of values) {
    for (const element of value as readonly JsonValue[]) {
      const text = canonicalJson(element);
      if (!elements.has(text)) elements.set(text, element);
    }
  }
  return [...elements.keys()].sort().map((text) => elements.get(text)!);
}

const MERGES: { readonly [name in MergeName]: NamedMerge } = {
  max: { expects: 'a number', accepts: isNumber, combine: (values) => Math.max(...(values as number[])) },
  min: { expects: 'a number', accepts: isNumber, combine: (values) => Math.min(...(values as number[])) },
  union: { expects: 'an array', accepts: (value) => Array.isArray(value), combine: union },
};

/** Checked on every write to a merge key space, so that a merge later never meets a value it cannot combine. */
export function mergeAccepts(name: MergeName, value: JsonValue): { ok: true } | { ok: false; expects: string } {
  const merge = MERGES[name];
  return merge.accepts(value) ? { ok: true } : { ok: false, expects: merge.expects };
}

export function mergeValues(name: MergeName, values: readonly JsonValue[]): JsonValue {
  return MERGES[name].combine(values);
}
