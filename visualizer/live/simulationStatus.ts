import type { SimulatedCluster } from '../../simulator/hooks';
import type { ClusterNodeStatus } from '../clusterStatus';
import { servicesView } from './servicesView';

/**
 * Each node of a simulator run as the live view shows it, read (never
 * changed) from the run's cluster. Byzantine nodes run no machines: they
 * show as what they are, up or cut off.
 */
export function simulationStatus(
  cluster: SimulatedCluster,
  cut: (a: string, b: string) => boolean,
  isolated: ReadonlySet<string>,
): ClusterNodeStatus[] {
  return cluster.names.map((name): ClusterNodeStatus => {
    const partitioned = cluster.names.some((other) => other !== name && cut(name, other));
    const member = cluster.honest.get(name);
    if (member === undefined) {
      const down = !cluster.isAttached(name);
      const byzantine = { name, byzantine: true, down, partitioned, isolated: isolated.has(name), incarnation: 1, rootId: null };
      return { ...byzantine, role: 'stopped', term: 0, leader: null, state: null, activeRank: 0, height: 0, services: null };
    }
    const node = member.down ? null : member.node;
    const host = member.services;
    return {
      name,
      byzantine: false,
      down: member.down,
      partitioned,
      isolated: isolated.has(name),
      incarnation: member.crashes + 1,
      rootId: node === null ? null : node.actor.sessionId,
      role: node === null ? 'stopped' : node.getRole(),
      term: node === null ? (member.electionStorage.peekHardState()?.term ?? 0) : node.getTerm(),
      leader: node === null ? null : (node.getLeader()?.identity() ?? null),
      state: node === null ? null : node.getState(),
      activeRank: node === null ? member.head().height : node.getActiveRank(),
      height: member.head().height,
      services: node === null || host === null ? null : servicesView(host, member.store.chain()[host.applied]?.time ?? null),
    };
  });
}
