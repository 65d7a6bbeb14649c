import { boundMessage } from './stateMachine';

/**
 * Commands, queries and snapshots reach the services as plain JSON data, the
 * form in which they travel in the commit log. Each is read here once into a
 * frozen copy: a getter never runs, a Proxy or a cyclic object is at most a
 * refusal, and nothing a caller keeps a reference to can change a value after
 * it was validated or stored. The copy is frozen so that stored values can be
 * handed out by queries and snapshots without copying them again.
 */

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

export type PlainRead =
  | { readonly ok: true; readonly value: JsonValue }
  /** `tooLarge` tells a refusal for size apart from one for shape. */
  | { readonly ok: false; readonly message: string; readonly tooLarge?: true };

export interface PlainLimits {
  /** Nesting depth: a scalar is 0, `[1]` is 1. */
  readonly maxDepth: number;
  /** An upper bound on the JSON text, checked while reading so that a huge input is refused early. */
  readonly maxChars: number;
}

/** Assigning to it would change an object's prototype instead of adding a key, and zod drops it silently. */
const RESERVED_KEY = '__proto__';

/** A key from the input may be long; the refusal that names it stays short. */
function fail(message: string): PlainRead {
  return { ok: false, message: boundMessage(message) };
}

function tooLarge(limits: PlainLimits): PlainRead {
  return { ok: false, message: `more than ${limits.maxChars} characters of JSON`, tooLarge: true };
}

interface Frame {
  readonly source: object;
  readonly target: JsonValue[] | Record<string, JsonValue>;
  readonly keys: readonly string[];
  next: number;
  readonly depth: number;
}

/**
 * What a scalar adds to the JSON text at least: the bound on characters is
 * only for refusing early, the exact sizes that matter are measured on the
 * copy afterwards.
 */
function scalarChars(value: null | boolean | number | string): number {
  if (typeof value === 'string') return value.length + 2;
  return String(value).length;
}

/** A scalar as JSON holds it, or a reason it is not one. */
function readScalar(value: unknown): { ok: true; value: null | boolean | number | string } | { ok: false; message: string } | null {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return { ok: true, value };
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return { ok: false, message: `${value} is not a JSON number` };
    // JSON has no negative zero: reading it as 0 keeps every replica's copy identical to what the log carries.
    return { ok: true, value: value === 0 ? 0 : value };
  }
  if (typeof value === 'object') return null;
  return { ok: false, message: `a ${typeof value} is not JSON` };
}

/** The keys to copy from a plain object or an array, read through descriptors only. */
function ownKeysOf(source: object, isArray: boolean): { ok: true; keys: string[] } | { ok: false; message: string } {
  const keys = Reflect.ownKeys(source);
  const names: string[] = [];
  for (const key of keys) {
    if (typeof key !== 'string') return { ok: false, message: 'a symbol key' };
    if (isArray && key === 'length') continue;
    if (key === RESERVED_KEY) return { ok: false, message: `the key "${RESERVED_KEY}" is refused` };
    names.push(key);
  }
  if (isArray) {
    const length = names.length;
    for (let i = 0; i < length; i += 1) {
      if (names[i] !== String(i)) return { ok: false, message: 'an array with holes or extra keys' };
    }
  }
  return { ok: true, keys: names };
}

function containerOf(value: object): { ok: true; isArray: boolean } | { ok: false; message: string } {
  const isArray = Array.isArray(value);
  const prototype = Reflect.getPrototypeOf(value);
  if (isArray ? prototype !== Array.prototype : prototype !== Object.prototype && prototype !== null) {
    return { ok: false, message: 'an instance of a class, not a plain object or array' };
  }
  return { ok: true, isArray };
}

function freezeCopy(root: JsonValue, frozen: object[]): JsonValue {
  // Children were pushed after their parents; freezing in reverse freezes each container after its contents.
  for (let i = frozen.length - 1; i >= 0; i -= 1) Object.freeze(frozen[i]);
  return root;
}

/** Reads `raw` once into a frozen plain-JSON copy within `limits`, or says why it is not plain JSON. */
export function readPlainJson(raw: unknown, limits: PlainLimits): PlainRead {
  try {
    return readUnguarded(raw, limits);
  } catch {
    // Whatever was thrown came from the input (a Proxy trap); it is not looked at.
    return fail('the input could not be read as plain data');
  }
}

function readUnguarded(raw: unknown, limits: PlainLimits): PlainRead {
  const scalar = readScalar(raw);
  if (scalar !== null) {
    if (!scalar.ok) return scalar;
    return scalarChars(scalar.value) > limits.maxChars ? tooLarge(limits) : scalar;
  }
  const frozen: object[] = [];
  const open = (source: object, depth: number, path: string): { ok: true; frame: Frame } | { ok: false; message: string } => {
    if (depth > limits.maxDepth) return { ok: false, message: `${path || 'the input'} nests deeper than ${limits.maxDepth} levels` };
    const kind = containerOf(source);
    if (!kind.ok) return { ok: false, message: `${path || 'the input'}: ${kind.message}` };
    const keys = ownKeysOf(source, kind.isArray);
    if (!keys.ok) return { ok: false, message: `${path || 'the input'}: ${keys.message}` };
    const target: JsonValue[] | Record<string, JsonValue> = kind.isArray ? [] : {};
    frozen.push(target);
    return { ok: true, frame: { source, target, keys: keys.keys, next: 0, depth } };
  };
  const first = open(raw as object, 1, '');
  if (!first.ok) return fail(first.message);
  const root = first.frame.target as JsonValue;
  const stack: Frame[] = [first.frame];
  let chars = 2;
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (frame.next >= frame.keys.length) {
      stack.pop();
      continue;
    }
    const key = frame.keys[frame.next]!;
    frame.next += 1;
    const descriptor = Reflect.getOwnPropertyDescriptor(frame.source, key);
    if (descriptor === undefined || !('value' in descriptor)) return fail(`${key}: a getter or a vanished key, not a value`);
    if (!descriptor.enumerable) return fail(`${key}: not enumerable`);
    // A key and its separators, or an array's comma.
    chars += Array.isArray(frame.target) ? 1 : key.length + 4;
    const value: unknown = descriptor.value;
    const child = readScalar(value);
    let copied: JsonValue;
    if (child === null) {
      const opened = open(value as object, frame.depth + 1, key);
      if (!opened.ok) return fail(opened.message);
      stack.push(opened.frame);
      copied = opened.frame.target as JsonValue;
      chars += 2;
    } else {
      if (!child.ok) return fail(`${key}: ${child.message}`);
      copied = child.value;
      chars += scalarChars(child.value);
    }
    if (chars > limits.maxChars) return tooLarge(limits);
    if (Array.isArray(frame.target)) frame.target.push(copied);
    else Object.defineProperty(frame.target, key, { value: copied, enumerable: true, writable: true, configurable: true });
  }
  return { ok: true, value: freezeCopy(root, frozen) };
}

/** Size in bytes of `text` as UTF-8; JSON text from `JSON.stringify` has no lone surrogates. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i += 1) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      bytes += 4;
      i += 1;
    } else bytes += 3;
  }
  return bytes;
}

/** The UTF-8 size of a value's JSON text: what a value costs in the log and in a snapshot. */
export function jsonBytes(value: JsonValue): number {
  return utf8Length(JSON.stringify(value));
}

/**
 * JSON text with object keys sorted, so that two equal values have one text
 * whatever order their keys were written in: merges sort and deduplicate by it.
 */
export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((item: JsonValue) => canonicalJson(item)).join(',')}]`;
  const record = value as { readonly [key: string]: JsonValue };
  const keys = Object.keys(record).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key]!)}`).join(',')}}`;
}
