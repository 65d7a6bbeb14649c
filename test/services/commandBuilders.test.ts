import { CoordinationState, commands, queries } from '../../services';
import { LogDriver, taken } from './driver';

/** The builders assemble exactly the commands the services take, without keys for options not given. */

test('builders leave out options that were not given', () => {
  expect(commands.put('k', 1, { writer: 'w' })).toEqual({ service: 'kv', op: 'put', key: 'k', value: 1, writer: 'w' });
  expect(Object.keys(commands.acquire('L', 'a'))).not.toContain('leaseMs');
  expect(commands.arrive('B', 'p')).toEqual({ service: 'barriers', op: 'arrive', barrier: 'B', participant: 'p' });
});

test('a session built from the builders runs as the brief describes it', () => {
  const state = new LogDriver(new CoordinationState() as never);
  const grant = taken<{ token: number }>(state.apply(commands.acquire('L', 'a', { leaseMs: 5_000 }), 0));
  state.apply(commands.put('config', { v: 1 }, { writer: 'a', fence: { lock: 'L', token: grant.token } }), 10);
  const read = taken<{ clock: Record<string, number> }>(state.machine.query(queries.get('config')));
  state.apply(commands.put('config', { v: 2 }, { writer: 'a', context: read.clock, fence: { lock: 'L', token: grant.token } }), 20);
  state.apply(commands.release('L', 'a', grant.token), 30);
  expect(state.machine.query(queries.checkFence('L', grant.token))).toMatchObject({ ok: false, error: { code: 'fence_holder_gone' } });
  state.apply(commands.createBarrier('B', ['a', 'b'], { threshold: 0.5 }), 40);
  expect(taken(state.apply(commands.arrive('B', 'b', 1), 50))).toMatchObject({ status: 'released', generation: 1 });
  expect(state.apply(commands.tick(), 60)).toMatchObject({ ok: true });
  expect(taken(state.machine.query(queries.get('config')))).toMatchObject({ values: [{ v: 2 }] });
});
