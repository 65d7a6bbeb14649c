import { assign, createActor, fromPromise, setup, toPromise, Actor } from 'xstate';
import { countDuring } from '../../bench/counters';
import { measureXStateFloor } from '../../bench/floor';
import { measureIdleMemory } from '../../bench/memory';

// What the bench pieces return, never how fast: the figures are the
// machine's, and a busy test process says nothing about them.
describe('the rounds bench pieces', () => {
  it('measureXStateFloor returns positive finite µs per send and per invoke', async () => {
    const floor = await measureXStateFloor({ sends: 200, invokes: 50 });
    for (const value of [floor.usPerSend, floor.usPerInvoke]) {
      expect(Number.isFinite(value)).toBe(true);
      expect(value).toBeGreaterThan(0);
    }
  });

  it('measureXStateFloor refuses counts that are not positive integers', async () => {
    await expect(measureXStateFloor({ sends: 0 })).rejects.toThrow(RangeError);
    await expect(measureXStateFloor({ invokes: 1.5 })).rejects.toThrow(RangeError);
  });

  it('countDuring counts the events delivered to machines and the child actors started, and puts XState back', async () => {
    const start = Actor.prototype.start;
    const machine = setup({
      types: { context: {} as { n: number } },
      actors: { work: fromPromise(async () => 1) },
    }).createMachine({
      context: { n: 0 },
      initial: 'idle',
      states: {
        idle: { on: { go: { target: 'working', actions: assign({ n: ({ context }) => context.n + 1 }) } } },
        working: { invoke: { src: 'work', onDone: 'finished' } },
        finished: { type: 'final' },
      },
    });
    const { counts } = await countDuring(async () => {
      const actor = createActor(machine).start();
      actor.send({ type: 'ignored' });
      actor.send({ type: 'go' });
      await toPromise(actor);
    });
    // Two sends and the child's done event (not the promise's own resolve event); one child (the root actor has no parent).
    expect(counts.events).toBe(3);
    expect(counts.childActors).toBe(1);
    expect(Actor.prototype.start).toBe(start);
  });

  it('measureIdleMemory reports bytes per idle engine and node and how the heap was collected', async () => {
    const memory = await measureIdleMemory(4);
    expect(memory.count).toBe(4);
    expect(['expose-gc', 'runtime', 'none']).toContain(memory.gc);
    // Heap deltas of four in a test process are noise: only their presence is checked.
    expect(Number.isFinite(memory.idleEngineBytes)).toBe(true);
    expect(Number.isFinite(memory.idleNodeBytes)).toBe(true);
  });
});
