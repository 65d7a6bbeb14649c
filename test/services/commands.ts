import fc from 'fast-check';
import { CoordinationState, STRATEGIES, type LockView } from '../../services';

/**
 * Random coordination commands over small alphabets, so that random
 * sequences collide: the same keys, locks, barriers and tokens come up
 * again and again, and most refusal paths are taken along the way.
 *
 * A token or a releasing owner may be a marker, `holder` or `previous`,
 * filled in from the lock table just before the entry is applied
 * (`concretize`): random numbers alone would almost never name the hold a
 * release or a fenced write needs, and the interesting cases (a holder whose
 * lease ends at that very entry, the holder before it) would not come up.
 */

export const KEYS = ['a', 'b', 's/x', 'm/n', 'r/k', 'u/v'];
export const WRITERS = ['w1', 'w2', 'w3'];
export const LOCKS = ['L1', 'L2'];
export const OWNERS = ['o1', 'o2', 'o3'];
export const BARRIERS = ['B1', 'B2'];
export const PARTICIPANTS = ['p1', 'p2', 'p3'];

const key = fc.constantFrom(...KEYS);
const writer = fc.constantFrom(...WRITERS);
const lock = fc.constantFrom(...LOCKS);
const owner = fc.constantFrom(...OWNERS);

/** Counters are entry indexes, so a context with small ones is stale and one with large ones may cover what it never read. */
export const clock = fc.dictionary(writer, fc.integer({ min: 1, max: 80 }), { maxKeys: 3 });
export const token = fc.oneof(
  { weight: 3, arbitrary: fc.constant('holder') },
  { weight: 2, arbitrary: fc.constant('previous') },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 }) },
);
const releasingOwner = fc.oneof({ weight: 3, arbitrary: fc.constant('holder') }, { weight: 1, arbitrary: owner });
const fence = fc.record({ lock, token });

const value = fc.oneof(
  fc.integer({ min: -5, max: 20 }),
  fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 4 }),
  fc.constantFrom('x', 'y', null, true),
  fc.record({ n: fc.integer({ min: 0, max: 3 }) }),
);

function withOptional<T extends Record<string, unknown>>(base: fc.Arbitrary<T>, optional: Record<string, fc.Arbitrary<unknown>>) {
  const keys = Object.keys(optional);
  return fc.tuple(base, fc.record(optional, { requiredKeys: [] })).map(([required, extra]) => {
    const picked = Object.fromEntries(keys.filter((key) => key in extra).map((key) => [key, (extra as Record<string, unknown>)[key]]));
    return { ...required, ...picked };
  });
}

export const kvCommand = fc.oneof(
  {
    weight: 6,
    arbitrary: withOptional(
      fc.record({ service: fc.constant('kv'), op: fc.constant('put'), key, value, writer }),
      { context: clock, fence },
    ),
  },
  {
    weight: 2,
    arbitrary: withOptional(fc.record({ service: fc.constant('kv'), op: fc.constant('delete'), key }), {
      context: clock,
      fence,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      service: fc.constant('kv'),
      op: fc.constant('setKeySpace'),
      prefix: fc.constantFrom('s/', 'm/', 'r/', 'u/', ''),
      strategy: fc.constantFrom(...STRATEGIES),
    }),
  },
);

export const lockCommand = fc.oneof(
  {
    weight: 5,
    arbitrary: withOptional(
      fc.record({ service: fc.constant('locks'), op: fc.constant('acquire'), lock, owner }),
      { leaseMs: fc.integer({ min: 1, max: 3_000 }) },
    ),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      service: fc.constant('locks'),
      op: fc.constant('release'),
      lock,
      owner: releasingOwner,
      token,
    }),
  },
  {
    weight: 2,
    arbitrary: withOptional(
      fc.record({
        service: fc.constant('locks'),
        op: fc.constant('renew'),
        lock,
        owner: releasingOwner,
        token,
      }),
      { leaseMs: fc.integer({ min: 1, max: 3_000 }) },
    ),
  },
  { weight: 1, arbitrary: fc.record({ service: fc.constant('locks'), op: fc.constant('cancel'), lock, owner }) },
  { weight: 1, arbitrary: fc.record({ service: fc.constant('locks'), op: fc.constant('tick') }) },
);

export const barrierCommand = fc.oneof(
  {
    weight: 3,
    arbitrary: withOptional(
      fc.record({
        service: fc.constant('barriers'),
        op: fc.constant('create'),
        barrier: fc.constantFrom(...BARRIERS),
        participants: fc.subarray(PARTICIPANTS, { minLength: 1 }),
      }),
      {
        threshold: fc.constantFrom(0.5, 0.75, 1),
        timeoutMs: fc.constantFrom(null, 500, 2_000),
        onTimeout: fc.constantFrom('fail', 'release'),
        after: fc.constantFrom(...BARRIERS),
      },
    ),
  },
  { weight: 1, arbitrary: fc.record({ service: fc.constant('barriers'), op: fc.constant('delete'), barrier: fc.constantFrom(...BARRIERS) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      service: fc.constant('barriers'),
      op: fc.constantFrom('join', 'leave'),
      barrier: fc.constantFrom(...BARRIERS),
      participant: fc.constantFrom(...PARTICIPANTS),
    }),
  },
  {
    weight: 5,
    arbitrary: withOptional(
      fc.record({
        service: fc.constant('barriers'),
        op: fc.constant('arrive'),
        barrier: fc.constantFrom(...BARRIERS),
        participant: fc.constantFrom(...PARTICIPANTS),
      }),
      { generation: fc.integer({ min: 1, max: 4 }) },
    ),
  },
);

/** Anything at all: most of it is refused, and a refusal must change nothing. */
const junk = fc.oneof(fc.anything(), fc.record({ service: fc.constantFrom('kv', 'locks', 'barriers'), op: fc.string() }));

export const coordinationCommand = fc.oneof(
  { weight: 8, arbitrary: kvCommand },
  { weight: 8, arbitrary: lockCommand },
  { weight: 6, arbitrary: barrierCommand },
  { weight: 1, arbitrary: junk },
);

/** Time between two entries: often none, sometimes past a lease or a barrier's deadline. */
export const gap = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 400 }), fc.integer({ min: 400, max: 3_500 }));

export interface Step {
  readonly command: unknown;
  readonly gap: number;
}

/** Sequences of any length up to `maxLength`, long ones as likely as short, so that leases, queues and generations play out. */
export function steps(command: fc.Arbitrary<unknown>, maxLength: number): fc.Arbitrary<Step[]> {
  return fc.array(fc.record({ command, gap }), { minLength: 1, maxLength, size: 'max' });
}

export interface Entry {
  readonly command: unknown;
  readonly at: { readonly index: number; readonly time: number };
}

function holderOf(scout: CoordinationState, lock: unknown): LockView['holder'] {
  if (typeof lock !== 'string') return null;
  const answer = scout.query({ service: 'locks', op: 'get', lock });
  return answer.ok ? (answer.value as LockView).holder : null;
}

function fillToken(marker: unknown, holder: LockView['holder']): unknown {
  if (marker === 'holder') return holder?.token ?? 1;
  if (marker === 'previous') return Math.max(1, (holder?.token ?? 2) - 1);
  return marker;
}

function fill(command: unknown, scout: CoordinationState): unknown {
  if (typeof command !== 'object' || command === null || Array.isArray(command)) return command;
  const record = command as Record<string, unknown>;
  if (record.service === 'locks' && (record.op === 'release' || record.op === 'renew')) {
    const holder = holderOf(scout, record.lock);
    const owner = record.owner === 'holder' ? (holder?.owner ?? OWNERS[0]) : record.owner;
    return { ...record, owner, token: fillToken(record.token, holder) };
  }
  if (record.service === 'kv' && typeof record.fence === 'object' && record.fence !== null) {
    const fence = record.fence as Record<string, unknown>;
    return { ...record, fence: { ...fence, token: fillToken(fence.token, holderOf(scout, fence.lock)) } };
  }
  return command;
}

/**
 * The log entries a sequence stands for: markers filled in from a scout
 * replica that applies each entry as it is made, and committed times that
 * never decrease, as a log's do. Every replica under test is then fed these
 * same entries.
 */
export function concretize(sequence: readonly Step[]): Entry[] {
  const scout = new CoordinationState();
  let time = 0;
  return sequence.map((step, i) => {
    time += step.gap;
    const entry = { command: fill(step.command, scout), at: { index: i + 1, time } };
    scout.apply(entry.command, entry.at);
    return entry;
  });
}
