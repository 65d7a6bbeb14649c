import { commands, queries } from '../../../services';
import type { QueryOutcome, SubmitOutcome } from '../../../services/port';
import { EventClock } from '../../../simulator/EventClock';
import { replayLog } from '../../support/services/committedLog';
import { FakeCluster, type FakeClusterOptions } from '../../support/services/fakeCluster';

/**
 * The fake cluster the checkers are tested with: one commit order, replicas
 * at their own lag, answers on the simulated clock, and the two rules that
 * can be broken on purpose.
 */

function cluster(options: Partial<FakeClusterOptions> = {}): { clock: EventClock; fake: FakeCluster } {
  const clock = new EventClock();
  return { clock, fake: new FakeCluster({ clock, seed: 1, commitMs: [10, 10], tickEveryMs: 1_000_000, ...options }) };
}

/** Runs the clock until `request` settles; returns its outcome and when it came. */
async function settle<T>(clock: EventClock, request: Promise<T>): Promise<{ outcome: T; at: number }> {
  let result: { outcome: T; at: number } | null = null;
  void request.then((outcome) => (result = { outcome, at: clock.now() }));
  await clock.runUntil(() => result !== null, clock.now() + 60_000);
  if (result === null) throw new Error('the request never settled');
  return result;
}

/** A get's values, or the outcome itself when it was not answered. */
const valuesOf = (outcome: QueryOutcome) =>
  outcome.outcome === 'answered' ? (outcome.answer as { value: { values: unknown[] } }).value.values : outcome;

test('a node answers a command once its own replica has applied it, at the committed index', async () => {
  const { clock, fake } = cluster({ lagMs: [0, 0, 300] });
  const fast = await settle(clock, fake.port(0).submit(commands.put('k', 'one', { writer: 'w' })));
  expect(fast.outcome).toMatchObject({ outcome: 'committed', index: 1, result: { ok: true } });
  expect(fast.at).toBe(10);
  const slow = await settle(clock, fake.port(2).submit(commands.put('k', 'two', { writer: 'w' })));
  expect(slow.outcome).toMatchObject({ outcome: 'committed', index: 2 });
  expect(slow.at).toBe(fast.at + 10 + 300);
});

test('a stale read on a lagging node shows the old state; a linearizable one waits for the log', async () => {
  const { clock, fake } = cluster({ lagMs: [0, 0, 300] });
  await settle(clock, fake.port(0).submit(commands.put('k', 'one', { writer: 'w' })));
  const stale = await settle(clock, fake.port(2).query(queries.get('k'), { consistency: 'stale' }));
  expect(valuesOf(stale.outcome)).toEqual([]);
  expect(stale.outcome).toMatchObject({ index: 0 });
  const fresh = await settle(clock, fake.port(2).query(queries.get('k')));
  expect(valuesOf(fresh.outcome)).toEqual(['one']);
  // The read is an entry of its own, answered where it sits.
  expect(fresh.outcome).toMatchObject({ index: 2 });
  expect(fresh.at - stale.at).toBe(10 + 300);
});

test('a lag set to zero lets the replica catch up at once', async () => {
  const { clock, fake } = cluster({ lagMs: [0, 10_000] });
  await settle(clock, fake.port(0).submit(commands.put('k', 'one', { writer: 'w' })));
  expect(fake.appliedIndex(1)).toBe(0);
  fake.setLag(1, 0);
  expect(fake.appliedIndex(1)).toBe(1);
});

test('broken rule: linearizable reads served from the node’s replica are stale on a lagging one', async () => {
  const { clock, fake } = cluster({ lagMs: [0, 0, 300], rules: { reads: 'local' } });
  await settle(clock, fake.port(0).submit(commands.put('k', 'one', { writer: 'w' })));
  const read = await settle(clock, fake.port(2).query(queries.get('k'), { consistency: 'linearizable' }));
  expect(valuesOf(read.outcome)).toEqual([]);
});

test('broken rule: without fencing, a write with a superseded token is taken; the log keeps the fence the client sent', async () => {
  const outcomes = async (fencing: 'checked' | 'off') => {
    const { clock, fake } = cluster({ rules: { fencing } });
    const port = fake.port(0);
    await settle(clock, port.submit(commands.acquire('L', 'a', { leaseMs: 50 })));
    await settle(clock, port.submit(commands.tick()));
    await clock.runUntil(() => false, clock.now() + 100);
    await settle(clock, port.submit(commands.acquire('L', 'b')));
    const late = await settle(clock, port.submit(commands.put('L/data', 'a.late', { writer: 'a', fence: { lock: 'L', token: 1 } })));
    return { late: late.outcome as SubmitOutcome, committed: fake.committed() };
  };
  const fenced = await outcomes('checked');
  expect(fenced.late).toMatchObject({ outcome: 'committed', result: { ok: false, error: { code: 'stale_fence_token' } } });
  const unfenced = await outcomes('off');
  expect(unfenced.late).toMatchObject({ outcome: 'committed', result: { ok: true } });
  expect(unfenced.committed.at(-1)?.command).toMatchObject({ fence: { lock: 'L', token: 1 } });
});

test('with the correct rules, the committed results are what a replay of the log through the services gives', async () => {
  const { clock, fake } = cluster({ tickEveryMs: 7 });
  const port = fake.port(1);
  await settle(clock, port.submit(commands.acquire('L', 'a', { leaseMs: 20 })));
  await settle(clock, port.submit(commands.put('L/data', 'x', { writer: 'a', fence: { lock: 'L', token: 1 } })));
  await clock.runUntil(() => false, clock.now() + 50);
  await settle(clock, port.submit(commands.put('L/data', 'y', { writer: 'a', fence: { lock: 'L', token: 1 } })));
  fake.stop();
  const committed = fake.committed();
  expect(committed.length).toBeGreaterThan(5);
  // A lease that ran out between clients' commands ended in an empty entry's tick.
  expect(committed.some((entry) => JSON.stringify(entry.result).includes('lock_expired'))).toBe(true);
  expect(JSON.stringify(replayLog(fake.logged()))).toBe(JSON.stringify(committed));
});

test('lost commands and lost answers expire at the deadline; refused ones abort at once', async () => {
  const lost = cluster({ lossChance: 1 });
  const gone = await settle(lost.clock, lost.fake.port(0).submit(commands.put('k', 'v', { writer: 'w' }), { deadline: 500 }));
  expect(gone).toEqual({ outcome: { outcome: 'expired' }, at: 500 });
  expect(lost.fake.committed()).toEqual([]);

  const silent = cluster({ silenceChance: 1 });
  const unheard = await settle(silent.clock, silent.fake.port(0).submit(commands.put('k', 'v', { writer: 'w' })));
  expect(unheard).toEqual({ outcome: { outcome: 'expired' }, at: 2_000 });
  expect(silent.fake.logged().flatMap((entry) => entry.commands)).toHaveLength(1);

  const refusing = cluster({ abortChance: 1 });
  const aborted = await settle(refusing.clock, refusing.fake.port(0).submit(commands.put('k', 'v', { writer: 'w' })));
  expect(aborted).toMatchObject({ outcome: { outcome: 'aborted' }, at: 0 });
  expect(refusing.fake.committed()).toEqual([]);
});

test('a node that does not exist is an error', () => {
  expect(() => cluster().fake.port(3)).toThrow(RangeError);
});
