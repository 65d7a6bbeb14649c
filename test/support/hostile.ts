import fc from 'fast-check';

/**
 * Hostile input for property tests of code that parses what peers send.
 *
 * Each arbitrary yields `Hostile` makers rather than the values themselves:
 * fast-check looks at what an arbitrary produces (for a clone method, and to
 * print a counterexample), which would run a Proxy's traps or a getter before
 * the code under test ever saw it. `make()` builds a fresh value at the moment
 * of use, so a getter that counts its reads starts from zero each time; `kind`
 * names the corruption, for tallies and failure messages.
 *
 * Every value is meant to be refused by a parser of peer messages whose
 * strings are bounded names or ids, whose numbers are non-negative safe
 * integers, and whose fields are all required:
 *
 * - `hostileValue()`: something of no use in any field: wrong types (bigint,
 *   symbol, functions, arrays, boxed primitives, objects), huge strings, NaN,
 *   infinities, negative, fractional and huge numbers, deep nesting, Proxies.
 * - `hostileVariants(valid)`: from an arbitrary of valid messages, the same
 *   messages with one thing made hostile: a field replaced (by a value of
 *   another type, a bad number, a huge string) or turned into a getter that
 *   throws or answers differently after its first read; an added `__proto__`,
 *   `constructor`, symbol or unknown key; a missing field; a Proxy whose traps
 *   throw or lie (`ownKeys`, `get`, descriptors), or a revoked one; with
 *   `plainData` (the default), also the forms only a reader of plain data
 *   refuses: an array, a class instance or another prototype, an inherited
 *   or non-enumerable field, a getter that answers the valid value, a Proxy
 *   that only forwards or answers validly on first read. A function carrying
 *   the fields is made in both modes.
 * - `hostileSender(members)`: transport senders that are not a member's id:
 *   wrong types, bad or huge strings, non-members, objects whose `identity`
 *   is missing, throws or returns junk, Proxies.
 *
 * Against the round engine's `receive*` methods, whose arguments are class
 * instances read through `identity()`, `rank()` and `clone()`, pass an
 * arbitrary of valid arguments to `hostileVariants(valid, { plainData: false
 * })`: copies keep their prototype, and the forms only a plain-data parser
 * refuses are left out. Whether a corrupted field is refused there depends on
 * what the methods make of it (an identity built from several fields is still
 * a string), so such a test expects a typed refusal that changed nothing, or
 * an acceptance, rather than a refusal every time.
 */

export interface Hostile {
  /** What was made hostile, e.g. `field/getter-throws` or `proxy/lying-get`. */
  readonly kind: string;
  /** A fresh hostile value each call. */
  make(): unknown;
}

export interface HostileOptions {
  /** The parser takes plain data only (true), or objects read through their methods. */
  readonly plainData?: boolean;
}

type Make = () => unknown;

function hostile(kind: string, make: Make): Hostile {
  // fast-check prints a counterexample through this, never through the value.
  return { kind, make, [fc.toStringMethod]: () => kind } as Hostile;
}

/** Built once and shared: cutting a slice of a flat string costs nothing, copying one per value would. */
const MEBIBYTE = 'x'.repeat(1 << 20);
/** Long enough to be over any bound a parser of ids could have. */
const HUGE_MIN = 1 << 16;

function deep(depth: number, wrap: (inner: unknown) => unknown): unknown {
  let value: unknown = 'n1';
  for (let level = 0; level < depth; level += 1) value = wrap(value);
  return value;
}

/** Shared too: nobody mutates them, and building one per value would dominate a run. */
const DEEP_ARRAY = deep(10_000, (inner) => [inner]);
const DEEP_OBJECT = deep(10_000, (inner) => ({ inner }));

function revoked(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

const ALL_TRAPS = [
  'apply',
  'construct',
  'defineProperty',
  'deleteProperty',
  'get',
  'getOwnPropertyDescriptor',
  'getPrototypeOf',
  'has',
  'isExtensible',
  'ownKeys',
  'preventExtensions',
  'set',
  'setPrototypeOf',
] as const;
type Trap = (typeof ALL_TRAPS)[number];

/** A Proxy on which every operation throws: thrown itself, it punishes a catch that inspects what it caught. */
function booby(): object {
  const handler: ProxyHandler<object> = {};
  for (const trap of ALL_TRAPS) {
    (handler as Record<Trap, () => never>)[trap] = () => {
      throw new Error(`hostile ${trap}`);
    };
  }
  return new Proxy({}, handler);
}

/** What a hostile getter or trap throws: an error, or something that is itself dangerous to handle. */
const thrown: fc.Arbitrary<Make> = fc.constantFrom<Make>(
  () => new Error('hostile'),
  () => revoked(),
  () => booby(),
  () => 'a string',
  () => undefined,
  () => ({
    get message(): never {
      throw new Error('hostile message');
    },
    toString(): never {
      throw new Error('hostile toString');
    },
  }),
);

function thrower(make: Make): () => never {
  return () => {
    throw make();
  };
}

export const hugeString: fc.Arbitrary<Hostile> = fc
  .integer({ min: HUGE_MIN, max: MEBIBYTE.length })
  .map((length) => hostile('huge-string', () => MEBIBYTE.slice(0, length)));

/** Never a non-negative safe integer, and never -0 (which equals 0). */
export const hostileNumber: fc.Arbitrary<Hostile> = fc
  .oneof(
    fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 53, Number.MAX_VALUE, Number.MIN_VALUE),
    fc.integer({ min: -(2 ** 31), max: -1 }),
    fc.double({ min: -Number.MAX_VALUE, max: -Number.MIN_VALUE, noNaN: true }),
    fc.double({ min: 2 ** 53, max: Number.MAX_VALUE, noNaN: true }),
    fc.double({ min: Number.MIN_VALUE, max: 2 ** 40, noNaN: true }).filter((x) => !Number.isInteger(x)),
  )
  .map((value) => hostile('bad-number', () => value));

/** Values by what `typeof` says of them, so a field can be given one of another type. */
const byType: Record<string, fc.Arbitrary<Hostile>> = {
  undefined: fc.constant(hostile('undefined', () => undefined)),
  boolean: fc.boolean().map((value) => hostile('boolean', () => value)),
  number: fc.oneof(fc.integer().map((value) => hostile('number', () => value)), hostileNumber),
  string: fc.oneof(
    fc.string({ maxLength: 16 }).map((value) => hostile('string', () => value)),
    fc.constantFrom('__proto__', 'constructor', 'toString').map((value) => hostile('string', () => value)),
    hugeString,
  ),
  bigint: fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map((value) => hostile('bigint', () => value)),
  symbol: fc.constantFrom('n1', '', 'iterator').map((name) => hostile('symbol', () => Symbol(name))),
  function: fc.constantFrom<Hostile>(
    hostile('function', () => () => 1),
    hostile('function', () => thrower(() => new Error('hostile call'))),
    hostile('function', () => new Proxy(() => 1, { apply: thrower(() => booby()) })),
    hostile('revoked-proxy', () => {
      const { proxy, revoke } = Proxy.revocable(() => 1, {});
      revoke();
      return proxy;
    }),
  ),
  object: fc.oneof(
    fc.constant(hostile('null', () => null)),
    fc.constantFrom<Hostile>(
      hostile('deep-nesting', () => DEEP_ARRAY),
      hostile('deep-nesting', () => DEEP_OBJECT),
      hostile('boxed', () => Object('n1')),
      hostile('boxed', () => Object(1)),
      hostile('boxed', () => Object(true)),
      hostile('object', () => new Date(0)),
      hostile('object', () => new Map([['n1', 1]])),
      hostile('object', () => new Uint8Array(4)),
      hostile('object', () => /n1/),
      hostile('object', () => ({ valueOf: () => 1, toString: () => 'n1' })),
      hostile('object', () => ({ [Symbol.toPrimitive]: thrower(() => booby()) })),
      hostile('proxy', () => booby()),
      hostile('revoked-proxy', () => revoked()),
    ),
    fc.array(fc.integer(), { maxLength: 4 }).map((value) => hostile('array', () => [...value])),
    fc
      .dictionary(fc.string({ maxLength: 8 }), fc.integer(), { maxKeys: 4 })
      .map((value) => hostile('object', () => ({ ...value }))),
  ),
};

/** Anything at all that no field can hold. */
export function hostileValue(): fc.Arbitrary<Hostile> {
  return fc.oneof(byType.undefined, byType.bigint, byType.symbol, byType.function, byType.object, hostileNumber, hugeString);
}

/** A value whose `typeof` differs from the original's, or a bad one of the same type. */
const replacements = new Map<string, fc.Arbitrary<Hostile>>();
function replacementFor(type: string): fc.Arbitrary<Hostile> {
  let arbitrary = replacements.get(type);
  if (arbitrary === undefined) {
    const others = Object.entries(byType)
      .filter(([other]) => other !== type)
      .map(([, values]) => values.map((h) => hostile(`other-type/${h.kind}`, h.make)));
    const same =
      type === 'number' ? [hostileNumber] : type === 'string' ? [hugeString, fc.constant(hostile('empty-string', () => ''))] : [];
    // As often a bad value of the field's own type as one of another type.
    const weight = Math.max(1, Math.floor(others.length / Math.max(1, same.length)));
    arbitrary = fc.oneof(
      ...others.map((values) => ({ arbitrary: values, weight: 1 })),
      ...same.map((values) => ({ arbitrary: values, weight })),
    );
    replacements.set(type, arbitrary);
  }
  return arbitrary;
}

/** A copy that keeps the original's prototype and property attributes (spread is the same, and cheaper, for plain data). */
function copyOf(value: object): Record<PropertyKey, unknown> {
  if (Object.getPrototypeOf(value) === Object.prototype) return { ...value };
  return Object.create(Object.getPrototypeOf(value), Object.getOwnPropertyDescriptors(value));
}

function define(target: object, key: PropertyKey, descriptor: PropertyDescriptor): object {
  return Object.defineProperty(target, key, { enumerable: true, configurable: true, ...descriptor });
}

/** Makes one hostile form of a valid message. */
type Corrupt = (valid: object) => Hostile;

interface Variant {
  readonly arbitrary: fc.Arbitrary<Corrupt>;
  /** Only a parser of plain data refuses it; a reader of methods may take it. */
  readonly plainOnly?: boolean;
}

/** What the variants of a message depend on: the same for every message of one kind, so they are built once per kind. */
interface Shape {
  /** Own enumerable string keys, each with what `typeof` says of its value. */
  readonly fields: readonly (readonly [string, string])[];
  readonly keys: readonly (string | symbol)[];
}

function shapeOf(valid: object): Shape {
  const fields = Object.keys(valid).map((key) => [key, typeof (valid as Record<string, unknown>)[key]] as const);
  return { fields, keys: Reflect.ownKeys(valid) };
}

const field = (valid: object, key: string) => (valid as Record<string, unknown>)[key];

function fieldVariants(key: string, type: string): Variant[] {
  const withField = (kind: string, valid: object, descriptor: () => PropertyDescriptor) =>
    hostile(`field/${kind}`, () => define(copyOf(valid), key, descriptor()));
  const without = (valid: object) => {
    const copy = copyOf(valid);
    delete copy[key];
    return copy;
  };
  return [
    { arbitrary: replacementFor(type).map((h) => (valid: object) => withField(h.kind, valid, () => ({ value: h.make() }))) },
    { arbitrary: thrown.map((make) => (valid: object) => withField('getter-throws', valid, () => ({ get: thrower(make) }))) },
    { arbitrary: fc.constant((valid: object) => withField('setter-only', valid, () => ({ set: () => {} }))) },
    { arbitrary: fc.constant((valid: object) => hostile('field/missing', () => without(valid))) },
    {
      // The first read sees the valid value; a reader that looks twice gets something else.
      arbitrary: replacementFor(type).map((h) => (valid: object) =>
        withField('getter-shifts', valid, () => {
          let reads = 0;
          return { get: () => (reads++ === 0 ? field(valid, key) : h.make()) };
        }),
      ),
      plainOnly: true,
    },
    {
      arbitrary: fc.constant((valid: object) => withField('getter-valid', valid, () => ({ get: () => field(valid, key) }))),
      plainOnly: true,
    },
    {
      arbitrary: fc.constant((valid: object) =>
        withField('non-enumerable', valid, () => ({ value: field(valid, key), enumerable: false })),
      ),
      plainOnly: true,
    },
    {
      arbitrary: fc.constant((valid: object) =>
        hostile('field/inherited', () => {
          const prototype = define(Object.create(Object.getPrototypeOf(valid)), key, { value: field(valid, key) });
          return Object.setPrototypeOf(without(valid), prototype);
        }),
      ),
      plainOnly: true,
    },
  ];
}

/** Key names are hashed when used: built once, so a huge one costs its hashing once. */
const HUGE_KEYS = [MEBIBYTE.slice(0, HUGE_MIN), MEBIBYTE];

function keyVariants(shape: Shape): Variant[] {
  const extra = fc
    .oneof(
      fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'then'),
      fc.string({ minLength: 1, maxLength: 12 }),
      fc.constantFrom(...HUGE_KEYS),
    )
    .filter((key) => !shape.keys.includes(key));
  const symbols = fc.constantFrom(Symbol.toPrimitive, Symbol.iterator, Symbol.for('n1'), Symbol('hostile'));
  const named = (key: string) => (key === '__proto__' || key === 'constructor' ? key : 'unknown');
  return [
    {
      // An own `__proto__` (as JSON.parse makes one) or any other key no message has, holding anything.
      arbitrary: fc
        .tuple(extra, hostileValue())
        .map(([key, h]) => (valid: object) =>
          hostile(`key/${named(key)}`, () => define(copyOf(valid), key, { value: h.make() })),
        ),
      plainOnly: true,
    },
    {
      arbitrary: fc
        .tuple(symbols, hostileValue())
        .map(([key, h]) => (valid: object) => hostile('key/symbol', () => define(copyOf(valid), key, { value: h.make() }))),
      plainOnly: true,
    },
  ];
}

function shapeVariants(): Variant[] {
  const fields = (valid: object) => Object.getOwnPropertyDescriptors(valid);
  const withGetters = () =>
    Object.defineProperties({}, { type: { get: thrower(() => booby()) }, term: { get: () => 1 } });
  return [
    {
      arbitrary: fc.constantFrom<Corrupt>(
        (valid) => hostile('shape/array', () => Object.defineProperties([], fields(valid))),
        (valid) => hostile('shape/class-instance', () => Object.defineProperties(new (class Message {})(), fields(valid))),
        (valid) => hostile('shape/date', () => Object.defineProperties(new Date(0), fields(valid))),
        (valid) => hostile('shape/prototype-with-getters', () => Object.create(withGetters(), fields(valid))),
        (valid) => hostile('shape/proxy-prototype', () => Object.create(booby(), fields(valid))),
      ),
      plainOnly: true,
    },
    {
      arbitrary: fc.constant((valid: object) =>
        hostile('shape/function', () => Object.defineProperties(function message() {}, fields(valid))),
      ),
    },
  ];
}

function proxyVariants(shape: Shape): Variant[] {
  const traps = fc.constantFrom<Trap>('getPrototypeOf', 'ownKeys', 'getOwnPropertyDescriptor', 'get', 'has');
  const lies = fc.constantFrom<(keys: readonly (string | symbol)[]) => (string | symbol)[]>(
    (keys) => [...keys, 'entries'],
    (keys) => [...keys, '__proto__'],
    (keys) => keys.slice(1),
    (keys) => [...keys, keys[0]],
    () => [],
  );
  return [
    {
      arbitrary: fc.constant((valid: object) =>
        hostile('proxy/throws-everywhere', () => new Proxy(copyOf(valid), booby() as ProxyHandler<object>)),
      ),
    },
    {
      arbitrary: fc
        .tuple(traps, thrown)
        .map(([trap, make]) => (valid: object) =>
          hostile(`proxy/throws-on-${trap}`, () => new Proxy(copyOf(valid), { [trap]: thrower(make) })),
        ),
      plainOnly: true,
    },
    { arbitrary: fc.constant(() => hostile('proxy/revoked', () => revoked())) },
    {
      arbitrary: fc.constant((valid: object) => hostile('proxy/forwarding', () => new Proxy(copyOf(valid), {}))),
      plainOnly: true,
    },
    {
      // Every read through `get` answers junk while the target holds a valid message.
      arbitrary: hostileValue().map((h) => (valid: object) =>
        hostile('proxy/lying-get', () => new Proxy(copyOf(valid), { get: () => h.make() })),
      ),
    },
    {
      // Valid on the first read of each key, junk afterwards.
      arbitrary: hostileValue().map((h) => (valid: object) =>
        hostile('proxy/shifting-get', () => {
          const seen = new Set<PropertyKey>();
          return new Proxy(copyOf(valid), {
            get: (target, key) => (seen.has(key) ? h.make() : (seen.add(key), Reflect.get(target, key))),
          });
        }),
      ),
      plainOnly: true,
    },
    {
      // An empty target pretending, through ownKeys, get and descriptors, to be the valid message.
      arbitrary: fc.constant((valid: object) =>
        hostile('proxy/pretending', () =>
          new Proxy(
            {},
            {
              ownKeys: () => [...shape.keys],
              get: (_, key) => Reflect.get(valid, key),
              getOwnPropertyDescriptor: (_, key) => {
                const descriptor = Reflect.getOwnPropertyDescriptor(valid, key);
                return descriptor && { ...descriptor, configurable: true };
              },
            },
          ),
        ),
      ),
      plainOnly: true,
    },
    {
      arbitrary: lies.map((lie) => (valid: object) =>
        hostile('proxy/lying-ownKeys', () => new Proxy(copyOf(valid), { ownKeys: () => lie(shape.keys) })),
      ),
      plainOnly: true,
    },
    {
      // Descriptors that change between reads; every other one breaks a Proxy invariant, which the engine reports by throwing.
      arbitrary: hostileValue().map((h) => (valid: object) =>
        hostile('proxy/lying-descriptor', () => {
          let reads = 0;
          return new Proxy(copyOf(valid), {
            getOwnPropertyDescriptor: (target, key) =>
              reads++ === 0
                ? Reflect.getOwnPropertyDescriptor(target, key)
                : { value: h.make(), writable: true, enumerable: true, configurable: reads % 2 === 0 },
          });
        }),
      ),
      plainOnly: true,
    },
  ];
}

/**
 * Valid messages with one thing made hostile; see the module comment. Each
 * valid value should be a plain object (or, without `plainData`, an instance)
 * whose own fields are all required.
 */
export function hostileVariants<T extends object>(valid: fc.Arbitrary<T>, options: HostileOptions = {}): fc.Arbitrary<Hostile> {
  const plainData = options.plainData ?? true;
  const pick = (variants: Variant[]) =>
    variants.filter((variant) => plainData || !variant.plainOnly).map((variant) => variant.arbitrary);
  const byShape = new Map<string, fc.Arbitrary<Corrupt>>();
  const corruptions = (message: object) => {
    // Own keys and their value types: all the variants depend on, and cheap enough to work out per message.
    let signature = '';
    for (const key of Reflect.ownKeys(message)) signature += `${String(key)}:${typeof Reflect.get(message, key)};`;
    let arbitrary = byShape.get(signature);
    if (arbitrary === undefined) {
      const shape = shapeOf(message);
      // One kind of corruption first, then one variant of it: fields would otherwise crowd out the rest.
      const groups = [
        pick(shape.fields.flatMap(([key, type]) => fieldVariants(key, type))),
        pick(keyVariants(shape)),
        pick(shapeVariants()),
        pick(proxyVariants(shape)),
      ].filter((group) => group.length > 0);
      arbitrary = fc.oneof(...groups.map((group) => fc.oneof(...group)));
      byShape.set(signature, arbitrary);
    }
    return arbitrary;
  };
  return valid.chain((message) => corruptions(message).map((corrupt) => corrupt(message)));
}

/** Transport senders, none of them the id of one of `members`. */
export function hostileSender(members: readonly string[]): fc.Arbitrary<Hostile> {
  const member = fc.constantFrom(...members);
  const identityObject = (kind: string, identity: PropertyDescriptor) =>
    hostile(`sender/${kind}`, () => define({}, 'identity', identity));
  const nonMembers = ['__proto__', 'constructor', 'toString', 'n0', 'n99'].filter((id) => !members.includes(id));
  return fc.oneof(
    fc
      .oneof(byType.undefined, byType.boolean, byType.number, byType.bigint, byType.symbol, byType.function, byType.object)
      .map((h) => hostile(`sender/${h.kind}`, h.make)),
    fc
      .oneof(
        hugeString,
        fc.constantFrom('', ' ', 'n1 ', 'n\n1', '\u0000', '\ud800', 'n1\u202e').map((id) => hostile('bad-id', () => id)),
        fc.constantFrom(...nonMembers).map((id) => hostile('non-member', () => id)),
      )
      .map((h) => hostile(`sender/${h.kind}`, h.make)),
    thrown.map((make) => identityObject('identity-throws', { value: thrower(make) })),
    thrown.map((make) => identityObject('identity-getter-throws', { get: thrower(make) })),
    member.map((id) => identityObject('identity-not-a-method', { value: id })),
    member.map((id) => identityObject('identity-returns-boxed-id', { value: () => Object(id) })),
    hostileValue().map((h) => identityObject(`identity-returns-${h.kind}`, { value: () => h.make() })),
    fc.constant(hostile('sender/proxy', () => booby())),
    fc.constant(hostile('sender/revoked-proxy', () => revoked())),
  );
}

/** Whether what a parser threw is `type`: it may be the hostile value itself, on which even `instanceof` can throw. */
export function thrownIs<T>(error: unknown, type: abstract new (...args: never[]) => T): error is T {
  try {
    return error instanceof type;
  } catch {
    return false;
  }
}

/** A thrown value may be hostile itself; only its kind is worth printing. */
export function describeThrown(error: unknown): string {
  try {
    return error instanceof Error ? `${error.name}: ${error.message}` : typeof error;
  } catch {
    return 'unprintable';
  }
}
