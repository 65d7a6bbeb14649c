import { randomBytes, randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { createEngineMetrics, createMetricsRegistry } from '../engine/metrics';
import { LEDGER_CHAIN_ID } from '../examples/ledger/engineConfig';
import { LedgerNode } from '../examples/ledger/LedgerNode';
import { ledgerCoordination, serviceEntry } from '../examples/ledger/serviceEntries';
import type { LedgerPayload } from '../examples/ledger/nodeTypes';
import type { LedgerBatch, LedgerFrame, LedgerPeer, LedgerVote } from '../examples/ledger/types';
import { ElectionMessageError } from '../machines/election.schemas';
import type { PeerTransport } from '../net/transport';
import { startClientApi, type ClientApi } from '../node/clientApi';
import type { WithCoordination } from '../node/createNode';
import { openNode, type DurableNode } from '../node/openNode';
import { systemClock } from '../providers/clock';
import { createSeededRandom } from '../providers/random';
import { ledgerBackend } from './clientBackend';
import { DEFAULT_TIMING, type NodeFileConfig, type NodeKeyFile } from './config';
import { ledgerMembership } from './membershipBackend';
import { openMemberTransport, type WireMessage } from './memberTransport';
import { startMetricsServer, type MetricsServer } from './metricsServer';
import { attachTransportMetrics } from './transportMetrics';

export type ServerNode = WithCoordination<DurableNode<LedgerFrame, LedgerVote, LedgerPeer, LedgerBatch, LedgerPayload>>;
export type { WireMessage } from './memberTransport';

export interface RunningNode {
  readonly id: string;
  readonly clientUrl: string;
  readonly node: ServerNode;
  readonly transport: PeerTransport<WireMessage>;
  /** Stops taking clients, stops the node (its store durable and closed), then the transport. */
  stop(): Promise<void>;
}

/** Election timing over a real network: loopback answers in well under a millisecond, a LAN in a few. */
const NETWORK_ELECTION_TIMING = { electionTimeoutMinMs: 300, electionTimeoutMaxMs: 600, heartbeatIntervalMs: 75 };

/**
 * One member of a real cluster: the demo ledger's node over a durable
 * `openNode`, talking to its peers through the authenticated TCP transport,
 * and serving clients over HTTP. The ledger is the app: a client's payload
 * becomes an entry of the next frame.
 */
export async function startLedgerServer(config: NodeFileConfig, keys: NodeKeyFile, logger: Logger): Promise<RunningNode> {
  // The founders, when the membership changes through the log; else every configured node, for good.
  const members = config.founders ?? config.members.map((member) => member.id);
  const publicKeys = Object.fromEntries(config.members.map((member) => [member.id, member.publicKey.toLowerCase()]));
  const transport = await openMemberTransport(config, keys, logger);
  const random = createSeededRandom(randomInt(2 ** 47));
  const patienceMs = config.timing?.patienceMs ?? DEFAULT_TIMING.patienceMs;
  const ledger = new LedgerNode({
    self: config.id,
    members,
    ...(config.founders === undefined ? {} : { membershipChanges: true, peers: config.members.map((member) => member.id) }),
    clock: systemClock,
    random: random.fork(),
    send: (to, body) => void transport.send(to, { channel: 'round', body }),
    keys: { privateKey: keys.privateKey, publicKeys },
    // A real prover's work is the frame itself; an idle one waits, so an idle cluster does not spin.
    proofMs: { min: 0, max: 0 },
    idleProofMs: config.timing?.idleFrameMs ?? DEFAULT_TIMING.idleFrameMs,
    patienceMs,
    ...(config.messaging === undefined ? {} : { messaging: config.messaging }),
  });
  // The coordination services are the engine's state machine: rebuilt from the stored snapshot and log on restart.
  // No application KV merges: a config file holds no functions, so `merge:app:<name>` spaces need a node built in code.
  const services = ledgerCoordination();
  // Given to the engine, not attached afterwards: refusals and settled proposals are counted inside it.
  const registry = createMetricsRegistry();
  const metrics = createEngineMetrics({ registry, labels: { node: config.id } });
  let node: ServerNode;
  try {
    node = await openNode({
      ...ledger.engineConfig(),
      coordination: { host: services, encode: (kind, body) => serviceEntry(kind, body, randomBytes(9).toString('base64url')) },
      metrics,
      dataDir: config.dataDir,
      election: { random: random.fork(), timing: NETWORK_ELECTION_TIMING },
      traceLogger: {
        trace: (message) => logger.trace({ part: 'engine' }, message),
        error: (message, error) => logger.error({ part: 'engine', err: error }, message),
      },
    });
  } catch (error) {
    await transport.close();
    throw error;
  }
  // The ledger's frames are the engine's log: a restarted process answers peers' syncs from what it committed before.
  const tail = node.log.tail()?.index ?? 0;
  for (const entry of node.log.range(1, tail)) ledger.store.append(entry.payload);
  ledger.attach(node);
  node.onOutbound((to, body) => void transport.send(to.identity(), { channel: 'election', body }));
  transport.onMessage((from, message) => {
    if (message.channel === 'round') {
      ledger.deliver(from, message.body);
      return;
    }
    try {
      node.receiveElectionMessage(from, message.body);
    } catch (error) {
      if (!(error instanceof ElectionMessageError)) throw error;
      logger.debug({ part: 'election', from, code: error.code }, 'election message refused');
    }
  });
  attachTransportMetrics(registry, transport, { node: config.id });
  node.onCommit(({ rank, attempt }) => logger.debug({ part: 'engine', rank, attempt }, 'committed'));
  node.onLeaderChange((leader, term) => logger.info({ part: 'election', leader: leader?.identity() ?? null, term }, 'leader'));

  const backend = {
    ...ledgerBackend({ node, transport, registry, members: config.members, chainId: LEDGER_CHAIN_ID, self: config.id }),
    coordination: { kv: node.kv, locks: node.locks, barriers: node.barriers },
    ...(config.founders === undefined ? {} : { membership: ledgerMembership({ node, nodes: config.members, rankWindow: ledger.rankWindow }) }),
  };
  let client: ClientApi;
  let metricsOnly: MetricsServer | null = null;
  try {
    client = await startClientApi({ host: config.client.host, port: config.client.port, backend, logger: logger.child({ part: 'client' }) });
    if (config.metrics) metricsOnly = await startMetricsServer(config.metrics.host, config.metrics.port, registry);
  } catch (error) {
    await node.close();
    await transport.close();
    throw error;
  }
  ledger.start();
  logger.info({ id: config.id, clientUrl: client.url, height: tail, recovery: node.store.recovery }, 'node started');

  let stopping: Promise<void> | null = null;
  return {
    id: config.id,
    clientUrl: client.url,
    node,
    transport,
    stop: () =>
      (stopping ??= (async () => {
        await client.close();
        await metricsOnly?.close();
        ledger.halt();
        await node.close();
        await transport.close();
        logger.info({ id: config.id }, 'node stopped');
      })()),
  };
}
