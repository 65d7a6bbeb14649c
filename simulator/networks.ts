import type { LedgerMessage } from '../examples/ledger/messages';
import { SimulatedNetwork } from './simulatedNetwork';
import { describeElectionMessage, describeMessage } from './describe';
import type { EventClock } from './EventClock';
import type { EventTrace } from './EventTrace';
import type { SimulationOptions } from './options';
import type { RandomStreams } from './setup';

/**
 * The run's two networks, the ledger's and the election's, over the same
 * clock, partitions, loss, duplication and latency; each with a random
 * stream of its own, so that adding the election left a seed's ledger draws
 * as they were. What either drops or duplicates goes into the trace.
 */
export function createNetworks(
  options: SimulationOptions,
  clock: EventClock,
  streams: Pick<RandomStreams, 'network' | 'electionNetwork'>,
  trace: EventTrace,
): { network: SimulatedNetwork<LedgerMessage>; electionNetwork: SimulatedNetwork<unknown> } {
  // The election's messages cross the same links: same clock, partitions,
  // loss, duplication and latency, and a crashed node is detached from both.
  const links = {
    clock,
    latency: options.latency,
    dropRate: options.dropRate,
    duplicateRate: options.duplicateRate,
    reorder: options.reorder,
    partitions: options.partitions,
  };
  const network = new SimulatedNetwork<LedgerMessage>({
    ...links,
    random: streams.network,
    observer: (event) => {
      if (event.type === 'drop') {
        trace.record(event.at, 'drop', event.to, () => `${event.from}→${event.to} ${describeMessage(event.message)} (${event.reason})`);
      } else if (event.type === 'duplicate') {
        trace.record(event.at, 'duplicate', event.to, () => `${event.from}→${event.to} ${describeMessage(event.message)}`);
      }
    },
  });
  // Its own random stream keeps the ledger's draws what they were without it.
  const electionNetwork = new SimulatedNetwork<unknown>({
    ...links,
    random: streams.electionNetwork,
    observer: (event) => {
      // Heartbeats are the election's background noise; votes are what a report needs.
      if ((event.type === 'drop' || event.type === 'duplicate') && !isHeartbeat(event.message)) {
        const suffix = event.type === 'drop' ? ` (${event.reason})` : '';
        trace.record(event.at, event.type, event.to, () => `${event.from}→${event.to} ${describeElectionMessage(event.message)}${suffix}`);
      }
    },
  });
  return { network, electionNetwork };
}

/** Sets the loss of every link of `node`, both ways, on each network: 1 cuts it off, the run's rate heals it. */
export function isolateNode(networks: ReadonlyArray<Pick<SimulatedNetwork<never>, 'setLink'>>, names: readonly string[], node: string, dropRate: number): void {
  for (const network of networks) {
    for (const other of names) {
      if (other === node) continue;
      network.setLink(node, other, { dropRate });
      network.setLink(other, node, { dropRate });
    }
  }
}

/** An election heartbeat or its answer: the election's background noise, left out of the trace. */
export function isHeartbeat(raw: unknown): boolean {
  if (typeof raw !== 'object' || raw === null) return false;
  const type = (raw as { type?: unknown }).type;
  return type === 'heartbeat' || type === 'heartbeat_response';
}
