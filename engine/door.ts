import type { ValueCodec } from '../providers/codec';
import type { Identity, Unique } from '../providers/unique';
import { MAX_IDENTITY_LENGTH } from './schemas';

/**
 * The engine's door for peers' values: everything a peer sent is read once,
 * inside a try, into plain data or an identity, and from then on only the
 * engine's own copies are used. A getter that throws, a Proxy whose traps
 * lie, a `clone()` or `identity()` with a mind of its own: each is at most a
 * refusal here, never a crash or a value that changes after it was checked.
 */

export type Read<T> = { ok: true; value: T } | { ok: false; issue: string };

const MAX_DESCRIPTION = 200;

/** A peer's error, as text, without trusting its `toString`. */
export function describeError(error: unknown): string {
  let text: string;
  try {
    text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  } catch {
    text = 'an error that cannot be printed';
  }
  return typeof text === 'string' ? text.slice(0, MAX_DESCRIPTION) : 'an error that cannot be printed';
}

function fail<T>(issue: string): Read<T> {
  return { ok: false, issue };
}

/**
 * `value` as plain data (what JSON carries), read once. JSON's own rules
 * decide what is read: own enumerable properties, `toJSON`; the result
 * shares nothing with `value`.
 */
export function plainCopy(label: string, value: unknown, maxSize: number): Read<unknown> {
  // Its JSON text is at least its length and two quotes: refused without the copy, whose cost grows with the size.
  if (typeof value === 'string' && value.length + 2 > maxSize) {
    return fail(`${label} takes at least ${value.length + 2} characters as plain data, more than ${maxSize}`);
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    return fail(`${label} cannot be read as plain data: ${describeError(error)}`);
  }
  if (typeof text !== 'string') return fail(`${label} is not plain data`);
  if (text.length > maxSize) return fail(`${label} takes ${text.length} characters as plain data, more than ${maxSize}`);
  return { ok: true, value: JSON.parse(text) };
}

/** An identity as the engine accepts it: a non-empty string of bounded length. */
export function checkIdentity(label: string, id: unknown): Read<Identity> {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_IDENTITY_LENGTH) {
    return fail(`${label} must be a non-empty string of at most ${MAX_IDENTITY_LENGTH} characters`);
  }
  return { ok: true, value: id };
}

/** A rank as the engine accepts it: a non-negative safe integer (a bigint that fits, too). */
export function checkRank(label: string, raw: unknown): Read<number> {
  const rank = typeof raw === 'bigint' ? Number(raw) : raw;
  const exact = typeof raw !== 'bigint' || BigInt(rank as number) === raw;
  if (typeof rank !== 'number' || !Number.isSafeInteger(rank) || rank < 0 || !exact) {
    return fail(`${label} must be a non-negative safe integer`);
  }
  return { ok: true, value: rank };
}

/** Who a peer argument names: an identity string, or a `Unique` whose `identity()` is called once. */
export function identityOf(label: string, raw: unknown): Read<Identity> {
  if (typeof raw === 'string') return checkIdentity(label, raw);
  let id: unknown;
  try {
    if (typeof raw !== 'object' || raw === null) return fail(`${label} must be a peer id or its identity`);
    const identity = (raw as { identity?: unknown }).identity;
    if (typeof identity !== 'function') return fail(`${label} must be a peer id or its identity`);
    id = identity.call(raw);
  } catch (error) {
    return fail(`${label}.identity() threw: ${describeError(error)}`);
  }
  return checkIdentity(`${label}.identity()`, id);
}

/** A value the engine built itself through the app's codec, with what it checked about it. */
export interface Adopted<T extends Unique> {
  value: T;
  id: Identity;
  rank: number;
}

/**
 * A peer's value, rebuilt: encoded to plain data (by the app's `encode`, or
 * JSON's rules), decoded by the app's `decode`, and only then asked for its
 * identity and rank, once. The peer's object is never called again.
 */
export function adoptValue<T extends Unique>(label: string, raw: unknown, codec: ValueCodec<T>, maxSize: number): Read<Adopted<T>> {
  let encoded: unknown = raw;
  if (codec.encode !== undefined) {
    try {
      encoded = codec.encode(raw as T);
    } catch (error) {
      return fail(`${label} cannot be encoded: ${describeError(error)}`);
    }
  }
  const plain = plainCopy(label, encoded, maxSize);
  if (!plain.ok) return plain;
  let own: T;
  try {
    own = codec.decode(plain.value);
  } catch (error) {
    return fail(`${label} is not a value: ${describeError(error)}`);
  }
  return readOwn(label, own);
}

/** Identity and rank of a value the engine holds (its own, or one it rebuilt). */
export function readOwn<T extends Unique>(label: string, own: T): Read<Adopted<T>> {
  let id: unknown;
  let rank: unknown;
  try {
    if (typeof own !== 'object' || own === null) return fail(`${label}: decode() must return an object`);
    id = own.identity();
    rank = own.rank();
  } catch (error) {
    return fail(`${label}: identity() or rank() threw: ${describeError(error)}`);
  }
  const checkedId = checkIdentity(`${label}.identity()`, id);
  if (!checkedId.ok) return checkedId;
  const checkedRank = checkRank(`${label}.rank()`, rank);
  if (!checkedRank.ok) return checkedRank;
  return { ok: true, value: { value: own, id: checkedId.value, rank: checkedRank.value } };
}

/** The members a certificate names, each read once; refused past `max` entries before any is read. */
export function identitiesOf(label: string, raw: unknown, max: number): Read<Identity[]> {
  let length: number;
  try {
    if (!Array.isArray(raw)) return fail(`${label} must be an array`);
    length = raw.length;
  } catch (error) {
    return fail(`${label} cannot be read: ${describeError(error)}`);
  }
  if (length === 0 || length > max) return fail(`${label} must hold between 1 and ${max} entries`);
  const ids: Identity[] = [];
  for (let i = 0; i < length; i += 1) {
    let entry: unknown;
    try {
      entry = (raw as unknown[])[i];
    } catch (error) {
      return fail(`${label}[${i}] cannot be read: ${describeError(error)}`);
    }
    const id = identityOf(`${label}[${i}]`, entry);
    if (!id.ok) return id;
    ids.push(id.value);
  }
  if (new Set(ids).size !== ids.length) return fail(`${label} names a member twice`);
  return { ok: true, value: ids };
}
