import { SimulatedClock } from 'xstate';
import { createMembership } from '../../guards/quorum';
import { MAX_PENDING_READS, ReadIndex, reportOf } from '../../engine/readIndex';
import { ReadIndexError } from '../../engine/errors';

const flush = () => new Promise((resolve) => setImmediate(resolve));

/** A peer id as the relay gets it. */
class Peer {
  constructor(readonly name: string) {}
  identity(): string {
    return this.name;
  }
  clone(): this {
    return this;
  }
  rank(): number {
    return 0;
  }
}

/** A reader n0 among four members (quorum 3), with a scripted applied index and the requests it sent. */
function reader(options: { relay?: boolean } = {}) {
  const clock = new SimulatedClock();
  const requests: string[] = [];
  const answers: Array<{ to: string; nonce: string; index: number }> = [];
  let applied = 5;
  let report: number | null = 5;
  const reads = new ReadIndex<Peer>({
    self: 'n0',
    relay:
      options.relay === false
        ? {}
        : {
            requestReadIndex: (nonce) => void requests.push(nonce),
            sendReadIndex: (to, nonce, index) => void answers.push({ to: to.name, nonce, index }),
          },
    clock,
    membership: () => createMembership(['n0', 'n1', 'n2', 'n3'].map((id) => ({ id, weight: 1 }))),
    report: () => report,
    applied: () => applied,
    retryMs: 200,
  });
  return {
    clock,
    reads,
    requests,
    answers,
    apply(index: number) {
      applied = index;
      reads.progressed();
    },
    setReport(index: number | null) {
      report = index;
    },
  };
}

/** A promise's outcome so far, without awaiting it. */
function watch<T>(promise: Promise<T>) {
  const seen: { value?: T; error?: unknown } = {};
  promise.then(
    (value) => (seen.value = value),
    (error: unknown) => (seen.error = error),
  );
  return seen;
}

describe('ReadIndex', () => {
  it('waits for a quorum of answers, takes the highest, and resolves once that index is applied here', async () => {
    const r = reader();
    const read = watch(r.reads.read());
    await flush();
    expect(r.requests).toHaveLength(1);
    const [nonce] = r.requests;
    expect(r.reads.receive('n1', nonce, 7)).toBe('accepted');
    await flush();
    // Two of four (with its own) is short of the quorum of three.
    expect(read).toEqual({});
    expect(r.reads.receive('n1', nonce, 9)).toBe('ignored');
    expect(r.reads.receive('n2', nonce, 6)).toBe('accepted');
    await flush();
    // The highest answer, 7, is not applied yet.
    expect(read).toEqual({});
    r.apply(6);
    await flush();
    expect(read).toEqual({});
    r.apply(7);
    await flush();
    expect(read).toEqual({ value: 7 });
    expect(r.reads.waiting).toBe(0);
  });

  it('ignores answers from non-members, to reads it does not hold, and asks again while short', async () => {
    const r = reader();
    const read = watch(r.reads.read());
    await flush();
    const [nonce] = r.requests;
    expect(r.reads.receive('mallory', nonce, 100)).toBe('accepted');
    expect(r.reads.receive('n1', 'other-nonce', 100)).toBe('ignored');
    r.clock.increment(200);
    await flush();
    expect(r.requests).toEqual([nonce, nonce]);
    r.reads.receive('n1', nonce, 5);
    await flush();
    // mallory weighs nothing: still short.
    expect(read).toEqual({});
    r.reads.receive('n3', nonce, 5);
    await flush();
    // 100 came from a non-member and does not count as the highest.
    expect(read).toEqual({ value: 5 });
  });

  it('expires at its deadline when a member answered an index never applied here, and keeps nothing', async () => {
    const r = reader();
    const read = watch(r.reads.read(1_000));
    await flush();
    const [nonce] = r.requests;
    r.reads.receive('n1', nonce, 1_000_000);
    r.reads.receive('n2', nonce, 5);
    await flush();
    expect(r.reads.waiting).toBe(1);
    r.clock.increment(1_000);
    await flush();
    expect(read.error).toBeInstanceOf(ReadIndexError);
    expect((read.error as ReadIndexError).code).toBe('expired');
    expect(r.reads.waiting).toBe(0);
    // No more requests for it.
    const sent = r.requests.length;
    r.clock.increment(1_000);
    await flush();
    expect(r.requests).toHaveLength(sent);
  });

  it('expires when no quorum answers, by default after ten seconds', async () => {
    const r = reader();
    const read = watch(r.reads.read());
    await flush();
    r.clock.increment(9_999);
    await flush();
    expect(read).toEqual({});
    r.clock.increment(1);
    await flush();
    expect((read.error as ReadIndexError).code).toBe('expired');
    expect(r.requests.length).toBeGreaterThan(1);
  });

  it('bounds the reads waiting, refuses without a relay, and settles what waits when stopped', async () => {
    const r = reader();
    const reads = Array.from({ length: MAX_PENDING_READS }, () => watch(r.reads.read()));
    await expect(r.reads.read()).rejects.toMatchObject({ code: 'too_many_pending' });
    r.reads.abandon();
    await flush();
    expect(reads.every((read) => (read.error as ReadIndexError | undefined)?.code === 'stopped')).toBe(true);
    expect(r.reads.waiting).toBe(0);
    await expect(reader({ relay: false }).reads.read()).rejects.toMatchObject({ code: 'not_configured' });
  });

  it('does not count its own answer while it cannot tell, and answers peers only when it can', async () => {
    const r = reader();
    r.setReport(null);
    expect(r.reads.answer(new Peer('n1'), 'x')).toBe(false);
    const read = watch(r.reads.read());
    await flush();
    const [nonce] = r.requests;
    r.reads.receive('n1', nonce, 5);
    r.reads.receive('n2', nonce, 5);
    await flush();
    expect(read).toEqual({});
    r.reads.receive('n3', nonce, 5);
    await flush();
    expect(read).toEqual({ value: 5 });
    r.setReport(8);
    expect(r.reads.answer(new Peer('n1'), 'x')).toBe(true);
    await flush();
    expect(r.answers).toEqual([{ to: 'n1', nonce: 'x', index: 8 }]);
  });
});

describe('what a member answers', () => {
  const context = { activeRank: 4, confirmedAttempt: -1, confirmationSentAttempt: -1, lock: null, restored: null };

  it('is the rank it committed, one more once it confirmed the next, and nothing before its safety data is read back', () => {
    expect(reportOf({ value: { voting: 'awaitingVotes' }, context })).toBe(4);
    expect(reportOf({ value: { voting: 'awaitingVotes' }, context: { ...context, confirmationSentAttempt: 0 } })).toBe(5);
    expect(reportOf({ value: { verifying: 'x' }, context: { ...context, confirmedAttempt: 2 } })).toBe(5);
    const restored = { rank: 5, confirmedAttempt: 1, votedAttempt: 1, lock: null, valid: null, proposal: null } as never;
    expect(reportOf({ value: { loading: 'synchronizing' }, context: { ...context, restored } })).toBe(5);
    expect(reportOf({ value: 'stopped', context })).toBeNull();
    expect(reportOf({ value: { starting: 'restoring' }, context })).toBeNull();
  });
});
