import { commands } from '../../../services';
import { arrivalsRequired, checkBarriers, type BarrierViolationKind } from '../../support/services/barrierChecker';
import { replayLog, type CommittedEntry, type LoggedCommands } from '../../support/services/committedLog';
import type { BarrierLogEntry } from '../../support/services/recorder';

/**
 * The barrier checker on logs written by hand: logs replayed through the real
 * services pass, and a log or a client answer that breaks a barrier rule is
 * reported where it does, as the kind of violation it is.
 */

/**
 * B is a full barrier of a and b with no deadline; S is a stage after it that
 * releases with whoever came 100 ms after it opens; P is a partial barrier
 * (half of four) that b leaves before c's arrival completes it; F fails on
 * its deadline.
 */
const PIPELINE: LoggedCommands[] = [
  { index: 1, time: 0, commands: [commands.createBarrier('B', ['a', 'b'], { timeoutMs: null })] },
  { index: 2, time: 10, commands: [commands.createBarrier('S', ['a'], { after: 'B', timeoutMs: 100, onTimeout: 'release' })] },
  { index: 3, time: 20, commands: [commands.arrive('B', 'a')] },
  { index: 4, time: 30, commands: [commands.arrive('B', 'b', 1)] },
  { index: 5, time: 40, commands: [commands.join('B', 'c'), commands.createBarrier('P', ['a', 'b', 'c', 'd'], { threshold: 0.5, timeoutMs: null })] },
  { index: 6, time: 50, commands: [commands.arrive('P', 'a'), commands.leave('P', 'b'), commands.createBarrier('F', ['a', 'b'], { timeoutMs: 50 })] },
  { index: 7, time: 60, commands: [commands.arrive('P', 'c')] },
  { index: 8, time: 200, commands: [] },
];

const step = (fields: Omit<BarrierLogEntry, 'outcome' | 'call'> & Partial<BarrierLogEntry>): BarrierLogEntry => ({ outcome: 'ok', call: 0, ...fields });

/** What the clients of PIPELINE were told. */
const TOLD: BarrierLogEntry[] = [
  step({ client: 'a', step: 'create', barrier: 'B', status: 'open', generation: 1, index: 1 }),
  step({ client: 'a', step: 'arrive', barrier: 'B', participant: 'a', status: 'waiting', generation: 1, index: 3 }),
  step({ client: 'b', step: 'arrive', barrier: 'B', participant: 'b', status: 'released', generation: 1, index: 4 }),
  step({ client: 'c', step: 'join', barrier: 'B', participant: 'c', status: 'waiting', generation: 2, index: 5 }),
  step({ client: 'a', step: 'read', barrier: 'B', index: 5, view: { generation: 2, open: true, last: { generation: 1, outcome: 'released', reason: 'arrivals' } } }),
  step({ client: 'b', step: 'leave', barrier: 'P', participant: 'b', status: 'waiting', generation: 1, index: 6 }),
  step({ client: 'c', step: 'arrive', barrier: 'P', participant: 'c', status: 'released', generation: 1, index: 7 }),
  step({ client: 'a', step: 'read', barrier: 'S', index: 8, view: { generation: 2, open: true, last: { generation: 1, outcome: 'released', reason: 'timeout' } } }),
];

function kinds(report: { violations: readonly { kind: BarrierViolationKind }[] }): BarrierViolationKind[] {
  return [...new Set(report.violations.map((violation) => violation.kind))].sort();
}

type Event = Record<string, unknown>;

const isTick = (entry: CommittedEntry) => (entry.command as { op?: string }).op === 'tick';

/** The log with the events of the entries `which` picks rewritten. */
function withEvents(committed: CommittedEntry[], which: (entry: CommittedEntry) => boolean, change: (events: Event[]) => Event[]): CommittedEntry[] {
  return committed.map((entry) => {
    if (!which(entry)) return entry;
    const result = entry.result as { ok: true; value: unknown; events: Event[] };
    return { ...entry, result: { ...result, events: change(result.events) } };
  });
}

/** The command entries (not the ticks) at `index`. */
const commandsAt = (index: number) => (entry: CommittedEntry) => entry.index === index && !isTick(entry);

test('a log replayed through the services, and what its clients were told, pass', () => {
  const report = checkBarriers({ log: TOLD, committed: replayLog(PIPELINE) });
  expect(report.summary).toMatch(/^barriers kept their rules/);
  expect(report.violations).toEqual([]);
  expect(report.stats).toEqual({ releasedOnArrivals: 2, releasedOnTimeout: 1, failed: 1, stagesOpened: 1, arrivals: 3, toldReleased: 4 });
});

test('the threshold counts the participants a barrier has when it releases, rounded up, at least one', () => {
  expect(arrivalsRequired(0.5, 4)).toBe(2);
  expect(arrivalsRequired(0.5, 3)).toBe(2);
  expect(arrivalsRequired(0.7, 10)).toBe(7);
  expect(arrivalsRequired(0.1, 2)).toBe(1);
});

test('(a) a generation the log released one arrival short is reported, and what followed from it', () => {
  const early = withEvents(replayLog(PIPELINE), commandsAt(3), (events) => [
    ...events,
    { type: 'barrier_released', barrier: 'B', generation: 1, reason: 'arrivals', arrived: ['a'] },
  ]);
  const report = checkBarriers({ log: [], committed: early });
  // b's arrival then went to a generation that had ended.
  expect(kinds(report)).toEqual(['arrival_while_closed', 'ended_twice', 'release_without_cause']);
  expect(report.violations[0]).toEqual({
    kind: 'release_without_cause',
    barrier: 'B',
    index: 3,
    message: 'generation 1 released (arrivals): 1 of 2 participants had arrived (a); 2 release it',
  });
});

test('(a) a release that counts a participant who had left is reported', () => {
  const committed = replayLog(PIPELINE.map((entry) => (entry.index === 7 ? { ...entry, commands: [commands.arrive('P', 'a')] } : entry)));
  // The services refuse nothing here but leave P waiting; a store that kept b's arrival after b left would release it.
  const kept = withEvents(committed, commandsAt(7), (events) => [...events, { type: 'barrier_released', barrier: 'P', generation: 1, reason: 'arrivals', arrived: ['a', 'b'] }]);
  const report = checkBarriers({ log: [], committed: kept });
  expect(kinds(report)).toEqual(['release_without_cause']);
  expect(report.violations.map((violation) => violation.message)).toEqual([
    'generation 1 released (arrivals): 1 of 3 participants had arrived (a); 2 release it',
    'generation 1 released (arrivals): it names arrivals the log did not take: b',
  ]);
});

test('(a) a timeout before the deadline, or one that released a barrier meant to fail, is reported', () => {
  const committed = replayLog(PIPELINE);
  // The same endings at time 120: F's deadline (100) had passed, S's (130) had not.
  const early = committed.map((entry) => (entry.index === 8 ? { ...entry, time: 120 } : entry));
  expect(checkBarriers({ log: [], committed: early }).violations).toEqual([
    { kind: 'release_without_cause', barrier: 'S', index: 8, message: 'generation 1 released (timeout): at time 120, before its deadline 130 (opened at 30)' },
  ]);
  const released = withEvents(
    committed,
    (entry) => entry.index === 8,
    (events) => events.map((event) => (event.type === 'barrier_failed' && event.barrier === 'F' ? { ...event, type: 'barrier_released' } : event)),
  );
  expect(checkBarriers({ log: [], committed: released }).violations.map((violation) => violation.message)).toEqual([
    "generation 1 released (timeout): its barrier's onTimeout is fail",
  ]);
});

test('(c) a stage that opens a generation its previous stage has not released is reported', () => {
  const unreleased = withEvents(replayLog(PIPELINE), commandsAt(4), (events) => events.filter((event) => event.type !== 'barrier_released'));
  const report = checkBarriers({ log: [], committed: unreleased });
  expect(kinds(report)).toEqual(['stage_order']);
  expect(report.violations.map((violation) => [violation.barrier, violation.index, violation.message])).toEqual([
    ['S', 4, 'generation 1 opened before "B" released it'],
    ['S', 8, 'generation 1 released before "B" released it'],
  ]);
});

test('an arrival taken for a generation that had not opened is reported', () => {
  const closed = replayLog(PIPELINE).map((entry) => {
    const command = entry.command as { op?: string; barrier?: string };
    if (command.op !== 'create' || command.barrier !== 'B') return entry;
    const result = entry.result as { ok: true; value: unknown; events: Event[] };
    return { ...entry, result: { ...result, events: [] } };
  });
  expect(kinds(checkBarriers({ log: [], committed: closed }))).toEqual(['arrival_while_closed', 'release_without_cause']);
});

describe('what clients were told', () => {
  const committed = replayLog(PIPELINE);

  test('(a) an arrival told it released a generation the log still waited on is reported', () => {
    const told = TOLD.map((entry) => (entry.index === 3 ? { ...entry, status: 'released' } : entry));
    const report = checkBarriers({ log: told, committed });
    expect(report.violations).toEqual([
      {
        kind: 'told_released_early',
        barrier: 'B',
        index: 3,
        message: "a was told arrive taken (released in generation 1); the log's answer at 3 was not a release",
      },
    ]);
  });

  test('(a) a read showing a release before the log made it is reported', () => {
    const read = step({ client: 'a', step: 'read', barrier: 'B', index: 3, view: { generation: 2, open: true, last: { generation: 1, outcome: 'released', reason: 'arrivals' } } });
    const report = checkBarriers({ log: [...TOLD, read], committed });
    expect(report.violations.map((violation) => [violation.kind, violation.message])).toEqual([
      ['told_released_early', 'a read by a showed generation 1 released; the log had not ended it by 3'],
    ]);
  });

  test('(b) an acknowledged arrival the log does not hold is reported', () => {
    const lost = step({ client: 'c', step: 'arrive', barrier: 'B', participant: 'c', status: 'waiting', generation: 2, index: 6 });
    const report = checkBarriers({ log: [...TOLD, lost], committed });
    expect(report.violations).toEqual([
      { kind: 'acknowledged_missing', barrier: 'B', index: 6, message: 'c was told arrive taken (waiting in generation 2); the log has it nowhere at 6' },
    ]);
  });

  test('requests that were refused, aborted or never answered are not held against the log', () => {
    const unanswered = [
      step({ client: 'c', step: 'arrive', barrier: 'B', participant: 'c', outcome: 'expired' }),
      step({ client: 'c', step: 'arrive', barrier: 'B', participant: 'c', outcome: 'refused', code: 'barrier_not_open', index: 6 }),
      step({ client: 'd', step: 'join', barrier: 'P', participant: 'd', outcome: 'aborted', code: 'not_leader' }),
    ];
    expect(checkBarriers({ log: [...TOLD, ...unanswered], committed }).ok).toBe(true);
  });
});
