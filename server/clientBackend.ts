import { randomBytes } from 'node:crypto';
import type { Registry, RegistryContentType } from 'prom-client';
import type { LogEntry } from '../engine/commitLog';
import { ProposalError } from '../engine/errors';
import { asciiJson } from '../examples/ledger/serviceEntries';
import type { LedgerFrame, LedgerPeer } from '../examples/ledger/types';
import type { PeerTransport } from '../net/transport';
import type { ClientBackend, ClientEntry } from '../node/clientApi';
import type { ServerNode } from './ledgerServer';

/** Printable ASCII a client's payload may take in a ledger entry, once its JSON is written with \u escapes. */
export const MAX_PAYLOAD_TEXT = 200;

/**
 * A client's payload as a ledger entry: `c:<name>:<JSON>`, the name drawn
 * here so that two equal payloads are two proposals, the JSON written in
 * ASCII (anything else as \u escapes) as the ledger's entries are.
 */
export function entryOf(payload: unknown): string {
  const ascii = asciiJson(payload);
  if (ascii.length > MAX_PAYLOAD_TEXT) throw new ProposalError('too_large', `a payload's JSON may take ${MAX_PAYLOAD_TEXT} characters, this one ${ascii.length}`);
  return `c:${randomBytes(9).toString('base64url')}:${ascii}`;
}

/** The client payloads a frame carries, in order, with the names their entries were given. */
export function payloadsOf(frame: LedgerFrame): Array<{ id: string; payload: unknown }> {
  const out: Array<{ id: string; payload: unknown }> = [];
  for (const entry of frame.entries) {
    const match = /^c:([A-Za-z0-9_-]+):(.*)$/s.exec(entry);
    if (match === null) continue;
    try {
      out.push({ id: match[1], payload: JSON.parse(match[2]) });
    } catch {
      out.push({ id: match[1], payload: match[2] });
    }
  }
  return out;
}

function clientEntry(entry: LogEntry<LedgerFrame, LedgerPeer>): ClientEntry {
  const frame = entry.payload;
  return {
    index: entry.index,
    rank: entry.rank,
    attempt: entry.attempt,
    valueDigest: entry.valueDigest,
    proposer: entry.proposer?.identity() ?? null,
    certificate: entry.certificate,
    value: {
      height: frame.height,
      parent: frame.parent,
      prover: frame.prover,
      time: frame.time,
      entries: [...frame.entries],
      hash: frame.hash,
      payloads: payloadsOf(frame),
    },
  };
}

export interface LedgerBackendParts {
  node: ServerNode;
  transport: PeerTransport<unknown>;
  registry: Registry<RegistryContentType>;
  members: ReadonlyArray<{ id: string; host: string; port: number; publicKey: string }>;
  chainId: string;
  self: string;
}

/** What the client API serves, read from a running ledger node. */
/** Each member as `/v1/status` shows it: its key, its address, and whether this node is connected to it now. */
export function memberStatus(members: LedgerBackendParts['members'], self: string, transport: PeerTransport<unknown>) {
  const connected = new Set(transport.connectedPeers());
  return members.map((member) => ({
    id: member.id,
    publicKey: member.publicKey,
    address: `${member.host}:${member.port}`,
    reachable: member.id === self || connected.has(member.id),
  }));
}

export function ledgerBackend({ node, transport, registry, members, chainId, self }: LedgerBackendParts): ClientBackend {
  return {
    async propose(payload, { deadline }) {
      const entry = entryOf(payload);
      const outcome = await node.propose(entry, deadline === undefined ? {} : { deadline });
      return outcome.outcome === 'committed' ? { outcome: 'committed', index: outcome.index, rank: outcome.index } : outcome;
    },
    log(from, limit) {
      const tail = node.log.tail()?.index ?? 0;
      if (from > tail) return [];
      return node.log.range(from, Math.min(tail, from + limit - 1)).map(clientEntry);
    },
    status() {
      return {
        id: self,
        chainId,
        role: node.getRole(),
        term: node.getTerm(),
        leader: node.getLeader()?.identity() ?? null,
        height: node.log.tail()?.index ?? 0,
        state: node.getState(),
        pendingProposals: node.getPendingProposalCount(),
        members: memberStatus(members, self, transport),
      };
    },
    async metrics() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
    onEntry(listener) {
      return node.onLogEntry((entry) => listener(clientEntry(entry)));
    },
  };
}
