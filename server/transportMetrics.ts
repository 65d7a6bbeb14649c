import type { Registry, RegistryContentType } from 'prom-client';
import { Counter, Gauge } from 'prom-client';
import type { PeerTransport } from '../net/transport';

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * The transport's counters in `registry`, read from `stats()` on every
 * scrape: `consensus_transport_<counter>_total` for each plain counter,
 * `consensus_transport_dropped_total{reason}` and
 * `consensus_transport_refused_total{reason}` (unknown keys, bad
 * signatures, …), and the gauges `consensus_transport_queued_messages` and
 * `consensus_transport_connected_peers`.
 */
export function attachTransportMetrics(registry: Registry<RegistryContentType>, transport: PeerTransport<unknown>, labels: Record<string, string>): void {
  const constant = Object.keys(labels);
  const stats = () => transport.stats() as unknown as Record<string, number | Record<string, number>>;
  for (const [name, value] of Object.entries(stats())) {
    // `queued` is a level, not a count: a gauge below.
    if (name === 'queued') continue;
    if (typeof value === 'number') {
      new Counter({
        name: `consensus_transport_${snake(name)}_total`,
        help: `Transport: ${name}`,
        labelNames: constant,
        registers: [registry],
        collect() {
          this.reset();
          this.inc(labels, stats()[name] as number);
        },
      });
    } else if (typeof value === 'object' && value !== null) {
      new Counter({
        name: `consensus_transport_${snake(name)}_total`,
        help: `Transport: ${name}, by reason`,
        labelNames: [...constant, 'reason'],
        registers: [registry],
        collect() {
          this.reset();
          for (const [reason, count] of Object.entries(stats()[name] as Record<string, number>)) this.inc({ ...labels, reason }, count);
        },
      });
    }
  }
  new Gauge({
    name: 'consensus_transport_queued_messages',
    help: 'Messages waiting in the per-peer send queues',
    labelNames: constant,
    registers: [registry],
    collect() {
      this.set(labels, transport.stats().queued);
    },
  });
  new Gauge({
    name: 'consensus_transport_connected_peers',
    help: 'Members with a live authenticated connection',
    labelNames: constant,
    registers: [registry],
    collect() {
      this.set(labels, transport.connectedPeers().length);
    },
  });
}
