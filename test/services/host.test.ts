import { commands, queries } from '../../services/commandBuilders';
import { CoordinationHost, SLOTS_PER_ENTRY, type CarriedCommand } from '../../services/host';

/** A committed value as a test writes it: its time and what it carries. */
interface Entry {
  time: number;
  carried: CarriedCommand[];
}

const host = () => new CoordinationHost<Entry>({ commandsIn: (entry) => entry.carried, timeOf: (entry) => entry.time });
const command = (name: string, body: unknown): CarriedCommand => ({ name, kind: 'command', body });
const read = (name: string, body: unknown): CarriedCommand => ({ name, kind: 'read', body });

describe('CoordinationHost: the services as the engine state machine', () => {
  it("answers each carried command and read under its payload name, in the entry's order", () => {
    const h = host();
    const results = new Map(
      h.apply(
        {
          time: 1_000,
          carried: [
            read('before', queries.get('k')),
            command('put', commands.put('k', 'v1', { writer: 'w' })),
            read('after', queries.get('k')),
          ],
        },
        1,
      ),
    );
    expect(results.get('put')).toMatchObject({ ok: true, value: { key: 'k' } });
    expect(results.get('before')).toMatchObject({ ok: true, value: { key: 'k', found: false } });
    expect(results.get('after')).toMatchObject({ ok: true, value: { key: 'k', found: true, values: ['v1'] } });
    expect(h.applied).toBe(1);
    expect(h.state.position).toEqual({ index: SLOTS_PER_ENTRY + 1, time: 1_000 });
  });

  it('an entry without commands still moves the clock: a lease ends in a quiet log and the lock goes to the waiter', () => {
    const h = host();
    const granted = new Map(h.apply({ time: 0, carried: [command('a', commands.acquire('L', 'alice', { leaseMs: 1_000 }))] }, 1));
    expect(granted.get('a')).toMatchObject({ ok: true, value: { status: 'granted', token: expect.any(Number) } });
    const queued = new Map(h.apply({ time: 10, carried: [command('b', commands.acquire('L', 'bob', { leaseMs: 1_000 }))] }, 2));
    expect(queued.get('b')).toMatchObject({ ok: true, value: { status: 'queued', position: 1 } });
    expect(h.apply({ time: 999, carried: [] }, 3)).toEqual([]);
    expect(h.readStale(queries.lock('L')).answer).toMatchObject({ ok: true, value: { holder: { owner: 'alice' } } });
    h.apply({ time: 1_000, carried: [] }, 4);
    expect(h.readStale(queries.lock('L')).answer).toMatchObject({ ok: true, value: { holder: { owner: 'bob' } } });
  });

  it('a read carried in an entry sees the state at that entry’s time, even when every command before it was refused', () => {
    const h = host();
    h.apply({ time: 0, carried: [command('a', commands.acquire('L', 'alice', { leaseMs: 500 }))] }, 1);
    const results = new Map(h.apply({ time: 600, carried: [command('bad', { service: 'locks', op: 'nope' }), read('r', queries.lock('L'))] }, 2));
    expect(results.get('bad')).toMatchObject({ ok: false, error: { code: 'invalid_command' } });
    expect(results.get('r')).toMatchObject({ ok: true, value: { lock: 'L', holder: null } });
  });

  it('restores a snapshot into the same state, and refuses one that is not a coordination snapshot', () => {
    const a = host();
    a.apply({ time: 5, carried: [command('p', commands.put('x', 1, { writer: 'w' })), command('l', commands.acquire('L', 'o'))] }, 7);
    const b = host();
    b.restore(JSON.parse(JSON.stringify(a.snapshot())), 7);
    expect(b.applied).toBe(7);
    expect(b.snapshot()).toEqual(a.snapshot());
    const next = { time: 6, carried: [command('q', commands.put('x', 2, { writer: 'w' }))] };
    expect(b.apply(next, 8)).toEqual(a.apply(next, 8));
    expect(() => b.restore({ state: { format: 'other' } }, 9)).toThrow(/not a coordination snapshot/);
    expect(b.applied).toBe(8);
  });
});
