import { createActor, createMachine } from 'xstate';
import { EventClock } from '../../simulator/EventClock';

describe('EventClock: a discrete-event clock for the simulator', () => {
  it('fires timers one at a time in deadline order, ties in insertion order, each at its own instant', () => {
    const clock = new EventClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`c@${clock.now()}`), 30);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => fired.push(`b1@${clock.now()}`), 20);
    clock.setTimeout(() => fired.push(`b2@${clock.now()}`), 20);
    while (clock.fireNext()) {
      // one timer per call
    }
    expect(fired).toEqual(['a@10', 'b1@20', 'b2@20', 'c@30']);
    expect(clock.now()).toBe(30);
    expect(clock.firedCount).toBe(4);
  });

  it('schedules relative to the instant a timer is set from inside another timer', () => {
    const clock = new EventClock();
    const fired: number[] = [];
    clock.setTimeout(() => clock.setTimeout(() => fired.push(clock.now()), 5), 10);
    clock.setTimeout(() => fired.push(clock.now()), 12);
    while (clock.fireNext());
    expect(fired).toEqual([12, 15]);
  });

  it('never fires a cleared timer and counts only live ones as pending', () => {
    const clock = new EventClock();
    const fired: string[] = [];
    const a = clock.setTimeout(() => fired.push('a'), 10);
    clock.setTimeout(() => fired.push('b'), 20);
    clock.clearTimeout(a);
    clock.clearTimeout(a);
    clock.clearTimeout(999);
    expect(clock.pending).toBe(1);
    expect(clock.nextDeadline()).toBe(20);
    while (clock.fireNext());
    expect(fired).toEqual(['b']);
    expect(clock.pending).toBe(0);
    expect(clock.nextDeadline()).toBeNull();
  });

  it('treats negative, NaN and zero delays as "now", after what is already due now', () => {
    const clock = new EventClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('zero'), 0);
    clock.setTimeout(() => fired.push('negative'), -5);
    clock.setTimeout(() => fired.push('nan'), Number.NaN);
    while (clock.fireNext());
    expect(fired).toEqual(['zero', 'negative', 'nan']);
    expect(clock.now()).toBe(0);
  });

  it('runUntil drains promise continuations between timers, so a resolved promise acts before the next timer', async () => {
    const clock = new EventClock();
    const log: string[] = [];
    clock.setTimeout(() => {
      log.push('t1');
      void Promise.resolve()
        .then(() => Promise.resolve())
        .then(() => log.push(`continuation@${clock.now()}`));
    }, 10);
    clock.setTimeout(() => log.push('t2'), 10);
    const fired = await clock.runUntil(() => false);
    expect(log).toEqual(['t1', 'continuation@10', 't2']);
    expect(fired).toBe(2);
  });

  it('runUntil stops when the condition holds, at the limit, or after maxEvents', async () => {
    const clock = new EventClock();
    let ticks = 0;
    const tick = () => {
      ticks += 1;
      clock.setTimeout(tick, 10);
    };
    clock.setTimeout(tick, 10);
    expect(await clock.runUntil(() => ticks === 3)).toBe(3);
    expect(clock.now()).toBe(30);
    expect(await clock.runUntil(() => false, 55)).toBe(2);
    expect(clock.now()).toBe(55);
    expect(await clock.runUntil(() => false, Number.POSITIVE_INFINITY, 4)).toBe(4);
    expect(clock.now()).toBe(90);
  });

  it('fireInstant fires every timer due at the next deadline, those set for it meanwhile included, and nothing later', () => {
    const clock = new EventClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`late@${clock.now()}`), 20);
    clock.setTimeout(() => {
      fired.push(`a@${clock.now()}`);
      clock.setTimeout(() => fired.push(`a0@${clock.now()}`), 0);
      clock.setTimeout(() => fired.push(`a5@${clock.now()}`), 5);
    }, 10);
    const cancelled = clock.setTimeout(() => fired.push('cancelled'), 10);
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 10);
    clock.clearTimeout(cancelled);
    expect(clock.fireInstant(9)).toBe(0);
    expect(clock.now()).toBe(0);
    expect(clock.fireInstant()).toBe(3);
    expect(fired).toEqual(['a@10', 'b@10', 'a0@10']);
    expect(clock.fireInstant(Number.POSITIVE_INFINITY, 1)).toBe(1);
    expect(clock.fireInstant()).toBe(1);
    expect(fired.slice(3)).toEqual(['a5@15', 'late@20']);
    expect(clock.fireInstant()).toBe(0);
    expect(clock.firedCount).toBe(5);
  });

  it('runInstantsUntil fires a whole instant before promise continuations run, and drains them before the next', async () => {
    const clock = new EventClock();
    const log: string[] = [];
    const continueAfter = (name: string, delay: number | null) =>
      void Promise.resolve()
        .then(() => Promise.resolve())
        .then(() => {
          log.push(`${name} continues@${clock.now()}`);
          if (delay !== null) clock.setTimeout(() => log.push(`${name} again@${clock.now()}`), delay);
        });
    clock.setTimeout(() => {
      log.push('t1');
      continueAfter('t1', 0);
    }, 10);
    clock.setTimeout(() => {
      log.push('t2');
      continueAfter('t2', null);
    }, 10);
    clock.setTimeout(() => log.push('t3@20'), 20);
    const instants: string[] = [];
    const fired = await clock.runInstantsUntil(() => false, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, () =>
      instants.push(`${clock.now()}:${log.length}`),
    );
    expect(log).toEqual(['t1', 't2', 't1 continues@10', 't2 continues@10', 't1 again@10', 't3@20']);
    // afterInstant runs once an instant (a timer set by a continuation for now is one more), before the drain.
    expect(instants).toEqual(['10:2', '10:5', '20:6']);
    expect(fired).toBe(4);
  });

  it('runInstantsUntil stops when the condition holds, at the limit, or after maxEvents, even within an instant', async () => {
    const clock = new EventClock();
    let ticks = 0;
    const tick = () => {
      ticks += 1;
      clock.setTimeout(tick, 10);
    };
    clock.setTimeout(tick, 10);
    clock.setTimeout(tick, 10);
    // Two timers an instant: the condition is asked between instants.
    expect(await clock.runInstantsUntil(() => ticks >= 3)).toBe(4);
    expect(clock.now()).toBe(20);
    expect(await clock.runInstantsUntil(() => false, 55)).toBe(6);
    expect(clock.now()).toBe(55);
    expect(await clock.runInstantsUntil(() => false, Number.POSITIVE_INFINITY, 3)).toBe(3);
    expect(clock.now()).toBe(70);
    expect(clock.nextDeadline()).toBe(70);
    expect(await clock.runInstantsUntil(() => false, 70)).toBe(1);
    expect(clock.nextDeadline()).toBe(80);
  });

  it('runInstantsUntil and runUntil fire the same timers in the same order when no continuation sets one', async () => {
    const order = async (run: (clock: EventClock) => Promise<number>) => {
      const clock = new EventClock();
      const fired: string[] = [];
      for (const [name, at] of [['c', 30], ['a', 10], ['b1', 20], ['b2', 20], ['a2', 10]] as const) {
        clock.setTimeout(() => fired.push(`${name}@${clock.now()}`), at);
      }
      return { count: await run(clock), fired };
    };
    const byTimer = await order((clock) => clock.runUntil(() => false));
    const byInstant = await order((clock) => clock.runInstantsUntil(() => false));
    expect(byInstant).toEqual(byTimer);
    expect(byInstant.fired).toEqual(['a@10', 'a2@10', 'b1@20', 'b2@20', 'c@30']);
  });

  it('drives XState delayed transitions as the actor clock, each at its own deadline', async () => {
    const clock = new EventClock();
    const machine = createMachine({
      initial: 'a',
      states: { a: { after: { 30: 'b' } }, b: { after: { 15: 'c' } }, c: {} },
    });
    const seen: string[] = [];
    const actor = createActor(machine, { clock });
    actor.subscribe((snapshot) => seen.push(`${String(snapshot.value)}@${clock.now()}`));
    actor.start();
    await clock.runUntil(() => actor.getSnapshot().value === 'c');
    expect(seen).toEqual(['a@0', 'b@30', 'c@45']);
    actor.stop();
  });
});
