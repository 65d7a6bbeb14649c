import { createEngineMetrics, ProposalError, type ProposalOutcome } from '../../index';
import { payloadCluster, type PayloadCluster } from '../../bench/payloadCluster';

/** Settles `promise` into a readable value, without leaving a rejection unhandled. */
function track<T>(promise: Promise<T>): { value?: T; error?: unknown; done: boolean } {
  const box: { value?: T; error?: unknown; done: boolean } = { done: false };
  promise.then(
    (value) => Object.assign(box, { value, done: true }),
    (error: unknown) => Object.assign(box, { error, done: true }),
  );
  return box;
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

/** The index of the entry whose block carries `payload` in `name`'s log, if any. */
function indexIn(cluster: PayloadCluster, name: string, payload: string): number | undefined {
  const log = cluster.engine(name).log;
  return log.range(0, Number.MAX_SAFE_INTEGER).find((entry) => entry.payload.payloads.includes(payload))?.index;
}

describe('engine.propose', () => {
  let cluster: PayloadCluster;
  afterEach(async () => {
    await cluster?.stop();
  });

  it('commits a payload proposed on a node that is not the next prover, and says at which index', async () => {
    cluster = payloadCluster();
    for (const engine of cluster.engines.values()) engine.start();
    // n0 proves heights 4, 8, …; height 1 is n1's, which has it only by forwarding.
    const outcome = track(cluster.engine('n0').propose('pay-1'));
    expect(await cluster.runUntil(() => outcome.done)).toBe(true);
    const settled = outcome.value as Extract<ProposalOutcome, { outcome: 'committed' }>;
    expect(settled.outcome).toBe('committed');
    expect(settled.index).toBe(1);
    expect(cluster.engine('n0').log.get(1)!.payload.prover).toBe('n1');
    await cluster.runUntil(() => cluster.names.every((name) => indexIn(cluster, name, 'pay-1') !== undefined));
    for (const name of cluster.names) expect(indexIn(cluster, name, 'pay-1')).toBe(1);
    expect(cluster.engine('n0').getPendingProposalCount()).toBe(0);
    expect(cluster.sent.get('payload')).toBe(3);
  });

  it('batches: many payloads proposed at once commit in one block', async () => {
    cluster = payloadCluster();
    for (const engine of cluster.engines.values()) engine.start();
    const names = Array.from({ length: 100 }, (_, i) => `p${i}`);
    const outcomes = names.map((payload, i) => track(cluster.engine(cluster.names[i % 4]).propose(payload)));
    expect(await cluster.runUntil(() => outcomes.every((o) => o.done))).toBe(true);
    const indices = new Set(outcomes.map((o) => (o.value as { index: number }).index));
    expect(outcomes.every((o) => o.value?.outcome === 'committed')).toBe(true);
    expect(indices).toEqual(new Set([1]));
    expect(cluster.engine('n2').log.get(1)!.payload.payloads).toHaveLength(100);
  });

  it('keeps each batch within maxBatch and maxBatchBytes', async () => {
    cluster = payloadCluster({ proposals: { maxBatch: 7, maxBatchBytes: 50 } });
    for (const engine of cluster.engines.values()) engine.start();
    // Each payload is 7 bytes of JSON ("qNNNN" with quotes): 50 bytes hold 7 of them.
    const outcomes = Array.from({ length: 30 }, (_, i) => track(cluster.engine('n1').propose(`q${String(i).padStart(4, '0')}`)));
    expect(await cluster.runUntil(() => outcomes.every((o) => o.done))).toBe(true);
    const blocks = cluster.engine('n1').log.range(0, 100).map((entry) => entry.payload.payloads.length);
    expect(Math.max(...blocks)).toBe(7);
    expect(blocks.reduce((a, b) => a + b, 0)).toBe(30);
    expect(cluster.engine('n1').log.range(0, 100).flatMap((entry) => entry.payload.payloads)).toEqual(
      Array.from({ length: 30 }, (_, i) => `q${String(i).padStart(4, '0')}`),
    );
  });

  it('refuses a payload larger than a batch holds, queuing nothing', async () => {
    cluster = payloadCluster({ proposals: { maxBatchBytes: 16 } });
    await expect(cluster.engine('n0').propose('x'.repeat(20))).rejects.toMatchObject({ code: 'too_large' });
    expect(cluster.engine('n0').getPendingProposalCount()).toBe(0);
  });

  it('waits for its own turn to prove when nothing forwards it', async () => {
    cluster = payloadCluster({ forward: false });
    for (const engine of cluster.engines.values()) engine.start();
    const outcome = track(cluster.engine('n3').propose('mine'));
    expect(await cluster.runUntil(() => outcome.done)).toBe(true);
    expect(outcome.value).toEqual({ outcome: 'committed', index: 3 });
    expect(cluster.sent.get('payload')).toBeUndefined();
  });

  it('aborts a payload the app refuses, without queuing or forwarding it', async () => {
    cluster = payloadCluster();
    await expect(cluster.engine('n0').propose('bad-1')).resolves.toEqual({ outcome: 'aborted', reason: 'bad-1 is refused by the app' });
    expect(cluster.engine('n0').getPendingProposalCount()).toBe(0);
    expect(cluster.sent.get('payload')).toBeUndefined();
  });

  it('aborts a queued payload that no longer validates when its batch is drawn', async () => {
    let refuse = false;
    cluster = payloadCluster({ proposals: { validate: () => (refuse ? 'the app changed its mind' : true) } });
    const outcome = track(cluster.engine('n1').propose('late'));
    await flush();
    refuse = true;
    for (const engine of cluster.engines.values()) engine.start();
    expect(await cluster.runUntil(() => outcome.done)).toBe(true);
    expect(outcome.value).toEqual({ outcome: 'aborted', reason: 'the app changed its mind' });
  });

  it('expires a payload whose deadline passes before any commit carries it', async () => {
    cluster = payloadCluster();
    // Not started: nothing can commit.
    const engine = cluster.engine('n0');
    const outcome = track(engine.propose('slow', { deadline: cluster.clock.now() + 500 }));
    await cluster.runUntil(() => false, 499);
    expect(outcome.done).toBe(false);
    expect(engine.getPendingProposalCount()).toBe(1);
    await cluster.runUntil(() => outcome.done, 10);
    expect(outcome.value).toEqual({ outcome: 'expired' });
    expect(engine.getPendingProposalCount()).toBe(0);
    await expect(engine.propose('past', { deadline: cluster.clock.now() })).resolves.toEqual({ outcome: 'expired' });
  });

  it('expires on the default timeout when no deadline is given', async () => {
    cluster = payloadCluster({ proposals: { timeout: 200 } });
    const outcome = track(cluster.engine('n0').propose('slow'));
    await cluster.runUntil(() => outcome.done, 250);
    expect(outcome.value).toEqual({ outcome: 'expired' });
  });

  it('takes at most maxPending of its own; past it a typed error and nothing queued', async () => {
    cluster = payloadCluster({ proposals: { maxPending: 128 } });
    const engine = cluster.engine('n0');
    const accepted = Array.from({ length: 128 }, (_, i) => track(engine.propose(`p${i}`)));
    await flush();
    expect(accepted.some((o) => o.done)).toBe(false);
    expect(engine.getPendingProposalCount()).toBe(128);
    const refused = engine.propose('one-too-many');
    await expect(refused).rejects.toBeInstanceOf(ProposalError);
    await expect(refused).rejects.toMatchObject({ code: 'too_many_pending' });
    expect(engine.getPendingProposalCount()).toBe(128);
    // Once they commit there is room again.
    for (const e of cluster.engines.values()) e.start();
    expect(await cluster.runUntil(() => accepted.every((o) => o.done))).toBe(true);
    expect(accepted.every((o) => o.value?.outcome === 'committed')).toBe(true);
    expect(engine.getPendingProposalCount()).toBe(0);
  });

  it('refuses a duplicate of a pending or recently committed payload', async () => {
    cluster = payloadCluster();
    const engine = cluster.engine('n0');
    const first = track(engine.propose('twice'));
    await expect(engine.propose('twice')).rejects.toMatchObject({ code: 'duplicate' });
    for (const e of cluster.engines.values()) e.start();
    expect(await cluster.runUntil(() => first.done)).toBe(true);
    await expect(engine.propose('twice')).rejects.toMatchObject({ code: 'duplicate' });
    expect(engine.getPendingProposalCount()).toBe(0);
  });

  it('fails pending proposals with `stopped` when the engine stops, and takes none while stopped', async () => {
    cluster = payloadCluster();
    const engine = cluster.engine('n0');
    engine.start();
    const pending = track(engine.propose('never'));
    await engine.stop();
    await flush();
    expect(pending.error).toBeInstanceOf(ProposalError);
    expect((pending.error as ProposalError).code).toBe('stopped');
    await expect(engine.propose('after')).rejects.toMatchObject({ code: 'stopped' });
    expect(engine.getPendingProposalCount()).toBe(0);
  });

  it('commits through a partition of one node: the others batch what it forwarded before', async () => {
    // n3 proposes and is then cut off; its forwarded copy commits anyway.
    let isolated = false;
    cluster = payloadCluster({ cut: (from, to) => isolated && (from === 'n3' || to === 'n3') });
    for (const engine of cluster.engines.values()) engine.start();
    const outcome = track(cluster.engine('n3').propose('escaped'));
    await cluster.runUntil(() => false, 2);
    isolated = true;
    expect(await cluster.runUntil(() => indexIn(cluster, 'n0', 'escaped') !== undefined)).toBe(true);
    for (const name of ['n0', 'n1', 'n2']) await cluster.runUntil(() => indexIn(cluster, name, 'escaped') !== undefined);
    expect(new Set(['n0', 'n1', 'n2'].map((name) => indexIn(cluster, name, 'escaped')))).toEqual(new Set([1]));
    expect(outcome.done).toBe(false);
  });
});

describe('engine.receivePayload', () => {
  let cluster: PayloadCluster;
  afterEach(async () => {
    await cluster?.stop();
  });

  it('refuses a payload from a non-member or from itself, keeping nothing', () => {
    cluster = payloadCluster();
    const engine = cluster.engine('n0');
    expect(() => engine.receivePayload('mallory', 'p')).toThrow(expect.objectContaining({ code: 'not_member' }));
    expect(() => engine.receivePayload('n0', 'p')).toThrow(expect.objectContaining({ code: 'not_member' }));
    expect(engine.receivePayload('n1', 'p')).toBe('accepted');
    expect(engine.receivePayload('n2', 'p')).toBe('duplicate');
  });

  it('refuses what the app refuses, and what cannot be read', () => {
    cluster = payloadCluster();
    const engine = cluster.engine('n0');
    expect(() => engine.receivePayload('n1', 'bad-x')).toThrow(expect.objectContaining({ code: 'invalid' }));
    expect(() => engine.receivePayload('n1', '' as string)).toThrow(expect.objectContaining({ code: 'malformed' }));
    expect(() => engine.receivePayload('n1', 42 as unknown as string)).toThrow(expect.objectContaining({ code: 'malformed' }));
  });

  it('holds at most maxPending payloads per forwarding member, so a faulty one cannot grow the pool', () => {
    cluster = payloadCluster({ proposals: { maxPending: 10 } });
    const engine = cluster.engine('n0');
    for (let i = 0; i < 10; i += 1) expect(engine.receivePayload('n1', `f${i}`)).toBe('accepted');
    expect(() => engine.receivePayload('n1', 'f10')).toThrow(expect.objectContaining({ code: 'too_many_pending' }));
    expect(engine.receivePayload('n2', 'g0')).toBe('accepted');
    expect(engine.getPendingProposalCount()).toBe(0);
  });

  it('drops a forwarded copy once its timeout passes, unless a batch holds it', async () => {
    cluster = payloadCluster({ proposals: { timeout: 100 } });
    const engine = cluster.engine('n0');
    expect(engine.receivePayload('n1', 'stale')).toBe('accepted');
    await cluster.runUntil(() => false, 150);
    // n0 proves height 4 only; start all and check the stale copy is never committed.
    for (const e of cluster.engines.values()) e.start();
    await cluster.runUntil(() => engine.log.size >= 5);
    expect(indexIn(cluster, 'n0', 'stale')).toBeUndefined();
  });
});

describe('without a proposals configuration', () => {
  it('propose and receivePayload refuse with not_configured', async () => {
    const cluster = payloadCluster({ proposals: null });
    const engine = cluster.engine('n0');
    await expect(engine.propose('p')).rejects.toMatchObject({ code: 'not_configured' });
    expect(() => engine.receivePayload('n1', 'p')).toThrow(expect.objectContaining({ code: 'not_configured' }));
    expect(engine.getPendingProposalCount()).toBe(0);
    await cluster.stop();
  });
});

describe('proposal metrics', () => {
  it('counts outcomes, refusals and pending proposals in the engine\'s registry', async () => {
    const metrics = createEngineMetrics({ labels: { node: 'n0' } });
    const cluster = payloadCluster({ metrics: (name) => (name === 'n0' ? metrics : undefined) });
    const engine = cluster.engine('n0');
    for (const e of cluster.engines.values()) e.start();
    const committed = track(engine.propose('good'));
    await expect(engine.propose('bad-1')).resolves.toMatchObject({ outcome: 'aborted' });
    await expect(engine.propose('late', { deadline: 0 })).resolves.toEqual({ outcome: 'expired' });
    expect(() => engine.receiveVote('n1', 'mallory', {} as never)).toThrow();
    expect(await cluster.runUntil(() => committed.done)).toBe(true);
    const text = await metrics.metrics();
    expect(text).toMatch(/consensus_proposals_total\{[^}]*outcome="committed"[^}]*\} 1/);
    expect(text).toMatch(/consensus_proposals_total\{[^}]*outcome="aborted"[^}]*\} 1/);
    expect(text).toMatch(/consensus_proposals_total\{[^}]*outcome="expired"[^}]*\} 1/);
    expect(text).toMatch(/consensus_refusals_total\{[^}]*code="(not_member|malformed)"[^}]*\} 1/);
    expect(text).toMatch(/consensus_pending_proposals\{[^}]*\} 0/);
    await cluster.stop();
  });
});

describe("propose and the app's state machine", () => {
  let cluster: PayloadCluster;
  afterEach(async () => {
    await cluster?.stop();
  });

  /** A counter per node: each payload applied answers with its place in the applied order. */
  function counters() {
    const machines = new Map<string, { seen: string[]; apply(block: { payloads: readonly string[] }): Array<[string, unknown]>; snapshot(): unknown; restore(): void }>();
    const machineFor = (name: string) => {
      const machine = {
        seen: [] as string[],
        apply(block: { payloads: readonly string[] }) {
          return block.payloads.map((payload): [string, unknown] => {
            machine.seen.push(payload);
            return [payload, { order: machine.seen.length, by: name }];
          });
        },
        snapshot: () => machine.seen.length,
        restore: () => undefined,
      };
      machines.set(name, machine);
      return machine;
    };
    return { machines, machineFor };
  }

  it('resolves with what applying the entry answered for the payload, on the node that proposed it', async () => {
    const { machines, machineFor } = counters();
    cluster = payloadCluster({ engineConfig: (name) => ({ stateMachine: machineFor(name) }) });
    for (const engine of cluster.engines.values()) engine.start();
    const outcomes = ['a', 'b', 'c', 'd', 'e'].map((payload, i) => ({ payload, on: cluster.names[i % 4], box: track(cluster.engine(cluster.names[i % 4]).propose(payload)) }));
    expect(await cluster.runUntil(() => outcomes.every((o) => o.box.done))).toBe(true);
    for (const { payload, on, box } of outcomes) {
      const settled = box.value as Extract<ProposalOutcome, { outcome: 'committed' }>;
      expect(settled.outcome).toBe('committed');
      // The answer is the proposer's own machine's: the same place every node gives the payload.
      expect(settled.result).toEqual({ order: machines.get(on)!.seen.indexOf(payload) + 1, by: on });
      const places = cluster.names.map((name) => machines.get(name)!.seen.indexOf(payload));
      expect(new Set(places).size).toBe(1);
    }
  });

  it('has no result when the machine answers nothing, and keeps none for payloads of other names', async () => {
    cluster = payloadCluster({ engineConfig: () => ({ stateMachine: { apply: () => [['not-proposed', 1]], snapshot: () => null, restore: () => undefined } }) });
    for (const engine of cluster.engines.values()) engine.start();
    const box = track(cluster.engine('n2').propose('quiet'));
    expect(await cluster.runUntil(() => box.done)).toBe(true);
    expect(box.value).toEqual({ outcome: 'committed', index: expect.any(Number) });
    expect('result' in (box.value as object)).toBe(false);
  });

  it('still settles, without a result, when the machine throws on the entry (application stops there)', async () => {
    cluster = payloadCluster({
      engineConfig: () => ({
        stateMachine: {
          apply: () => {
            throw new Error('broken app');
          },
          snapshot: () => null,
          restore: () => undefined,
        },
      }),
    });
    for (const engine of cluster.engines.values()) engine.start();
    const box = track(cluster.engine('n1').propose('doomed'));
    expect(await cluster.runUntil(() => box.done)).toBe(true);
    expect(box.value).toMatchObject({ outcome: 'committed' });
    expect('result' in (box.value as object)).toBe(false);
  });
});
