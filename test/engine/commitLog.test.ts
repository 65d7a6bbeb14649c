import { CommitLog, type LogEntry } from '../../engine/commitLog';

const entry = (index: number): LogEntry<string, string> => ({
  index,
  rank: index,
  attempt: 0,
  term: null,
  valueDigest: String(index).padStart(64, '0'),
  proposer: null,
  certificate: null,
  payload: `state-${index}`,
});

const flush = () => new Promise((resolve) => setImmediate(resolve));

/** Reads `follow` in the background; `seen` fills as entries arrive. */
function reader(log: CommitLog<string, string>, from?: number) {
  const seen: number[] = [];
  const controller = new AbortController();
  void (async () => {
    for await (const e of log.follow(from, controller.signal)) seen.push(e.index);
  })();
  return { seen, stop: () => controller.abort() };
}

describe('CommitLog', () => {
  it('refuses an entry at or below the tail', () => {
    const log = new CommitLog<string, string>(10);
    log.append(entry(1));
    expect(() => log.append(entry(1))).toThrow(RangeError);
    expect(() => log.append(entry(0))).toThrow(RangeError);
  });

  it('lists what is missing below the tail, from the first rank on', () => {
    const log = new CommitLog<string, string>(100, 1);
    expect(log.missing()).toEqual([]);
    log.append(entry(1));
    log.append(entry(5));
    log.append(entry(6));
    log.append(entry(9));
    expect(log.missing()).toEqual([[2, 4], [7, 8]]);
    const late = new CommitLog<string, string>(100, 11);
    late.append(entry(14));
    expect(late.missing()).toEqual([[11, 13]]);
  });

  it('fills only missing places, in order, and refuses the rest without a change', () => {
    const log = new CommitLog<string, string>(100, 1);
    log.append(entry(1));
    log.append(entry(4));
    expect(log.fill(entry(3))).toBe(true);
    expect(log.fill(entry(3))).toBe(false);
    expect(log.fill(entry(4))).toBe(false);
    expect(log.fill(entry(5))).toBe(false);
    expect(log.fill(entry(0))).toBe(false);
    expect(log.range(0, 10).map((e) => e.index)).toEqual([1, 3, 4]);
    expect(log.missing()).toEqual([[2, 2]]);
    expect(log.tail()!.index).toBe(4);
  });

  it('passes over what was given up on, and lists it as holes a late entry may still fill', () => {
    const log = new CommitLog<string, string>(100, 1);
    log.append(entry(1));
    log.append(entry(10));
    log.skip(2, 5);
    expect(log.missing()).toEqual([[6, 9]]);
    expect(log.isMissing(3)).toBe(false);
    expect(log.holes()).toEqual([[2, 5]]);
    expect(log.fill(entry(3))).toBe(true);
    expect(log.fill(entry(3))).toBe(false);
    expect(log.holes()).toEqual([[2, 2], [4, 5]]);
    expect(log.missing()).toEqual([[6, 9]]);
    expect(log.fill(entry(6))).toBe(true);
    expect(log.fill(entry(11))).toBe(false);
  });

  it('gives readers entries in index order, holding them back at a missing range until it fills', async () => {
    const log = new CommitLog<string, string>(100, 1);
    const r = reader(log);
    log.append(entry(1));
    log.append(entry(4));
    await flush();
    expect(r.seen).toEqual([1]);
    log.fill(entry(2));
    await flush();
    expect(r.seen).toEqual([1, 2]);
    log.fill(entry(3));
    await flush();
    expect(r.seen).toEqual([1, 2, 3, 4]);
    r.stop();
  });

  it('lets readers move on past a range given up on', async () => {
    const log = new CommitLog<string, string>(100, 1);
    const r = reader(log, 1);
    log.append(entry(1));
    log.append(entry(6));
    log.append(entry(7));
    await flush();
    expect(r.seen).toEqual([1]);
    log.skip(2, 5);
    await flush();
    expect(r.seen).toEqual([1, 6, 7]);
    r.stop();
  });

  it('drops the oldest past its retention, and readers from before start at the oldest held', async () => {
    const log = new CommitLog<string, string>(3, 1);
    for (let i = 1; i <= 5; i += 1) log.append(entry(i));
    expect(log.range(0, 10).map((e) => e.index)).toEqual([3, 4, 5]);
    expect(log.missing()).toEqual([]);
    const r = reader(log, 1);
    await flush();
    expect(r.seen).toEqual([3, 4, 5]);
    r.stop();
  });

  it('keeps no record of ranges given up on once they fall below what it holds', () => {
    const log = new CommitLog<string, string>(2, 1);
    log.append(entry(1));
    log.append(entry(5));
    log.skip(2, 4);
    for (let i = 6; i <= 9; i += 1) log.append(entry(i));
    expect(log.missing()).toEqual([]);
    expect((log as unknown as { skipped: unknown[] }).skipped).toEqual([]);
  });
});
