import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { Counter } from 'prom-client';
import { ProposalError } from '../engine/errors';
import { createMetricsRegistry } from '../engine/metrics';
import { signStatement } from '../engine/signing/index';
import { privateKeyObject } from '../engine/signing/keys';
import { LEDGER_CHAIN_ID } from '../examples/ledger/engineConfig';
import { kindOf } from '../examples/ledger/messages';
import type { LedgerFrame } from '../examples/ledger/types';
import { startClientApi, type ClientApi, type ClientBackend } from '../node/clientApi';
import { systemClock } from '../providers/clock';
import { createSeededRandom } from '../providers/random';
import { ByzantineNode } from '../simulator/byzantine';
import { DEFAULT_TIMING, type NodeFileConfig, type NodeKeyFile, type WireByzantineBehaviour } from './config';
import { memberStatus } from './clientBackend';
import { openMemberTransport } from './memberTransport';
import { startMetricsServer, type MetricsServer } from './metricsServer';
import { ShadowLedger } from './shadowLedger';
import { attachTransportMetrics } from './transportMetrics';

export interface RunningByzantineNode {
  readonly id: string;
  readonly clientUrl: string;
  readonly behaviour: WireByzantineBehaviour;
  stop(): Promise<void>;
}

/**
 * A Byzantine member as a real process, for fault tests: the simulator's
 * scripted `ByzantineNode`, speaking with the member's own key over the same
 * authenticated transport as an honest node (it is a configured member, so
 * every handshake admits it). What the script must know of the honest
 * chain, the frontier and each height's parent, a `ShadowLedger` follows
 * from what the member receives. Like the simulator's, it runs no election
 * and answers none; it keeps no ledger of its own, so nothing is written to
 * its data directory. The client API serves its status and metrics, and
 * refuses proposals (503).
 */
export async function startByzantineServer(config: NodeFileConfig, keys: NodeKeyFile, logger: Logger, behaviour: WireByzantineBehaviour): Promise<RunningByzantineNode> {
  const members = config.members.map((member) => member.id);
  const publicKeys = Object.fromEntries(config.members.map((member) => [member.id, member.publicKey.toLowerCase()]));
  logger.warn({ part: 'byzantine', behaviour }, `this node is Byzantine (${behaviour}): it runs no honest ledger and misbehaves towards its peers`);
  const transport = await openMemberTransport(config, keys, logger);
  const registry = createMetricsRegistry();
  attachTransportMetrics(registry, transport, { node: config.id });
  const sent = new Counter({
    name: 'consensus_byzantine_messages_sent_total',
    help: 'Messages the Byzantine script sent (or tried to: the transport drops what its codec cannot encode), by kind.',
    labelNames: ['node', 'kind'],
    registers: [registry],
  });
  const random = createSeededRandom(randomInt(2 ** 47));
  // Parsed once: reading a seed into a key costs ten times the signature.
  const signingKey = privateKeyObject(keys.privateKey);
  const shadow = new ShadowLedger({
    self: config.id,
    members,
    // It follows the membership through the log as an honest node would: its script acts on the shadow's schedule.
    ...(config.founders === undefined ? {} : { founders: config.founders }),
    privateKey: keys.privateKey,
    publicKeys,
    random: random.fork(),
    // The honest server's defaults: the shadow's attempts keep the honest nodes' pace.
    patienceMs: config.timing?.patienceMs ?? DEFAULT_TIMING.patienceMs,
    idleFrameMs: config.timing?.idleFrameMs ?? DEFAULT_TIMING.idleFrameMs,
    send: (to, body) => void transport.send(to, { channel: 'round', body }),
    logger,
  });
  const script = new ByzantineNode(
    {
      self: config.id,
      members,
      schedule: shadow.ledger.schedule,
      rankWindow: shadow.ledger.rankWindow,
      random: random.fork(),
      send: (to, body) => {
        sent.inc({ node: config.id, kind: kindOf(body) });
        transport.send(to, { channel: 'round', body });
      },
      finalizedAt: (height) => shadow.frameAt(height),
      now: () => systemClock.now(),
      sign: (statement) => signStatement(signingKey, statement),
      note: (detail) => logger.info({ part: 'byzantine', behaviour }, `${config.id} ${detail}`),
    },
    behaviour,
  );
  // A sync adopts many frames at once; the script only acts on the newest, as it does on the simulator's frontier.
  let newest: LedgerFrame | null = null;
  let acting: NodeJS.Immediate | null = null;
  shadow.onFinalized((frame) => {
    newest = frame;
    acting ??= setImmediate(() => {
      acting = null;
      if (newest !== null) script.onHeight(newest.height + 1, newest);
    });
  });
  transport.onMessage((from, message) => {
    // No election: what peers send it is dropped, as the simulator does.
    if (message.channel !== 'round') return;
    shadow.deliver(from, message.body);
    script.onMessage(from, message.body);
  });

  let client: ClientApi;
  let metricsOnly: MetricsServer | null = null;
  try {
    client = await startClientApi({ host: config.client.host, port: config.client.port, backend: byzantineBackend(), logger: logger.child({ part: 'client' }) });
    if (config.metrics) metricsOnly = await startMetricsServer(config.metrics.host, config.metrics.port, registry);
  } catch (error) {
    await shadow.stop();
    await transport.close();
    throw error;
  }
  shadow.start();
  const head = shadow.head();
  script.onHeight(head.height + 1, head);
  logger.info({ id: config.id, clientUrl: client.url, byzantine: behaviour }, 'node started');

  function byzantineBackend(): ClientBackend {
    return {
      propose: async () => {
        throw new ProposalError('not_configured', `${config.id} is a Byzantine node: it takes no proposals`);
      },
      // It keeps no log: nothing it could show would be evidence of anything.
      log: () => [],
      status: () => {
        return {
          id: config.id,
          chainId: LEDGER_CHAIN_ID,
          byzantine: behaviour,
          role: 'byzantine',
          term: 0,
          leader: null,
          // What its shadow follows: the honest nodes' height, as far as it has heard.
          height: shadow.head().height,
          state: shadow.engine.getState(),
          pendingProposals: 0,
          members: memberStatus(config.members, config.id, transport),
        };
      },
      metrics: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
      onEntry: () => () => undefined,
    };
  }

  let stopping: Promise<void> | null = null;
  return {
    id: config.id,
    clientUrl: client.url,
    behaviour,
    stop: () =>
      (stopping ??= (async () => {
        await client.close();
        await metricsOnly?.close();
        await shadow.stop();
        if (acting !== null) clearImmediate(acting);
        await transport.close();
        logger.info({ id: config.id }, 'node stopped');
      })()),
  };
}
