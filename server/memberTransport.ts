import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { LedgerMessage } from '../examples/ledger/messages';
import { ledgerBodyCodec } from '../examples/ledger/wire';
import type { ElectionMessage } from '../machines/election.schemas';
import { createTcpTransport } from '../net/tcpTransport';
import type { PeerTransport } from '../net/transport';
import { electionBodyCodec, wireCodec } from '../node/wire';
import type { NodeFileConfig, NodeKeyFile } from './config';

export type WireMessage = { channel: 'round'; body: LedgerMessage } | { channel: 'election'; body: ElectionMessage };

/**
 * A member's authenticated TCP transport as its configuration describes it:
 * its own key in the handshake, the ledger's and the election's messages
 * through the wire codec, and TLS when configured. Honest and Byzantine
 * processes open the same one, so peers cannot tell them apart by the link.
 */
export function openMemberTransport(config: NodeFileConfig, keys: NodeKeyFile, logger: Logger): Promise<PeerTransport<WireMessage>> {
  const codec = wireCodec<LedgerMessage, ElectionMessage>({ round: ledgerBodyCodec, election: electionBodyCodec });
  return createTcpTransport<WireMessage>({
    self: config.id,
    clusterId: config.clusterId,
    privateKey: keys.privateKey,
    members: config.members,
    encode: (message) => codec.encode(message),
    decode: (bytes) => codec.decode(bytes) as WireMessage,
    ...(config.tls ? { tls: { key: readFileSync(config.tls.key), cert: readFileSync(config.tls.cert), ca: readFileSync(config.tls.ca) } } : {}),
    logger: logger.child({ part: 'transport' }),
  });
}
