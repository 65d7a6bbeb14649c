import fc from 'fast-check';
import { checkLinearizable, type CheckResult } from './check';
import { historyFromEvents, type HistoryEvent, type Operation } from './history';
import {
  kvModel,
  lockModel,
  logModel,
  registerModel,
  type KvInput,
  type KvOutput,
  type LockInput,
  type LockOutput,
  type LogInput,
  type LogOutput,
  type Model,
  type RegisterInput,
  type RegisterOutput,
  type Value,
} from './models';

type RegisterOp = Operation<RegisterInput, RegisterOutput>;
type KvOp = Operation<KvInput, KvOutput>;
type LogOp = Operation<LogInput<string>, LogOutput<string>>;
type LockOp = Operation<LockInput, LockOutput>;

/** An operation over [call, ret]; a ret of null never returned. */
function op<I, O>(client: string, input: I, output: O | undefined, call: number, ret: number | null): Operation<I, O> {
  if (ret === null) return { client, input, call };
  return output === undefined ? { client, input, call, return: ret } : { client, input, output, call, return: ret };
}

const write = (client: string, value: Value, call: number, ret: number | null): RegisterOp =>
  op<RegisterInput, RegisterOutput>(client, { op: 'write', value }, undefined, call, ret);
const read = (client: string, value: Value, call: number, ret: number | null): RegisterOp => op(client, { op: 'read' }, value, call, ret);
const cas = (client: string, from: Value, to: Value, swapped: boolean, call: number, ret: number | null): RegisterOp =>
  op(client, { op: 'cas', from, to }, swapped, call, ret);

function expectLinearizable<I, O>(result: CheckResult<I, O>): void {
  if (result.ok === false) throw new Error(result.witness.summary);
  expect(result).toEqual({ ok: true });
}

function expectViolation<I, O>(result: CheckResult<I, O>): Extract<CheckResult<I, O>, { ok: false }> {
  expect(result.ok).toBe(false);
  return result as Extract<CheckResult<I, O>, { ok: false }>;
}

describe('a register', () => {
  const model = registerModel();

  test('a sequential history is linearizable', () => {
    const history = [write('a', 1, 0, 10), read('b', 1, 20, 30), write('a', 2, 40, 50), cas('b', 2, 3, true, 60, 70), read('a', 3, 80, 90)];
    expectLinearizable(checkLinearizable(history, model));
  });

  test('reads overlapping a write may see either value (6.824 quiz 2017, VII)', () => {
    const history = [write('0', 100, 0, 100), read('1', 100, 25, 75), read('2', null, 30, 60)];
    expectLinearizable(checkLinearizable(history, model));
  });

  test('a read that starts after another read saw the new value cannot see the old one (6.824 quiz 2017, VII)', () => {
    const history = [write('0', 200, 0, 100), read('1', 200, 10, 30), read('2', null, 40, 90)];
    expectViolation(checkLinearizable(history, model));
  });

  test('operations that touch at one instant overlap; zero-length ones included (Porcupine)', () => {
    const seen = [write('0', 100, 0, 100), read('1', 100, 25, 75), read('2', null, 30, 30), read('3', null, 30, 30)];
    expectLinearizable(checkLinearizable(seen, model));
    expectViolation(checkLinearizable([write('0', 200, 0, 100), read('1', 200, 10, 10), read('2', 200, 10, 10), read('3', null, 40, 90)], model));
    expectLinearizable(checkLinearizable([write('a', 1, 0, 10), read('b', null, 10, 20)], model));
  });

  test('a stale read after a completed write is refused, and the witness says where', () => {
    const history = [write('a', 1, 0, 10), read('b', null, 20, 30)];
    const { witness } = expectViolation(checkLinearizable(history, model));
    expect(witness.linearized).toEqual([history[0]]);
    expect(witness.refused).toEqual([history[1]]);
    expect(witness.state).toBe('1');
    expect(witness.summary).toContain('b: read → null [20, 30]');
  });

  test('a read cannot see a write that started after the read returned', () => {
    const history = [read('a', 1, 0, 10), write('b', 1, 20, 30)];
    const { witness } = expectViolation(checkLinearizable(history, model));
    expect(witness.linearized).toEqual([]);
    expect(witness.refused).toEqual([history[0]]);
  });

  test('two concurrent compare-and-sets from the same value cannot both succeed', () => {
    const start = write('w', 0, 0, 5);
    expectViolation(checkLinearizable([start, cas('a', 0, 1, true, 10, 30), cas('b', 0, 2, true, 15, 35)], model));
    expectLinearizable(checkLinearizable([start, cas('a', 0, 1, true, 10, 30), cas('b', 0, 2, false, 15, 35), read('c', 1, 40, 50)], model));
  });

  test('an operation that never returned may take effect at any point after its call', () => {
    const lost = write('a', 1, 0, null);
    expectLinearizable(checkLinearizable([lost, read('b', 1, 10, 20)], model));
    expectLinearizable(checkLinearizable([lost, read('b', null, 10, 20), read('b', 1, 30, 40)], model));
    expectViolation(checkLinearizable([read('b', 1, 0, 10), write('a', 1, 20, null)], model));
  });

  test('or not at all, but at most once', () => {
    const lost = write('a', 1, 0, null);
    expectLinearizable(checkLinearizable([lost, read('b', null, 10, 20), read('b', null, 30, 40)], model));
    expectViolation(checkLinearizable([lost, read('b', 1, 10, 20), read('b', null, 30, 40)], model));
  });

  test('a crashed write is still valid alone (Knossos crash-test)', () => {
    const events: HistoryEvent<RegisterInput, RegisterOutput>[] = [
      { type: 'invoke', client: '0', input: { op: 'write', value: 1 } },
      { type: 'info', client: '0' },
    ];
    expectLinearizable(checkLinearizable(historyFromEvents(events), registerModel(0)));
  });

  test('a first read of a value never written is refused with nothing linearized (Knossos read-wrong-initial-value)', () => {
    const history = [read('0', 1, 0, 1)];
    const { witness } = expectViolation(checkLinearizable(history, registerModel(0)));
    expect(witness).toMatchObject({ linearized: [], refused: history, state: '0' });
  });

  test('a read of a value out of nowhere, concurrent with a write (Knossos rethink-fail-minimal)', () => {
    const events: HistoryEvent<RegisterInput, RegisterOutput>[] = [
      { type: 'invoke', client: '0', input: { op: 'write', value: 0 } },
      { type: 'ok', client: '0' },
      { type: 'invoke', client: '1', input: { op: 'read' } },
      { type: 'invoke', client: '2', input: { op: 'write', value: 4 } },
      { type: 'ok', client: '1', output: 3 },
      { type: 'ok', client: '2' },
      { type: 'invoke', client: '3', input: { op: 'read' } },
      { type: 'ok', client: '3', output: 4 },
    ];
    const { witness } = expectViolation(checkLinearizable(historyFromEvents(events), registerModel(null)));
    expect(witness.refused.map((operation) => operation.client)).toContain('1');
    expect(witness.refused.map((operation) => operation.client)).not.toContain('3');
  });

  test('spurious reads after crashed operations are blamed, not the crashes (Knossos bad-analysis)', () => {
    const events: HistoryEvent<RegisterInput, RegisterOutput>[] = [
      { type: 'invoke', client: '4', input: { op: 'write', value: 2 } },
      { type: 'ok', client: '4' },
      { type: 'invoke', client: '6', input: { op: 'read' } },
      { type: 'invoke', client: '1', input: { op: 'write', value: 4 } },
      { type: 'ok', client: '1' },
      { type: 'invoke', client: '14', input: { op: 'read' } },
      { type: 'ok', client: '14', output: 4 },
      { type: 'invoke', client: '9', input: { op: 'write', value: 0 } },
      { type: 'ok', client: '9' },
      { type: 'invoke', client: '19', input: { op: 'read' } },
      { type: 'invoke', client: '20', input: { op: 'write', value: 1 } },
      { type: 'ok', client: '19', output: 0 },
      { type: 'invoke', client: '22', input: { op: 'read' } },
      { type: 'invoke', client: '21', input: { op: 'read' } },
      { type: 'ok', client: '21', output: 2 },
      { type: 'ok', client: '22', output: 3 },
    ];
    const { witness } = expectViolation(checkLinearizable(historyFromEvents(events), registerModel(0)));
    expect(witness.refused.map((operation) => operation.client).sort()).toEqual(['21', '22']);
    expect(witness.linearized.map((operation) => operation.client)).toEqual(expect.arrayContaining(['4', '1', '14', '9', '19']));
  });

  test('a failed write is known not to have happened, so a read of its value is refused (Knossos immediate-failure)', () => {
    const events: HistoryEvent<RegisterInput, RegisterOutput>[] = [
      { type: 'invoke', client: '1', input: { op: 'read' } },
      { type: 'invoke', client: '101', input: { op: 'write', value: 3 } },
      { type: 'fail', client: '101' },
      { type: 'ok', client: '1', output: 3 },
    ];
    expectViolation(checkLinearizable(historyFromEvents(events), registerModel(null)));
    const crashed = events.map((event) => (event.type === 'fail' ? { ...event, type: 'info' as const } : event));
    expectLinearizable(checkLinearizable(historyFromEvents(crashed), registerModel(null)));
  });
});

describe('a key-value map, one key at a time', () => {
  const model = kvModel();
  const get = (client: string, key: string, value: Value, call: number, ret: number | null): KvOp =>
    op(client, { op: 'get', key }, value, call, ret);
  const put = (client: string, key: string, value: Value, call: number, ret: number | null): KvOp =>
    op<KvInput, KvOutput>(client, { op: 'put', key, value }, undefined, call, ret);
  const putIf = (client: string, key: string, expected: Value, value: Value, wrote: boolean, call: number, ret: number | null): KvOp =>
    op(client, { op: 'putIf', key, expected, value }, wrote, call, ret);

  test('keys are independent: each is linearizable alone', () => {
    const history = [
      put('a', 'x', 1, 0, 10),
      put('b', 'y', 2, 5, 15),
      get('c', 'x', 1, 12, 20),
      get('c', 'y', null, 0, 4),
      get('a', 'y', 2, 16, 30),
    ];
    expectLinearizable(checkLinearizable(history, model));
  });

  test('a violation names its key', () => {
    const history = [put('a', 'x', 1, 0, 10), get('b', 'x', 1, 20, 30), put('a', 'y', 1, 0, 10), get('b', 'y', null, 20, 30)];
    const result = expectViolation(checkLinearizable(history, model));
    expect(result.partition).toBe('y');
    expect(result.witness.summary).toContain('partition "y"');
  });

  test('two concurrent putIf-absent cannot both win', () => {
    expectViolation(checkLinearizable([putIf('a', 'k', null, 1, true, 0, 10), putIf('b', 'k', null, 2, true, 5, 15)], model));
    const oneWins = [putIf('a', 'k', null, 1, true, 0, 10), putIf('b', 'k', null, 2, false, 5, 15), get('c', 'k', 1, 20, 30)];
    expectLinearizable(checkLinearizable(oneWins, model));
  });

  test('a put of null deletes', () => {
    expectLinearizable(checkLinearizable([put('a', 'k', 1, 0, 10), put('a', 'k', null, 20, 30), putIf('b', 'k', null, 3, true, 40, 50)], model));
  });
});

describe('an append-only log', () => {
  const model = logModel<string>();
  const append = (client: string, entry: string, index: number | undefined, call: number, ret: number | null): LogOp =>
    op(client, { op: 'append', entry }, index, call, ret);
  const readLog = (client: string, entries: string[], call: number, ret: number | null): LogOp => op(client, { op: 'read' }, entries, call, ret);

  test('concurrent appends take their indices in either order, and reads see a prefix in that order', () => {
    const history = [append('a', 'x', 1, 0, 20), append('b', 'y', 0, 5, 25), readLog('c', ['y'], 6, 15), readLog('c', ['y', 'x'], 30, 40)];
    expectLinearizable(checkLinearizable(history, model));
  });

  test('an acknowledged append cannot be lost', () => {
    const history = [append('a', 'x', 0, 0, 10), readLog('b', [], 20, 30)];
    const { witness } = expectViolation(checkLinearizable(history, model));
    expect(witness.state).toBe('["x"]');
  });

  test('two appends cannot be given the same index', () => {
    expectViolation(checkLinearizable([append('a', 'x', 0, 0, 10), append('b', 'y', 0, 5, 15)], model));
  });

  test('a read cannot reorder entries', () => {
    expectViolation(checkLinearizable([append('a', 'x', 0, 0, 10), append('a', 'y', 1, 20, 30), readLog('b', ['y', 'x'], 40, 50)], model));
  });

  test('an append that never returned may show up later, or never', () => {
    const lost = append('a', 'x', undefined, 0, null);
    expectLinearizable(checkLinearizable([lost, append('b', 'y', 0, 10, 20), readLog('c', ['y', 'x'], 30, 40)], model));
    expectLinearizable(checkLinearizable([lost, append('b', 'y', 0, 10, 20), readLog('c', ['y'], 30, 40)], model));
    expectViolation(checkLinearizable([lost, append('b', 'y', 0, 10, 20), readLog('c', ['y', 'x'], 30, 40), readLog('c', ['y'], 50, 60)], model));
  });

  test('the same entry appended twice is two entries', () => {
    const history = [append('a', 'x', 0, 0, 10), append('a', 'x', 1, 20, 30), readLog('b', ['x', 'x'], 40, 50)];
    expectLinearizable(checkLinearizable(history, model));
  });

  test('indices can start where the log under test starts', () => {
    const history = [append('a', 'x', 1, 0, 10), readLog('b', ['x'], 20, 30)];
    expectLinearizable(checkLinearizable(history, logModel<string>({ firstIndex: 1 })));
    expectViolation(checkLinearizable(history, model));
  });
});

describe('a fenced lock', () => {
  const model = lockModel();
  const acquire = (client: string, token: number | null | undefined, call: number, ret: number | null, lock?: string): LockOp =>
    op(client, lock === undefined ? { op: 'acquire' } : { op: 'acquire', lock }, token, call, ret);
  const release = (client: string, token: number, released: boolean, call: number, ret: number | null): LockOp =>
    op(client, { op: 'release', token }, released, call, ret);
  const fenced = (client: string, token: number, value: Value, accepted: boolean, call: number, ret: number | null): LockOp =>
    op(client, { op: 'write', token, value }, accepted, call, ret);
  const readLock = (client: string, value: Value, call: number, ret: number | null): LockOp => op(client, { op: 'read' }, value, call, ret);

  test('holders take turns, each token above the last, and each write carries its holder token', () => {
    const history = [
      acquire('a', 1, 0, 10),
      acquire('b', null, 5, 15),
      fenced('a', 1, 'from a', true, 20, 30),
      release('a', 1, true, 40, 50),
      acquire('b', 4, 60, 70),
      fenced('a', 1, 'late a', false, 65, 80),
      fenced('b', 4, 'from b', true, 90, 100),
      readLock('c', 'from b', 110, 120),
    ];
    expectLinearizable(checkLinearizable(history, model));
  });

  test('two holders at once', () => {
    const history = [acquire('a', 1, 0, 10), acquire('b', 2, 20, 30), release('a', 1, true, 40, 50)];
    expectViolation(checkLinearizable(history, model));
  });

  test('a write with a stale token must be refused', () => {
    const turns = [acquire('a', 1, 0, 10), release('a', 1, true, 20, 30), acquire('b', 2, 40, 50)];
    const { witness } = expectViolation(checkLinearizable([...turns, fenced('a', 1, 'stale', true, 60, 70)], model));
    expect(witness.refused.map((operation) => operation.input.op)).toEqual(['write']);
    expectLinearizable(checkLinearizable([...turns, fenced('a', 1, 'stale', false, 60, 70)], model));
  });

  test('tokens never go back', () => {
    expectViolation(checkLinearizable([acquire('a', 5, 0, 10), release('a', 5, true, 20, 30), acquire('b', 3, 40, 50)], model));
  });

  test('an acquire that never returned may have taken nothing', () => {
    expectLinearizable(checkLinearizable([acquire('a', undefined, 0, null), acquire('b', 1, 10, 20), fenced('b', 1, 'v', true, 30, 40)], model));
  });

  test('locks are checked apart, with tokens from one counter', () => {
    const history = [acquire('a', 1, 0, 10, 'p'), acquire('b', 2, 5, 15, 'q'), acquire('c', null, 20, 30, 'p'), acquire('c', null, 20, 30, 'q')];
    expectLinearizable(checkLinearizable(history, model));
    expectViolation(checkLinearizable([...history, acquire('d', 3, 40, 50, 'q')], model));
  });
});

describe('bounds', () => {
  /** Writes of distinct values all at once and a read of none of them: every order of every subset of the writes is a distinct state. */
  function adversarial(writers: number, key?: string): KvOp[] {
    const history: KvOp[] = [];
    for (let i = 0; i < writers; i += 1) history.push(op<KvInput, KvOutput>(`w${i}`, { op: 'put', key: key ?? 'k', value: i }, undefined, 0, 100));
    history.push(op('r', { op: 'get', key: key ?? 'k' }, -1, 0, 100));
    return history;
  }

  test('a search too large for its time says unknown, within its time', () => {
    const started = performance.now();
    const result = checkLinearizable(adversarial(40), kvModel(), { timeoutMs: 300, maxStates: Number.POSITIVE_INFINITY });
    const elapsed = performance.now() - started;
    expect(result).toEqual({ ok: 'unknown', reason: 'timeout', partition: 'k' });
    expect(elapsed).toBeLessThan(1_000);
  });

  test('a search too large for its memory says unknown', () => {
    const result = checkLinearizable(adversarial(40), kvModel(), { maxStates: 5_000 });
    expect(result).toEqual({ ok: 'unknown', reason: 'too many states', partition: 'k' });
  });

  test('a part left unknown does not hide a violation in another', () => {
    const stale = [op('a', { op: 'put', key: 'b', value: 1 }, undefined, 0, 10), op('b', { op: 'get', key: 'b' }, null, 20, 30)] as KvOp[];
    const result = checkLinearizable([...adversarial(40, 'a'), ...stale], kvModel(), { maxStates: 5_000 });
    expect(result).toMatchObject({ ok: false, partition: 'b' });
  });

  test('times must be in order', () => {
    expect(() => checkLinearizable([read('a', null, 10, 5)], registerModel())).toThrow('before its call');
    expect(() => checkLinearizable([read('a', null, Number.NaN, 5)], registerModel())).toThrow('call time');
  });
});

describe('properties', () => {
  /** Fixed so that a failure reproduces; fast-check prints it with the counterexample. */
  const params = { seed: 20_250_611, numRuns: 100 };
  const CHECK = { timeoutMs: 2_000 };

  /** Where each operation of a sequential run sits: before and after its linearization point, and whether its client heard back. */
  const timing = (spread: number) =>
    fc.record({
      before: fc.integer({ min: 0, max: spread }),
      after: fc.integer({ min: 0, max: spread }),
      lost: fc.integer({ min: 0, max: 9 }).map((x) => x === 0),
    });
  type Timing = { before: number; after: number; lost: boolean };
  /** Operations sent but never carried out, anywhere in the run. */
  const phantom = <I>(input: fc.Arbitrary<I>) => fc.array(fc.record({ input, call: fc.integer({ min: 0, max: 400 }) }), { maxLength: 2 });

  /**
   * Runs `inputs` one at a time, each at its own instant 10 apart, and gives
   * each an interval around its instant: the run's order is a
   * linearization of the result, so the checker must find one.
   */
  function sequentialRun<S, I, O>(
    run: (state: S, input: I) => { output: O | undefined; state: S },
    init: S,
    steps: Array<{ input: I; timing: Timing }>,
    phantoms: Array<{ input: I; call: number }>,
  ): Operation<I, O>[] {
    let state = init;
    const history: Operation<I, O>[] = steps.map(({ input, timing: { before, after, lost } }, i) => {
      const outcome = run(state, input);
      state = outcome.state;
      const point = 10 * (i + 1);
      return op(`c${i % 5}`, input, lost ? undefined : outcome.output, point - before, lost ? null : point + after);
    });
    return [...history, ...phantoms.map(({ input, call }, i) => op<I, O>(`p${i}`, input, undefined, call, null))];
  }

  const value = fc.integer({ min: 0, max: 4 });
  const registerInput: fc.Arbitrary<RegisterInput> = fc.oneof(
    fc.constant({ op: 'read' as const }),
    value.map((v) => ({ op: 'write' as const, value: v })),
    fc.tuple(value, value).map(([from, to]) => ({ op: 'cas' as const, from, to })),
  );
  const runRegister = (state: Value, input: RegisterInput): { output: RegisterOutput | undefined; state: Value } => {
    if (input.op === 'read') return { output: state, state };
    if (input.op === 'write') return { output: undefined, state: input.value };
    return state === input.from ? { output: true, state: input.to } : { output: false, state };
  };
  const registerRun = (spread: number) =>
    fc
      .tuple(fc.array(fc.record({ input: registerInput, timing: timing(spread) }), { maxLength: 40, size: 'max' }), phantom(registerInput))
      .map(([steps, phantoms]) => sequentialRun(runRegister, null, steps, phantoms));

  test('a register run with intervals apart is linearizable', () => {
    fc.assert(fc.property(registerRun(4), (history) => checkLinearizable(history, registerModel(), CHECK).ok === true), params);
  });

  test('a register run with overlapping intervals is linearizable', () => {
    fc.assert(fc.property(registerRun(60), (history) => checkLinearizable(history, registerModel(), CHECK).ok === true), params);
  });

  test('a register run with one read changed to a value never written is not', () => {
    const mutated = fc.tuple(registerRun(60), fc.nat()).map(([history, pick]) => {
      const reads = history.flatMap((operation, at) => (operation.input.op === 'read' && operation.return !== undefined ? [at] : []));
      if (reads.length === 0) return null;
      const at = reads[pick % reads.length];
      return history.map((operation, i) => (i === at ? { ...operation, output: 99 } : operation));
    });
    fc.assert(
      fc.property(mutated, (history) => {
        fc.pre(history !== null);
        return checkLinearizable(history!, registerModel(), CHECK).ok === false;
      }),
      params,
    );
  });

  /**
   * Linearizability by its definition: some order of the completed
   * operations, and of any of the others, that keeps real time and that the
   * model accepts step by step. Exponential, so for a handful of operations.
   */
  function everyOrderTried<S, I, O>(history: readonly Operation<I, O>[], model: Model<S, I, O>): boolean {
    const placeable = (left: readonly Operation<I, O>[], next: Operation<I, O>) =>
      left.every((other) => other === next || other.return === undefined || other.return >= next.call);
    const search = (state: S, left: readonly Operation<I, O>[]): boolean =>
      left.every((operation) => operation.return === undefined) ||
      left.some((next) => {
        if (!placeable(left, next)) return false;
        const after = model.step(state, next.input, next.output);
        return after.ok && search(after.state, left.filter((operation) => operation !== next));
      });
    return search(model.init(), history);
  }

  /** Up to 7 operations with arbitrary answers, some never returned, on intervals that overlap often. */
  function smallHistories<I, O>(call: fc.Arbitrary<{ input: I; output: O | undefined }>): fc.Arbitrary<Operation<I, O>[]> {
    const placed = fc.record({
      call,
      at: fc.integer({ min: 0, max: 30 }),
      length: fc.integer({ min: 0, max: 15 }),
      lost: fc.integer({ min: 0, max: 4 }).map((x) => x === 0),
    });
    return fc
      .array(placed, { minLength: 1, maxLength: 7, size: 'max' })
      .map((draws) =>
        draws.map(({ call: { input, output }, at, length, lost }, i) => op(`c${i}`, input, lost ? undefined : output, at, lost ? null : at + length)),
      );
  }

  /** Checks agreement on 300 histories, and that each verdict came up often enough for the agreement to say something. */
  function agreesWithEveryOrder<S, I, O>(model: Model<S, I, O>, histories: fc.Arbitrary<Operation<I, O>[]>): void {
    const runs = 300;
    let linearizable = 0;
    fc.assert(
      fc.property(histories, (history) => {
        const expected = everyOrderTried(history, model);
        linearizable += expected ? 1 : 0;
        return checkLinearizable(history, model, CHECK).ok === expected;
      }),
      { ...params, numRuns: runs },
    );
    expect(linearizable).toBeGreaterThan(runs / 10);
    expect(linearizable).toBeLessThan(runs - runs / 10);
  }

  test('on small register histories with arbitrary answers, it agrees with trying every order', () => {
    const answer = fc.option(fc.integer({ min: 0, max: 2 }));
    const call: fc.Arbitrary<{ input: RegisterInput; output: RegisterOutput | undefined }> = fc.oneof(
      answer.map((seen) => ({ input: { op: 'read' as const }, output: seen })),
      answer.map((value) => ({ input: { op: 'write' as const, value }, output: undefined })),
      fc.tuple(answer, answer, fc.boolean()).map(([from, to, swapped]) => ({ input: { op: 'cas' as const, from, to }, output: swapped })),
    );
    agreesWithEveryOrder(registerModel(), smallHistories(call));
  });

  test('on small fenced-lock histories with arbitrary answers, it agrees with trying every order', () => {
    const token = fc.integer({ min: 1, max: 3 });
    const call: fc.Arbitrary<{ input: LockInput; output: LockOutput | undefined }> = fc.oneof(
      fc.option(token).map((granted) => ({ input: { op: 'acquire' as const }, output: granted })),
      fc.tuple(token, fc.boolean()).map(([t, released]) => ({ input: { op: 'release' as const, token: t }, output: released })),
      fc.tuple(token, fc.boolean()).map(([t, accepted]) => ({ input: { op: 'write' as const, token: t, value: t }, output: accepted })),
      fc.option(token).map((seen) => ({ input: { op: 'read' as const }, output: seen })),
    );
    agreesWithEveryOrder(lockModel(), smallHistories(call));
  });

  test('on small log histories with arbitrary answers, it agrees with trying every order', () => {
    const entry = fc.constantFrom('x', 'y');
    const call: fc.Arbitrary<{ input: LogInput<string>; output: LogOutput<string> | undefined }> = fc.oneof(
      fc.tuple(entry, fc.integer({ min: 0, max: 2 })).map(([e, index]) => ({ input: { op: 'append' as const, entry: e }, output: index })),
      fc.array(entry, { maxLength: 2 }).map((seen) => ({ input: { op: 'read' as const }, output: seen })),
    );
    agreesWithEveryOrder(logModel<string>(), smallHistories(call));
  });

  test('a key-value run over a few keys is linearizable, key by key', () => {
    const key = fc.constantFrom('a', 'b', 'c');
    const kvInput: fc.Arbitrary<KvInput> = fc.oneof(
      key.map((k) => ({ op: 'get' as const, key: k })),
      fc.tuple(key, fc.option(value)).map(([k, v]) => ({ op: 'put' as const, key: k, value: v })),
      fc.tuple(key, fc.option(value), value).map(([k, expected, v]) => ({ op: 'putIf' as const, key: k, expected, value: v })),
    );
    const runKv = (state: ReadonlyMap<string, Value>, input: KvInput): { output: KvOutput | undefined; state: ReadonlyMap<string, Value> } => {
      const current = state.get(input.key) ?? null;
      const set = (v: Value) => new Map(state).set(input.key, v);
      if (input.op === 'get') return { output: current, state };
      if (input.op === 'put') return { output: undefined, state: set(input.value) };
      return current === input.expected ? { output: true, state: set(input.value) } : { output: false, state };
    };
    const run = fc
      .tuple(fc.array(fc.record({ input: kvInput, timing: timing(60) }), { maxLength: 40, size: 'max' }), phantom(kvInput))
      .map(([steps, phantoms]) => sequentialRun(runKv, new Map<string, Value>(), steps, phantoms));
    fc.assert(fc.property(run, (history) => checkLinearizable(history, kvModel(), CHECK).ok === true), params);
  });

  test('a log run is linearizable, and one read given an entry never appended is not', () => {
    const logInput: fc.Arbitrary<LogInput<string>> = fc.oneof(
      fc.constant({ op: 'read' as const }),
      fc.constantFrom('x', 'y', 'z').map((entry) => ({ op: 'append' as const, entry })),
    );
    const runLog = (state: readonly string[], input: LogInput<string>): { output: LogOutput<string> | undefined; state: readonly string[] } =>
      input.op === 'read' ? { output: [...state], state } : { output: state.length, state: [...state, input.entry] };
    const run = fc
      .tuple(fc.array(fc.record({ input: logInput, timing: timing(60) }), { maxLength: 40, size: 'max' }), phantom(logInput), fc.nat())
      .map(([steps, phantoms, pick]) => ({ history: sequentialRun(runLog, [] as readonly string[], steps, phantoms), pick }));
    fc.assert(
      fc.property(run, ({ history, pick }) => {
        if (checkLinearizable(history, logModel<string>(), CHECK).ok !== true) return false;
        const reads = history.flatMap((operation, at) => (operation.input.op === 'read' && operation.return !== undefined ? [at] : []));
        if (reads.length === 0) return true;
        const at = reads[pick % reads.length];
        const never = (operation: LogOp): LogOp => ({ ...operation, output: [...(operation.output as string[]), 'never'] });
        const mutated = history.map((operation, i) => (i === at ? never(operation) : operation));
        return checkLinearizable(mutated, logModel<string>(), CHECK).ok === false;
      }),
      params,
    );
  });

  test('a fenced lock run is linearizable', () => {
    const token = fc.integer({ min: 1, max: 6 });
    const lockInput: fc.Arbitrary<LockInput> = fc.oneof(
      fc.constant({ op: 'acquire' as const }),
      token.map((t) => ({ op: 'release' as const, token: t })),
      fc.tuple(token, value).map(([t, v]) => ({ op: 'write' as const, token: t, value: v })),
      fc.constant({ op: 'read' as const }),
    );
    type Held = { holder: number | null; last: number; value: Value };
    const runLock = (state: Held, input: LockInput): { output: LockOutput | undefined; state: Held } => {
      switch (input.op) {
        case 'acquire':
          if (state.holder !== null) return { output: null, state };
          return { output: state.last + 1, state: { ...state, holder: state.last + 1, last: state.last + 1 } };
        case 'release':
          return state.holder === input.token ? { output: true, state: { ...state, holder: null } } : { output: false, state };
        case 'write':
          return state.holder === input.token ? { output: true, state: { ...state, value: input.value } } : { output: false, state };
        case 'read':
          return { output: state.value, state };
      }
    };
    // A client cannot name a token it never received, so every acquire here is answered.
    const answered = (step: { input: LockInput; timing: Timing }) =>
      step.input.op === 'acquire' ? { ...step, timing: { ...step.timing, lost: false } } : step;
    const run = fc
      .tuple(fc.array(fc.record({ input: lockInput, timing: timing(60) }).map(answered), { maxLength: 40, size: 'max' }), phantom(lockInput))
      .map(([steps, phantoms]) => sequentialRun(runLock, { holder: null, last: 0, value: null } as Held, steps, phantoms));
    fc.assert(fc.property(run, (history) => checkLinearizable(history, lockModel(), CHECK).ok === true), params);
  });
});
