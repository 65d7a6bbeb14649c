import { commands } from '../../../services';
import { replayLog, type LoggedCommands } from '../../support/services/committedLog';
import { checkReplayedKv } from '../../support/services/kvReplayChecker';
import type { ReplayedKvEntry } from '../../support/services/recorder';

/**
 * Keys of a siblings or merge key space are checked by replaying the log:
 * a read passes when it was told what the key held at some point of the
 * entry it was answered at, a put when the log answered it as the client heard.
 */

const put = (writer: string, value: unknown) => commands.put('x/k', value, { writer });

const SIBLINGS: LoggedCommands[] = [
  { index: 1, time: 0, commands: [commands.setKeySpace('x/', 'siblings')] },
  { index: 2, time: 10, commands: [put('a', 'a.1')] },
  { index: 3, time: 20, commands: [put('b', 'b.1'), put('c', 'c.1')] },
];

const MAX: LoggedCommands[] = [
  { index: 1, time: 0, commands: [commands.setKeySpace('x/', 'merge:max')] },
  { index: 2, time: 10, commands: [put('a', 7), put('b', 3), put('c', 'not a number')] },
];

const seen = (fields: Omit<ReplayedKvEntry, 'outcome' | 'key'> & Partial<ReplayedKvEntry>): ReplayedKvEntry => ({ key: 'x/k', outcome: 'ok', ...fields });

test('reads of kept siblings and of merged values, and the puts behind them, agree with the replay', () => {
  const siblings = checkReplayedKv(
    [
      seen({ client: 'a', op: 'put', value: 'a.1', index: 2 }),
      seen({ client: 'b', op: 'put', value: 'b.1', index: 3 }),
      seen({ client: 'a', op: 'get', values: ['a.1'], index: 2 }),
      // Answered between the two puts of entry 3, and after both.
      seen({ client: 'c', op: 'get', values: ['a.1', 'b.1'], index: 3 }),
      seen({ client: 'c', op: 'get', values: ['a.1', 'b.1', 'c.1'], index: 3 }),
    ],
    replayLog(SIBLINGS),
  );
  expect(siblings.violations).toEqual([]);
  expect(siblings).toMatchObject({ ok: true, compared: 5, combined: 2 });
  const max = checkReplayedKv(
    [
      seen({ client: 'b', op: 'put', value: 3, index: 2 }),
      seen({ client: 'c', op: 'put', value: 'not a number', outcome: 'refused', code: 'value_not_mergeable', index: 2 }),
      seen({ client: 'a', op: 'get', values: [7], index: 2 }),
    ],
    replayLog(MAX),
  );
  expect(max.violations).toEqual([]);
});

test('a read told what the key never held at its index is reported', () => {
  const report = checkReplayedKv([seen({ client: 'a', op: 'get', values: ['b.1'], index: 3 })], replayLog(SIBLINGS));
  expect(report.violations).toEqual([
    {
      kind: 'read_mismatch',
      key: 'x/k',
      index: 3,
      message: 'a get by a was told ["b.1"]; the log held ["a.1"] or ["a.1","b.1"] or ["a.1","b.1","c.1"] there',
    },
  ]);
  // A merge that kept the later write instead of the larger value.
  const lastWriter = checkReplayedKv([seen({ client: 'a', op: 'get', values: [3], index: 2 })], replayLog(MAX));
  expect(lastWriter.violations.map((violation) => violation.kind)).toEqual(['read_mismatch']);
});

test('a put told taken that the log refused, or does not hold, is reported; one past the log’s end is not compared', () => {
  const report = checkReplayedKv(
    [
      seen({ client: 'c', op: 'put', value: 'not a number', index: 2 }),
      seen({ client: 'd', op: 'put', value: 9, index: 2 }),
      seen({ client: 'd', op: 'put', value: 9, index: 5 }),
    ],
    replayLog(MAX),
  );
  expect(report.violations.map((violation) => [violation.kind, violation.message])).toEqual([
    ['acknowledged_missing', 'a put of "not a number" by c was told taken; the log has no such answer there'],
    ['acknowledged_missing', 'a put of 9 by d was told taken; the log has no such answer there'],
  ]);
  expect(report.compared).toBe(2);
});
