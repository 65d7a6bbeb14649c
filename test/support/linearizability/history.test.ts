import { HistoryRecorder, historyFromEvents, isIndeterminate, type HistoryEvent } from './history';

type Input = { op: string };

describe('histories from Jepsen-style events', () => {
  test('ok closes an operation, fail drops it, info and a missing end leave it indeterminate', () => {
    const events: HistoryEvent<Input, number>[] = [
      { type: 'invoke', client: 'a', input: { op: 'write' }, time: 0 },
      { type: 'invoke', client: 'b', input: { op: 'write' }, time: 1 },
      { type: 'invoke', client: 'c', input: { op: 'read' }, time: 2 },
      { type: 'ok', client: 'a', time: 3 },
      { type: 'fail', client: 'b', time: 4 },
      { type: 'info', client: 'c', time: 5 },
      { type: 'invoke', client: 'c', input: { op: 'read' }, time: 6 },
      { type: 'ok', client: 'c', output: 7, time: 8 },
      { type: 'invoke', client: 'd', input: { op: 'read' }, time: 9 },
    ];
    const history = historyFromEvents(events);
    expect(history).toEqual([
      { client: 'a', input: { op: 'write' }, call: 0, return: 3 },
      { client: 'c', input: { op: 'read' }, call: 2 },
      { client: 'c', input: { op: 'read' }, call: 6, output: 7, return: 8 },
      { client: 'd', input: { op: 'read' }, call: 9 },
    ]);
    expect(history.map(isIndeterminate)).toEqual([false, true, false, true]);
  });

  test('without times, positions are the times', () => {
    const history = historyFromEvents<Input, number>([
      { type: 'invoke', client: 'a', input: { op: 'read' } },
      { type: 'ok', client: 'a', output: 1 },
    ]);
    expect(history).toEqual([{ client: 'a', input: { op: 'read' }, call: 0, output: 1, return: 1 }]);
  });

  test('malformed event lists are refused', () => {
    const invoke = { type: 'invoke', client: 'a', input: { op: 'read' } } as const;
    expect(() => historyFromEvents<Input, number>([invoke, invoke])).toThrow('while its last operation is open');
    expect(() => historyFromEvents<Input, number>([{ type: 'ok', client: 'a' }])).toThrow('nothing open');
    expect(() => historyFromEvents<Input, number>([{ ...invoke, time: 0 }, { type: 'ok', client: 'a' }])).toThrow('1 of 2 events have a time');
  });
});

describe('a history recorder', () => {
  test('records on the clock it is given, and counts open operations as indeterminate', () => {
    let now = 0;
    const recorder = new HistoryRecorder<Input, number>(() => now);
    const first = recorder.invoke('a', { op: 'read' });
    now = 5;
    const second = recorder.invoke('b', { op: 'write' });
    const third = recorder.invoke('c', { op: 'write' });
    now = 9;
    first.ok(2);
    second.fail();
    recorder.invoke('d', { op: 'read' });
    expect(recorder.history()).toEqual([
      { client: 'a', input: { op: 'read' }, call: 0, output: 2, return: 9 },
      { client: 'c', input: { op: 'write' }, call: 5 },
      { client: 'd', input: { op: 'read' }, call: 9 },
    ]);
    expect(() => first.info()).toThrow('closed twice');
    third.info();
    expect(recorder.history()).toHaveLength(3);
  });
});
