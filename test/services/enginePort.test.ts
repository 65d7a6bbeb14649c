import { payloadCluster, type Block, type PayloadCluster } from '../../bench/payloadCluster';
import { commands, queries } from '../../services/commandBuilders';
import { enginePort } from '../../services/enginePort';
import type { CoordinationConfig } from '../../services/coordination';
import { CoordinationHost } from '../../services/host';
import type { CoordinationPort } from '../../services/port';
import { ProposalError } from '../../engine/errors';

/** Commands and reads as payloads of the bench's blocks: `s:<n>:<json>` and `r:<n>:<json>`; a block's time is its height × 100 ms. */
function carried(block: Block) {
  return block.payloads.flatMap((payload) => {
    const match = /^([sr]):\d+:(.*)$/s.exec(payload);
    return match === null ? [] : [{ name: payload, kind: match[1] === 's' ? ('command' as const) : ('read' as const), body: JSON.parse(match[2]) as unknown }];
  });
}

function servicesCluster(config?: CoordinationConfig): { cluster: PayloadCluster; hosts: Map<string, CoordinationHost<Block>>; ports: Map<string, CoordinationPort> } {
  const hosts = new Map<string, CoordinationHost<Block>>();
  const hostFor = (name: string) => {
    const host = new CoordinationHost<Block>({ commandsIn: carried, timeOf: (block) => block.height * 100, config });
    hosts.set(name, host);
    return host;
  };
  const cluster = payloadCluster({ engineConfig: (name) => ({ stateMachine: hostFor(name) }) });
  let counter = 0;
  const encode = (kind: 'command' | 'read', body: unknown) => {
    const text = `${kind === 'command' ? 's' : 'r'}:${counter++}:${JSON.stringify(body)}`;
    if (text.length > 400) throw new ProposalError('too_large', `${text.length} characters`);
    return text;
  };
  const ports = new Map(cluster.names.map((name) => [name, enginePort({ node: cluster.engine(name), host: hosts.get(name)!, encode })]));
  return { cluster, hosts, ports };
}

describe('enginePort: the services through the commit log of an in-process cluster', () => {
  let cluster: PayloadCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
  });

  async function settle<T>(c: PayloadCluster, promise: Promise<T>): Promise<T> {
    let done = false;
    let value: T | undefined;
    void promise.then((v) => {
      done = true;
      value = v;
    });
    expect(await c.runUntil(() => done)).toBe(true);
    return value as T;
  }

  it('a read by index on another node sees an acknowledged write, and commits nothing for it', async () => {
    const built = servicesCluster();
    cluster = built.cluster;
    for (const engine of cluster.engines.values()) engine.start();
    const put = await settle(cluster, built.ports.get('n0')!.submit(commands.put('k', 'v1', { writer: 'w' })));
    expect(put).toMatchObject({ outcome: 'committed' });
    const committedBefore = cluster.engine('n0').getActiveRank();
    const read = await settle(cluster, built.ports.get('n3')!.query(queries.get('k'), { consistency: 'read-index' }));
    expect(read).toMatchObject({ outcome: 'answered', answer: { ok: true, value: { found: true, values: ['v1'] } } });
    expect((read as { index: number }).index).toBeGreaterThanOrEqual((put as { index: number }).index);
    // Answered from the applied state: no read entry was committed for it.
    const logged = cluster.engine('n0').log.range(1, cluster.engine('n0').getActiveRank()).flatMap((entry) => entry.payload.payloads);
    expect(logged.filter((payload) => payload.startsWith('r:'))).toEqual([]);
    expect(committedBefore).toBeGreaterThan(0);
  });

  it('a read by index ends expired when no quorum answers by its deadline, and aborted on a node that cannot read by index', async () => {
    const built = servicesCluster();
    cluster = built.cluster;
    const n3 = cluster.engine('n3');
    n3.start();
    const read = await settle(cluster, built.ports.get('n3')!.query(queries.get('k'), { consistency: 'read-index', deadline: cluster.clock.now() + 500 }));
    expect(read).toEqual({ outcome: 'expired' });
    const port = enginePort({ node: { propose: n3.propose.bind(n3) }, host: built.hosts.get('n3')!, encode: () => 'r:0:{}' });
    expect(await port.query(queries.get('k'), { consistency: 'read-index' })).toMatchObject({ outcome: 'aborted' });
  });

  it('a command answers from its place in the log; a linearizable read on another node sees it; every replica agrees', async () => {
    const built = servicesCluster();
    cluster = built.cluster;
    for (const engine of cluster.engines.values()) engine.start();
    const put = await settle(cluster, built.ports.get('n0')!.submit(commands.put('k', 'v1', { writer: 'w' })));
    expect(put).toMatchObject({ outcome: 'committed', result: { ok: true, value: { key: 'k' } } });
    const read = await settle(cluster, built.ports.get('n3')!.query(queries.get('k')));
    expect(read).toMatchObject({ outcome: 'answered', answer: { ok: true, value: { found: true, values: ['v1'] } } });
    expect((read as { index: number }).index).toBeGreaterThan((put as { index: number }).index);
    await cluster.runUntil(() => [...built.hosts.values()].every((host) => host.applied >= (read as { index: number }).index));
    const snapshots = [...built.hosts.values()].map((host) => JSON.stringify(host.state.snapshot()));
    expect(new Set(snapshots).size).toBe(1);
  });

  it('a lock grants a fencing token, a write with an older token is refused by the log, and a stale read answers locally at once', async () => {
    const built = servicesCluster();
    cluster = built.cluster;
    for (const engine of cluster.engines.values()) engine.start();
    const port = built.ports.get('n1')!;
    const first = (await settle(cluster, port.submit(commands.acquire('L', 'alice', { leaseMs: 200 })))) as { result: { value: { token: number } } };
    const oldToken = first.result.value.token;
    // The lease is measured in committed time (100 ms a height here): it ends a few heights on.
    await cluster.runUntil(() => built.hosts.get('n1')!.applied >= 5);
    const second = (await settle(cluster, port.submit(commands.acquire('L', 'bob', { leaseMs: 10_000 })))) as { result: { value: { status: string; token: number } } };
    expect(second.result.value).toMatchObject({ status: 'granted' });
    expect(second.result.value.token).toBeGreaterThan(oldToken);
    const stale = await settle(cluster, port.submit(commands.put('guarded', 'late', { writer: 'alice', fence: { lock: 'L', token: oldToken } })));
    expect(stale).toMatchObject({ outcome: 'committed', result: { ok: false } });
    const fresh = await settle(cluster, port.submit(commands.put('guarded', 'ok', { writer: 'bob', fence: { lock: 'L', token: second.result.value.token } })));
    expect(fresh).toMatchObject({ outcome: 'committed', result: { ok: true } });
    const local = await port.query(queries.get('guarded'), { consistency: 'stale' });
    expect(local).toMatchObject({ outcome: 'answered', answer: { ok: true, value: { values: ['ok'] } } });
  });

  it('concurrent writes from two nodes to a key space with an application merge: every replica holds the merged value', async () => {
    // Not commutative by itself: the store's canonical order makes the result independent of which write commits first.
    const joined = (values: readonly unknown[]) => values.map(String).join('+');
    const built = servicesCluster({ kv: { merges: { joined } } });
    cluster = built.cluster;
    for (const engine of cluster.engines.values()) engine.start();
    const space = await settle(cluster, built.ports.get('n0')!.submit(commands.setKeySpace('tags/', 'merge:app:joined')));
    expect(space).toMatchObject({ outcome: 'committed', result: { ok: true } });
    // Blind writes by two writers: concurrent by their clocks, whatever order the log gives them.
    const writes = Promise.all([
      built.ports.get('n1')!.submit(commands.put('tags/k', 'red', { writer: 'w1' })),
      built.ports.get('n2')!.submit(commands.put('tags/k', 'blue', { writer: 'w2' })),
    ]);
    const outcomes = await settle(cluster, writes);
    expect(outcomes.every((outcome) => outcome.outcome === 'committed' && (outcome.result as { ok: boolean }).ok)).toBe(true);
    const last = Math.max(...outcomes.map((outcome) => (outcome as { index: number }).index));
    await cluster.runUntil(() => [...built.hosts.values()].every((host) => host.applied >= last));
    for (const host of built.hosts.values()) {
      expect(host.state.query(queries.get('tags/k'))).toMatchObject({ ok: true, value: { values: ['blue+red'] } });
    }
    const snapshots = [...built.hosts.values()].map((host) => JSON.stringify(host.state.snapshot()));
    expect(new Set(snapshots).size).toBe(1);
  });

  it('a payload the app cannot carry is aborted with the reason, and nothing is proposed', async () => {
    const built = servicesCluster();
    cluster = built.cluster;
    const outcome = await built.ports.get('n0')!.submit(commands.put('k', 'x'.repeat(500), { writer: 'w' }));
    expect(outcome).toEqual({ outcome: 'aborted', reason: expect.stringMatching(/too_large/) });
    expect(cluster.engine('n0').getPendingProposalCount()).toBe(0);
  });
});
