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
