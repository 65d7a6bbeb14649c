import { LedgerNode } from '../../examples/ledger/LedgerNode';
import { ledgerCoordination, serviceEntry } from '../../examples/ledger/serviceEntries';
import type { LedgerBatch, LedgerFrame, LedgerPeer, LedgerVote } from '../../examples/ledger/types';
import { ConsensusConfigError } from '../../engine/errors';
import type { ElectionMessage } from '../../machines/election.schemas';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNode, type ConsensusNode, type WithCoordination } from '../../node/createNode';
import { openNode } from '../../node/openNode';
import { createSeededRandom } from '../../providers/random';
import { SimulatedNetwork } from '../../simulator/simulatedNetwork';
import { InMemoryElectionStorage } from '../../providers/storage';
import { CoordinationError } from '../../services/coordinationError';
import type { CoordinationHost } from '../../services/host';
import { EventClock } from '../../simulator/EventClock';
import { simulationKeys } from '../../simulator/keys';
import { timeoutsFor } from '../../simulator/setup';
import type { LedgerMessage } from '../../examples/ledger/messages';

type Plain = ConsensusNode<LedgerFrame, LedgerVote, LedgerPeer, LedgerBatch, string>;
type Node = WithCoordination<Plain>;
type Message = { channel: 'round'; body: LedgerMessage } | { channel: 'election'; body: ElectionMessage };

const NAMES = ['n0', 'n1', 'n2', 'n3'];
const PATIENCE_MS = 40;
const SYNC_WAIT_MS = 20;
const PROOF_MS = { min: 2, max: 6 };

interface Cluster {
  clock: EventClock;
  nodes: Map<string, Node>;
  hosts: Map<string, CoordinationHost<LedgerFrame>>;
  /** Runs the cluster until `promise` settles; its value, or what it threw. */
  settle<T>(promise: Promise<T>): Promise<T>;
  stop(): void;
}

/** Four ledger nodes (`createNode` with `coordination`) on one simulated clock and a lossless network. */
function coordinatedCluster(seed = 5): Cluster {
  const clock = new EventClock();
  const keys = simulationKeys(NAMES, seed);
  const root = createSeededRandom(seed);
  const network = new SimulatedNetwork<Message>({ clock, random: root.fork(), latency: { min: 1, max: 4 } });
  const ledgers = new Map<string, LedgerNode>();
  const nodes = new Map<string, Node>();
  const hosts = new Map<string, CoordinationHost<LedgerFrame>>();
  let entries = 0;
  for (const name of NAMES) {
    const ledger = new LedgerNode({
      self: name,
      members: NAMES,
      clock,
      random: root.fork(),
      send: (to, body) => network.send(name, to, { channel: 'round', body }),
      keys: { privateKey: keys.privateKeyOf(name), publicKeys: keys.publicKeys, verifier: keys.verifier },
      proofMs: PROOF_MS,
      patienceMs: PATIENCE_MS,
      syncWaitMs: SYNC_WAIT_MS,
    });
    const config = ledger.engineConfig();
    const storage = new InMemoryElectionStorage();
    const host = ledgerCoordination();
    const node = createNode({
      ...config,
      timeouts: { ...config.timeouts, ...timeoutsFor(PATIENCE_MS, SYNC_WAIT_MS, PROOF_MS.max) },
      election: { storage, random: root.fork() },
      storage,
      coordination: { host, encode: (kind, body) => serviceEntry(kind, body, `${name}-${entries++}`) },
    });
    ledger.attach(node);
    node.onOutbound((to, body) => network.send(name, to.identity(), { channel: 'election', body }));
    network.attach(name, (from, message) => {
      if (message.channel === 'round') ledger.deliver(from, message.body);
      else node.receiveElectionMessage(from, message.body);
    });
    ledgers.set(name, ledger);
    nodes.set(name, node);
    hosts.set(name, host);
  }
  for (const ledger of ledgers.values()) ledger.start();
  return {
    clock,
    nodes,
    hosts,
    async settle<T>(promise: Promise<T>): Promise<T> {
      let done = false;
      const settled = promise.finally(() => {
        done = true;
      });
      // A rejection is the caller's to see, through `settled`; this one only waits.
      settled.catch(() => {});
      await clock.runUntil(() => done, clock.now() + 30_000);
      expect(done).toBe(true);
      return settled;
    },
    stop() {
      for (const ledger of ledgers.values()) ledger.halt();
      for (const node of nodes.values()) node.actor.stop();
    },
  };
}

describe('a node configured with coordination has kv, locks and barriers over its own log', () => {
  let cluster: Cluster | undefined;
  afterEach(() => {
    cluster?.stop();
    cluster = undefined;
  });

  it('put on one node, a linearizable get on another, and every replica holds the same services', async () => {
    cluster = coordinatedCluster();
    const { nodes, settle } = cluster;
    const put = await settle(nodes.get('n0')!.kv.put('config/leader', { id: 'n0' }, { writer: 'app' }));
    expect(put).toMatchObject({ key: 'config/leader', resolution: 'none', siblings: 1 });
    const read = await settle(nodes.get('n2')!.kv.get('config/leader'));
    expect(read).toMatchObject({ found: true, values: [{ id: 'n0' }] });
    expect(read.index).toBeGreaterThan(put.index);
    const page = await settle(nodes.get('n3')!.kv.keys({ prefix: 'config/' }));
    expect(page).toMatchObject({ keys: ['config/leader'], more: false });
    await cluster.clock.runUntil(() => [...cluster!.hosts.values()].every((host) => host.applied >= page.index), cluster.clock.now() + 10_000);
    expect(new Set([...cluster.hosts.values()].map((host) => JSON.stringify(host.snapshot()))).size).toBe(1);
  });

  it('a lock grants a fencing token; a write under the released token is refused; the next holder writes under its own', async () => {
    cluster = coordinatedCluster();
    const { nodes, settle } = cluster;
    const alice = nodes.get('n1')!;
    const bob = nodes.get('n3')!;
    const first = await settle(alice.locks.acquire('jobs', 'alice', { leaseMs: 60_000 }));
    expect(first).toMatchObject({ status: 'granted' });
    const queued = await settle(bob.locks.acquire('jobs', 'bob', { leaseMs: 60_000 }));
    expect(queued).toMatchObject({ status: 'queued', position: 1 });
    const oldToken = (first as { token: number }).token;
    await settle(alice.kv.put('jobs/state', 'alice', { writer: 'alice', fence: { lock: 'jobs', token: oldToken } }));
    await settle(alice.locks.release('jobs', 'alice', oldToken));
    // The queued owner holds it now, with a larger token.
    const held = await settle(bob.locks.get('jobs'));
    expect(held.holder).toMatchObject({ owner: 'bob' });
    const newToken = held.holder!.token;
    expect(newToken).toBeGreaterThan(oldToken);
    const late = settle(alice.kv.put('jobs/state', 'late', { writer: 'alice', fence: { lock: 'jobs', token: oldToken } }));
    await expect(late).rejects.toBeInstanceOf(CoordinationError);
    await expect(late).rejects.toMatchObject({ code: 'stale_fence_token', index: expect.any(Number) });
    await settle(bob.kv.put('jobs/state', 'bob', { writer: 'bob', fence: { lock: 'jobs', token: newToken } }));
    expect(await settle(alice.kv.get('jobs/state'))).toMatchObject({ values: ['bob'] });
  });

  it('a barrier releases once every participant has arrived, each through its own node; wait sleeps on the node clock', async () => {
    cluster = coordinatedCluster();
    const { nodes, settle } = cluster;
    const { generation } = await settle(nodes.get('n0')!.barriers.create('start', ['a', 'b']));
    const a = await settle(nodes.get('n1')!.barriers.arrive('start', 'a'));
    expect(a).toMatchObject({ status: 'waiting', generation, arrived: 1, required: 2 });
    const waiting = nodes.get('n1')!.barriers.wait('start', 'a', { deadline: cluster.clock.now() + 20_000, pollMs: 50, consistency: 'linearizable' });
    const b = await settle(nodes.get('n2')!.barriers.arrive('start', 'b'));
    expect(b).toMatchObject({ status: 'released', generation });
    expect(await settle(waiting)).toMatchObject({ barrier: 'start', generation, outcome: 'released' });
  });

  it('key spaces: a reject space refuses a concurrent write that a last-writer-wins key takes', async () => {
    cluster = coordinatedCluster();
    const kv = cluster.nodes.get('n0')!.kv;
    const { settle } = cluster;
    expect(await settle(kv.setKeySpace('strict/', 'reject'))).toMatchObject({ keySpaces: 1 });
    expect(await settle(kv.config())).toMatchObject({ keySpaces: [{ prefix: 'strict/', strategy: 'reject' }], defaultStrategy: 'last-writer-wins' });
    await settle(kv.put('strict/x', 1, { writer: 'a' }));
    await expect(settle(kv.put('strict/x', 2, { writer: 'b' }))).rejects.toMatchObject({ code: 'concurrent_write' });
    await settle(kv.put('loose/x', 1, { writer: 'a' }));
    expect(await settle(kv.put('loose/x', 2, { writer: 'b' }))).toMatchObject({ resolution: 'last-writer-wins' });
    expect(await settle(kv.clearKeySpace('strict/'))).toMatchObject({ keySpaces: 0 });
    expect(await settle(kv.put('strict/x', 3, { writer: 'b' }))).toMatchObject({ resolution: 'last-writer-wins' });
  });

  it('a malformed call throws before anything is proposed', async () => {
    cluster = coordinatedCluster();
    const node = cluster.nodes.get('n0')!;
    await expect(node.kv.setKeySpace('p/', 'newest' as never)).rejects.toMatchObject({ code: 'invalid_command' });
    await expect(node.locks.acquire('', 'x')).rejects.toMatchObject({ code: 'invalid_command' });
    expect(node.getPendingProposalCount()).toBe(0);
  });
});

describe('the coordination option of createNode', () => {
  function ledgerConfig() {
    const clock = new EventClock();
    const keys = simulationKeys(NAMES, 1);
    const ledger = new LedgerNode({
      self: 'n0',
      members: NAMES,
      clock,
      random: createSeededRandom(1),
      send: () => {},
      keys: { privateKey: keys.privateKeyOf('n0'), publicKeys: keys.publicKeys, verifier: keys.verifier },
    });
    const storage = new InMemoryElectionStorage();
    return { ...ledger.engineConfig(), election: { storage, random: createSeededRandom(2) }, storage };
  }

  it('without it the node has no clients, in its type or at run time', () => {
    const node: Plain = createNode(ledgerConfig());
    // @ts-expect-error: only a node configured with coordination has kv
    expect(node.kv).toBeUndefined();
    node.actor.stop();
  });

  it('refuses a stateMachine that is not the coordination host', () => {
    const encode = (kind: 'command' | 'read', body: unknown) => serviceEntry(kind, body, 'x');
    expect(() => createNode({ ...ledgerConfig(), stateMachine: ledgerCoordination(), coordination: { host: ledgerCoordination(), encode } })).toThrow(ConsensusConfigError);
    expect(() => createNode({ ...ledgerConfig(), coordination: { host: {} as never, encode } })).toThrow(/readStale/);
    const host = ledgerCoordination();
    const node = createNode({ ...ledgerConfig(), stateMachine: host, coordination: { host, encode } });
    expect(typeof node.locks.acquire).toBe('function');
    node.actor.stop();
  });

  it('openNode takes it too, and its durable node has the clients', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'coordination-node-'));
    try {
      const { storage: _storage, election, ...config } = ledgerConfig();
      const node = await openNode({
        ...config,
        dataDir: dir,
        election: { random: election.random },
        coordination: { host: ledgerCoordination(), encode: (kind, body) => serviceEntry(kind, body, 'x') },
      });
      expect(Object.keys(node)).toEqual(expect.arrayContaining(['kv', 'locks', 'barriers', 'store', 'close']));
      await node.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
