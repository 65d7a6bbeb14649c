import { join } from 'node:path';
import type { Unique } from '../providers/unique';
import { openNodeStore, type NodeStore, type NodeStoreOptions } from '../storage/nodeStore';
import type { NodeConfig, NodeElectionConfig } from './config';
import { createNode, type ConsensusNode, type CoordinatedConfig, type WithCoordination } from './createNode';

/** A node's configuration with a data directory in place of a storage object. */
export interface DurableNodeConfig<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
  PayloadT = never,
> extends Omit<NodeConfig<StateT, VoteT, PeerIDT, CollectedT, PayloadT>, 'election' | 'storage'> {
  /** Where the node keeps its term, vote, lock and commit log; created if missing, one process at a time. */
  dataDir: string;
  election: Omit<NodeElectionConfig, 'storage'>;
  /** Segment size and checkpointing of the store's write-ahead log. */
  store?: NodeStoreOptions;
}

export interface DurableNode<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
  PayloadT = never,
> extends ConsensusNode<StateT, VoteT, PeerIDT, CollectedT, PayloadT> {
  /** The node's store: `recovery` says what opening it found and repaired. */
  readonly store: NodeStore;
  /** Stops the node, waits for what it saved to be durable, and closes its store. */
  close(): Promise<void>;
}

const consoleLogger = { error: (message: string, error: unknown) => console.error(`statechart-consensus: ${message}`, error) };

/**
 * Opens the store in `dataDir` and builds a node over it: the election
 * resumes with its term and vote, the round with its lock and attempts, and
 * the engine at the end of its commit log, whatever the last process did
 * before it stopped or was killed. Rejects, with nothing started, if the
 * store is damaged (`WalCorruptionError`), in use by another process
 * (`DirectoryLockedError`), or its log cannot be the app's (`StoredLogError`).
 * Should the store fail later (a full disk), the node stops, and says so
 * through `traceLogger.error`.
 */
export async function openNode<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
  PayloadT = never,
>(
  config: CoordinatedConfig<DurableNodeConfig<StateT, VoteT, PeerIDT, CollectedT, PayloadT>>,
): Promise<WithCoordination<DurableNode<StateT, VoteT, PeerIDT, CollectedT, PayloadT>>>;
export async function openNode<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
  PayloadT = never,
>(config: DurableNodeConfig<StateT, VoteT, PeerIDT, CollectedT, PayloadT>): Promise<DurableNode<StateT, VoteT, PeerIDT, CollectedT, PayloadT>>;
export async function openNode<
  StateT extends Unique,
  VoteT extends Unique,
  PeerIDT extends Unique,
  CollectedT extends Unique,
  PayloadT = never,
>(config: DurableNodeConfig<StateT, VoteT, PeerIDT, CollectedT, PayloadT>): Promise<DurableNode<StateT, VoteT, PeerIDT, CollectedT, PayloadT>> {
  const { dataDir, store: storeOptions, ...rest } = config;
  let node: ConsensusNode<StateT, VoteT, PeerIDT, CollectedT, PayloadT> | undefined;
  const store = await openNodeStore(join(dataDir, 'store'), {
    ...storeOptions,
    // A node that can no longer save stops altogether: a leader that kept heartbeating could not propose, and nobody would replace it.
    onFailure: (error) => {
      storeOptions?.onFailure?.(error);
      (config.traceLogger ?? consoleLogger).error(`the store in ${dataDir} failed; the node stops`, error);
      void node?.stop();
    },
  });
  try {
    node = createNode({ ...rest, election: { ...config.election, storage: store } } as NodeConfig<StateT, VoteT, PeerIDT, CollectedT, PayloadT>);
  } catch (error) {
    await store.close();
    throw error;
  }
  const built = node;
  return Object.assign(built, {
    store,
    async close() {
      try {
        await built.stop();
      } finally {
        await store.close();
      }
    },
  });
}
