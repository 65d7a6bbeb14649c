import { VisualCluster, type VisualClusterOptions } from '../cluster/VisualCluster';
import { cutPairs, type LiveCluster } from './LiveCluster';

/** A `VisualCluster` as the server plays it: no end, faults from the page's buttons. */
export function manualCluster(options: VisualClusterOptions): { cluster: VisualCluster; live: LiveCluster } {
  const cluster: VisualCluster = new VisualCluster(options);
  const live: LiveCluster = {
    names: cluster.names,
    byzantineNames: cluster.byzantineNames,
    seed: cluster.seed,
    manualFaults: true,
    services: true,
    behaviour: null,
    command: null,
    now: () => cluster.clock.now(),
    status: () => cluster.status(),
    faults: () => [...cluster.faults],
    cutLinks: () => cutPairs(cluster.names, (a, b) => cluster.isPartitioned(a) || cluster.isPartitioned(b)),
    outcome: () => null,
    start: () => cluster.start(),
    play: async (ms, deadline) => {
      await cluster.advanceTo(cluster.clock.now() + ms, () => performance.now() >= deadline);
    },
    step: () => cluster.step(),
    fault(action, node) {
      const before = cluster.node(node)?.actor.sessionId;
      switch (action) {
        case 'partition':
          cluster.partition(node);
          return undefined;
        case 'heal':
          cluster.heal(node);
          return undefined;
        case 'crash':
          cluster.crash(node);
          return before;
        case 'restart':
          cluster.restart(node);
          return undefined;
      }
    },
    stop: async () => cluster.stop(),
  };
  return { cluster, live };
}
