import { commands } from '../../../services';
import { replayLog, type CommittedEntry, type LoggedCommands } from '../../support/services/committedLog';
import { checkLocks, type LockViolationKind } from '../../support/services/lockChecker';
import type { LockLogEntry } from '../../support/services/recorder';

/**
 * The lock checker on logs written by hand: a commit log replayed through the
 * real services passes, and each kind of violation is reported where it is,
 * with the tokens and indexes that make it one.
 */

const LOCK = 'L';
const KEY = 'L/data';

const acquire = (owner: string) => commands.acquire(LOCK, owner, { leaseMs: 100 });
const fenced = (value: string, token: number) => commands.put(KEY, value, { writer: 'w', fence: { lock: LOCK, token } });

/** A taken command's result as the services give it, with the lock events it set off. */
const taken = (value: unknown, events: unknown[] = []) => ({ ok: true, value, events });
const granted = (owner: string, token: number) => ({ type: 'lock_granted', lock: LOCK, owner, token, expiresAt: 10_000 });
const released = (owner: string, token: number) => ({ type: 'lock_released', lock: LOCK, owner, token });
const written = { key: KEY, clock: { w: 1 }, resolution: 'none', siblings: 1 };
const refused = (code: string) => ({ ok: false, error: { code, message: code } });

function entry(index: number, command: unknown, result: unknown): CommittedEntry {
  return { index, time: index, command, result };
}

function kinds(report: { violations: readonly { kind: LockViolationKind }[] }): LockViolationKind[] {
  return [...new Set(report.violations.map((violation) => violation.kind))].sort();
}

/**
 * a holds the lock and stalls; its lease runs out at time 100, b (queued) is
 * granted it, then a's late write comes in; b writes and releases.
 */
const STALLED_HOLDER: LoggedCommands[] = [
  { index: 1, time: 0, commands: [acquire('a')] },
  { index: 2, time: 10, commands: [acquire('b')] },
  { index: 3, time: 20, commands: [fenced('a.1', 1)] },
  { index: 4, time: 120, commands: [] },
  { index: 5, time: 130, commands: [fenced('a.2', 1)] },
  { index: 6, time: 140, commands: [fenced('b.1', 2)] },
  { index: 7, time: 150, commands: [commands.release(LOCK, 'b', 2)] },
];

const withoutFence = (command: unknown) => {
  const { fence: _ignored, ...rest } = command as { fence?: unknown };
  return rest;
};

test('a stalled holder whose late write the services refused passes, and the refusal is counted', () => {
  const report = checkLocks({ committed: replayLog(STALLED_HOLDER) });
  expect(report.summary).toMatch(/^locks kept fencing/);
  expect(report.ok).toBe(true);
  expect(report.stats).toEqual({ grants: 2, ends: 2, acceptedWrites: 2, refusedWrites: 1 });
});

test('the same log applied without fences is caught: the late write carried a token older than one already granted', () => {
  // The commands keep their fences (what the clients sent); the results are those of a store that ignored them.
  const unfenced = replayLog(STALLED_HOLDER.map((entry) => ({ ...entry, commands: entry.commands.map(withoutFence) })));
  const sent = replayLog(STALLED_HOLDER);
  const committed = unfenced.map((entry, at) => ({ ...entry, command: sent[at].command }));
  const report = checkLocks({ committed });
  expect(report.ok).toBe(false);
  expect(report.violations).toEqual([
    {
      kind: 'stale_token',
      lock: LOCK,
      index: 5,
      message: 'write of "L/data" with token 1 accepted after token 2 was granted to b at 4',
    },
  ]);
  expect(report.summary).toContain('[stale_token] lock "L" at 5');
});

test('(b) a write by an older token after a newer holder wrote is reported as interleaved, as well as stale', () => {
  const report = checkLocks({
    committed: [
      entry(1, acquire('a'), taken({ status: 'granted', token: 1 }, [granted('a', 1)])),
      entry(2, commands.tick(), taken(null, [{ type: 'lock_expired', lock: LOCK, owner: 'a', token: 1 }, granted('b', 2)])),
      entry(3, fenced('b.1', 2), taken(written)),
      entry(4, fenced('a.1', 1), taken(written)),
    ],
  });
  expect(kinds(report)).toEqual(['interleaved', 'stale_token']);
  expect(report.violations.find((violation) => violation.kind === 'interleaved')?.message).toBe(
    'write of "L/data" with token 1 accepted after the write of "L/data" with the newer token 2 at 3',
  );
});

test('(c) a grant whose token is not above the last one is reported', () => {
  const report = checkLocks({
    committed: [
      entry(1, acquire('a'), taken({ status: 'granted', token: 5 }, [granted('a', 5)])),
      entry(2, commands.release(LOCK, 'a', 5), taken({ status: 'released' }, [released('a', 5)])),
      entry(3, acquire('b'), taken({ status: 'granted', token: 5 }, [granted('b', 5)])),
    ],
  });
  expect(report.violations).toEqual([
    { kind: 'token_not_increasing', lock: LOCK, index: 3, message: 'token 5 granted to b, not above token 5 granted to a at 1' },
  ]);
});

test('(a) a write with a token never granted is reported', () => {
  const report = checkLocks({
    committed: [entry(1, acquire('a'), taken({ status: 'granted', token: 1 }, [granted('a', 1)])), entry(2, fenced('x', 7), taken(written))],
  });
  expect(report.violations.map((violation) => [violation.kind, violation.index])).toEqual([['unissued_token', 2]]);
});

test('a write accepted after its own hold was released is reported, though no one holds the lock since', () => {
  const report = checkLocks({
    committed: [
      entry(1, acquire('a'), taken({ status: 'granted', token: 1 }, [granted('a', 1)])),
      entry(2, commands.release(LOCK, 'a', 1), taken({ status: 'released' }, [released('a', 1)])),
      entry(3, fenced('a.late', 1), taken(written)),
    ],
  });
  expect(report.violations).toEqual([
    { kind: 'holder_gone', lock: LOCK, index: 3, message: 'write of "L/data" with token 1 accepted after that hold ended (released at 2)' },
  ]);
});

test('refused fenced writes are the fence working, not violations', () => {
  const report = checkLocks({
    committed: [
      entry(1, acquire('a'), taken({ status: 'granted', token: 1 }, [granted('a', 1)])),
      entry(2, commands.release(LOCK, 'a', 1), taken({ status: 'released' }, [released('a', 1)])),
      entry(3, fenced('a.late', 1), refused('fence_holder_gone')),
    ],
  });
  expect(report.ok).toBe(true);
  expect(report.stats.refusedWrites).toBe(1);
});

describe('what clients saw', () => {
  const committed = replayLog(STALLED_HOLDER);
  const seen = (fields: Partial<LockLogEntry> & Pick<LockLogEntry, 'step' | 'owner' | 'outcome'>): LockLogEntry => ({
    client: fields.owner,
    lock: LOCK,
    call: 0,
    return: 1,
    ...fields,
  });
  const truthful: LockLogEntry[] = [
    seen({ step: 'acquire', owner: 'a', outcome: 'ok', status: 'granted', token: 1, index: 1 }),
    seen({ step: 'acquire', owner: 'b', outcome: 'ok', status: 'queued', index: 2 }),
    seen({ step: 'write', owner: 'a', outcome: 'ok', status: 'accepted', token: 1, key: KEY, value: 'a.1', index: 3 }),
    seen({ step: 'holder', owner: 'b', outcome: 'ok', status: 'held', token: 2, index: 4 }),
    seen({ step: 'write', owner: 'a', outcome: 'refused', code: 'stale_fence_token', token: 1, key: KEY, value: 'a.2', index: 5 }),
    seen({ step: 'write', owner: 'b', outcome: 'ok', status: 'accepted', token: 2, key: KEY, value: 'b.1', index: 6 }),
    seen({ step: 'release', owner: 'b', outcome: 'ok', status: 'released', token: 2, index: 7 }),
    seen({ step: 'release', owner: 'a', outcome: 'expired', token: 1 }),
  ];

  test('answers that agree with the commit log pass, and so does the client log alone', () => {
    expect(checkLocks({ log: truthful, committed }).violations).toEqual([]);
    const alone = checkLocks({ log: truthful });
    expect(alone.source).toBe('client log');
    expect(alone.ok).toBe(true);
    expect(alone.stats).toEqual({ grants: 2, ends: 1, acceptedWrites: 2, refusedWrites: 1 });
  });

  test('a client told its write was accepted at an index where the log refused it is a mismatch', () => {
    const lying = truthful.map((item) => (item.index === 5 ? { ...item, outcome: 'ok' as const, status: 'accepted', code: undefined } : item));
    const report = checkLocks({ log: lying, committed });
    expect(report.violations).toHaveLength(1);
    expect(report.violations[0]).toMatchObject({ kind: 'client_mismatch', index: 5 });
    expect(report.violations[0].message).toMatch(/^a \(a\) write: told ok, the log's result is \{"ok":false/);
    // Without the commit log, the same lie is a stale write by the client's own account.
    expect(kinds(checkLocks({ log: lying }))).toEqual(['stale_token']);
  });

  test('a poll that saw a hold before the log granted it, or a grant of another token, is a mismatch', () => {
    const early = truthful.map((item) => (item.step === 'holder' ? { ...item, index: 3 } : item));
    expect(checkLocks({ log: early, committed }).violations.map((violation) => violation.message)).toEqual([
      'b (b) holder: saw token 2 held at 3, which the log never granted to this owner by then',
    ]);
    const otherToken = truthful.map((item) => (item.step === 'acquire' && item.owner === 'a' ? { ...item, token: 9 } : item));
    expect(checkLocks({ log: otherToken, committed }).violations.map((violation) => violation.message)).toEqual([
      `a (a) acquire: told granted 9, the log's result is {"status":"granted","token":1,"count":1,"expiresAt":100}`,
    ]);
  });

  test('an answer from an index the log does not hold is a mismatch', () => {
    const report = checkLocks({ log: [...truthful, seen({ step: 'release', owner: 'b', outcome: 'refused', token: 2, index: 99 })], committed });
    expect(report.violations).toEqual([
      { kind: 'client_mismatch', lock: LOCK, index: 99, message: 'b (b) release: answered from an index the commit log does not hold' },
    ]);
  });
});

describe('one log entry carrying several commands', () => {
  /** a writes, releases and b is granted the lock, all in entry 2: the order inside it is the log's, not the index's. */
  const LOG: LoggedCommands[] = [
    { index: 1, time: 0, commands: [acquire('a')] },
    { index: 2, time: 10, commands: [fenced('a.1', 1), commands.release(LOCK, 'a', 1), acquire('b'), fenced('b.1', 2)] },
  ];
  const answered = { lock: LOCK, outcome: 'ok', call: 0, return: 1 } as const;
  const log: LockLogEntry[] = [
    { ...answered, client: 'a', owner: 'a', step: 'acquire', status: 'granted', token: 1, index: 1 },
    { ...answered, client: 'a', owner: 'a', step: 'write', status: 'accepted', token: 1, key: KEY, value: 'a.1', index: 2 },
    { ...answered, client: 'a', owner: 'a', step: 'release', status: 'released', token: 1, index: 2 },
    { ...answered, client: 'b', owner: 'b', step: 'acquire', status: 'granted', token: 2, index: 2 },
    { ...answered, client: 'b', owner: 'b', step: 'write', status: 'accepted', token: 2, key: KEY, value: 'b.1', index: 2 },
  ];

  test('answers sharing an index are matched to their own commands, and pass', () => {
    const report = checkLocks({ log, committed: replayLog(LOG) });
    expect(report.violations).toEqual([]);
    expect(report.stats).toEqual({ grants: 2, ends: 1, acceptedWrites: 2, refusedWrites: 0 });
  });

  test('without the commit log, facts of one entry go in token order, so its handover is no violation', () => {
    expect(checkLocks({ log: [...log].reverse() }).violations).toEqual([]);
  });

  test('a client told of a command its entry does not carry is a mismatch', () => {
    const invented = [...log, { ...log[1], value: 'a.invented' }];
    const report = checkLocks({ log: invented, committed: replayLog(LOG) });
    expect(report.violations).toHaveLength(1);
    expect(report.violations[0]).toMatchObject({ kind: 'client_mismatch', index: 2 });
    expect(report.violations[0].message).toMatch(/^a \(a\) write: the log holds no such command there, only \{"service":"locks","op":"tick"\}/);
  });
});

test('a check with nothing to read is a mistake, not a pass', () => {
  expect(() => checkLocks({})).toThrow(/needs a commit log, a client log, or both/);
});
