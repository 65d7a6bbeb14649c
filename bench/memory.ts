import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SimulatedClock } from 'xstate';
import { createConsensusEngine, type ConsensusEngine } from '../engine/createConsensusEngine';
import { ledgerCodec } from '../examples/ledger/codec';
import { LedgerBatch, LedgerFrame, LedgerPeer, LedgerVote } from '../examples/ledger/types';
import { createNode, type ConsensusNode } from '../node/createNode';
import { createSeededRandom } from '../providers/random';
import { InMemoryElectionStorage } from '../providers/storage';
import { idleProviders } from '../simulator/idleApp';

/**
 * Heap per idle engine and per idle node: K of each are created and started
 * (four members, the ledger's codec, providers that never answer, so each
 * round machine waits in `loading` on a clock that does not move), and the
 * heap used is read before and after, each reading after a full collection.
 * (heapUsed after − heapUsed before) / K is what one costs; the K are then
 * stopped.
 *
 * - engine: `createConsensusEngine`, the round machine alone;
 * - node: `createNode`, the node machine with the round machine and the
 *   election machine (a follower waiting for its election timeout).
 *
 * The collections need `node --expose-gc`. Without it the collector is
 * switched on from inside the process (V8's `--expose-gc` flag set at run
 * time), which works on the Node versions this package supports; should that
 * fail too, the readings are taken without collections and include whatever
 * garbage is still on the heap: an estimate, and `gc` says so.
 */
export interface IdleMemory {
  /** Heap bytes per idle node (node machine, round machine, election). */
  idleNodeBytes: number;
  /** Heap bytes per idle engine (round machine). */
  idleEngineBytes: number;
  /** Engines and nodes created (each). */
  count: number;
  /**
   * How the heap was collected before each reading: `expose-gc` (the process
   * was started with `--expose-gc`), `runtime` (it was not: the flag was set
   * from inside), `none` (no collections: the figures are estimates).
   */
  gc: 'expose-gc' | 'runtime' | 'none';
}

const MEMBERS = ['n0', 'n1', 'n2', 'n3'];

function collector(): { gc: (() => void) | null; how: IdleMemory['gc'] } {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return { gc: exposed, how: 'expose-gc' };
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    if (typeof gc === 'function') return { gc: gc as () => void, how: 'runtime' };
  } catch {
    // No way to collect: readings without collections.
  }
  return { gc: null, how: 'none' };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** What an idle engine and an idle node are configured with alike. */
const idleConfig = (clock: SimulatedClock, id: string) => ({
  id: new LedgerPeer(id),
  members: MEMBERS.map((name) => new LedgerPeer(name)),
  initialState: LedgerFrame.genesis(),
  providers: idleProviders(),
  codec: ledgerCodec,
  clock,
  warnOnRefusals: false,
});

function idleEngine(clock: SimulatedClock, id: string): ConsensusEngine<LedgerFrame, LedgerVote, LedgerPeer, LedgerBatch> {
  return createConsensusEngine(idleConfig(clock, id));
}

function idleNode(clock: SimulatedClock, id: string, seed: number): ConsensusNode<LedgerFrame, LedgerVote, LedgerPeer, LedgerBatch> {
  const node = createNode({
    ...idleConfig(clock, id),
    election: { storage: new InMemoryElectionStorage(), random: createSeededRandom(seed) },
  });
  node.start();
  return node;
}

/** Heap per idle engine and per idle node over `count` of each (default 200). */
export async function measureIdleMemory(count = 200): Promise<IdleMemory> {
  if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
  const { gc, how } = collector();
  const clock = new SimulatedClock();
  const heap = async () => {
    await flush();
    gc?.();
    gc?.();
    return process.memoryUsage().heapUsed;
  };
  // One of each first, so the code and the shared structures they load are not counted.
  idleEngine(clock, MEMBERS[0]).actor.stop();
  const warm = idleNode(clock, MEMBERS[0], 0);
  await flush();
  warm.actor.stop();

  const engines: ConsensusEngine<LedgerFrame, LedgerVote, LedgerPeer, LedgerBatch>[] = [];
  const before = await heap();
  for (let i = 0; i < count; i += 1) engines.push(idleEngine(clock, MEMBERS[i % MEMBERS.length]));
  const afterEngines = await heap();
  const nodes: ConsensusNode<LedgerFrame, LedgerVote, LedgerPeer, LedgerBatch>[] = [];
  for (let i = 0; i < count; i += 1) nodes.push(idleNode(clock, MEMBERS[i % MEMBERS.length], i + 1));
  const afterNodes = await heap();
  for (const engine of engines) engine.actor.stop();
  for (const node of nodes) node.actor.stop();
  return {
    idleNodeBytes: Math.round((afterNodes - afterEngines) / count),
    idleEngineBytes: Math.round((afterEngines - before) / count),
    count,
    gc: how,
  };
}
