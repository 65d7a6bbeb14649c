// Fault scheduling: the run's partitions and crashes (and restarts) put on
// the clock, each traced and reported to the leader-liveness windows.
import type { Partition } from './simulatedNetwork';
import type { RunChecks } from './checks';
import { attachByzantine, type Cluster } from './cluster';
import type { EventClock } from './EventClock';
import type { EventTrace } from './EventTrace';
import type { HonestNode } from './HonestNode';
import type { LeaderLiveness } from './LeaderLiveness';
import { LEADER, type CrashSpec, type SimulationOptions, type SkippedCrash } from './options';

export interface FaultWorld {
  clock: EventClock;
  trace: EventTrace;
  liveness: LeaderLiveness;
  honest: ReadonlyMap<string, HonestNode>;
  /** Honest nodes whose height counts towards the target; one crashed for good leaves it. */
  counted: Set<HonestNode>;
  /** Whoever leads now, or null. */
  currentLeader: () => string | null;
  /** Before any fault event runs: the election may have changed. */
  onFault: () => void;
  /** An honest node is about to crash: count what it holds if it received something this instant. */
  beforeCrash: (node: string) => void;
  /** A Byzantine node crashes: detach it from both networks. */
  detach: (node: string) => void;
  /** A Byzantine node restarts: attach it again. */
  attachByzantine: (node: string) => void;
}

export interface FaultSchedule {
  /** When the last fault (a heal, a restart, or an unhealed partition's or a crash's start) happens. */
  lastFaultEnd: number;
  /** Crashes that did not happen; filled in as the run goes. */
  skippedCrashes: SkippedCrash[];
  /** Every scheduled fault event has happened. */
  allFired: () => boolean;
}

/** Schedules every partition, then every crash, in order; the run does not end before all have happened. */
export function scheduleFaults(partitions: readonly Partition[], crashes: readonly CrashSpec[], world: FaultWorld): FaultSchedule {
  const { clock, trace, liveness, honest, counted, currentLeader } = world;
  let lastFaultEnd = 0;
  let faultEvents = 0;
  let faultEventsFired = 0;
  /** Schedules one fault event; the run does not end before every one has happened. */
  const atFault = (at: number, fn: () => void) => {
    faultEvents += 1;
    clock.setTimeout(() => {
      faultEventsFired += 1;
      world.onFault();
      fn();
    }, at);
  };
  for (const { from, to, groups } of partitions) {
    const label = groups.map((group) => group.join(',')).join(' | ');
    atFault(from, () => {
      trace.record(clock.now(), 'partition', null, `partition ${label} until ${to}`);
      liveness.interrupt(clock.now(), `partition ${label} at ${from} ms`);
    });
    if (Number.isFinite(to)) {
      atFault(to, () => {
        trace.record(clock.now(), 'heal', null, `healed ${label}`);
        liveness.open('heal', clock.now(), currentLeader());
      });
    }
    lastFaultEnd = Math.max(lastFaultEnd, Number.isFinite(to) ? to : from);
  }
  const skippedCrashes: SkippedCrash[] = [];
  for (const { node: named, at, restartAt } of crashes) {
    // `leader` is resolved when the crash happens; the restart brings back whoever went down.
    let victim: string | null = null;
    atFault(at, () => {
      const node = named === LEADER ? currentLeader() : named;
      const target = node === null ? undefined : honest.get(node);
      if (node === null || target?.down) {
        trace.record(clock.now(), 'crash', node, named === LEADER ? 'no leader to crash' : `${node} is already down`);
        skippedCrashes.push({ node: named, at, restartAt, reason: node === null ? 'no_leader' : 'already_down' });
        return;
      }
      victim = node;
      const wasLeader = target !== undefined && target.election().role === 'leader';
      trace.record(clock.now(), 'crash', node, `${node} crashes${wasLeader ? ` (leader of term ${target!.election().term})` : ''}`);
      liveness.interrupt(clock.now(), `${node} crashed at ${at} ms`);
      if (target) {
        world.beforeCrash(node);
        target.crash();
      } else {
        world.detach(node);
      }
      if (wasLeader) liveness.open('failover', clock.now(), node);
      if (restartAt === null && target) counted.delete(target);
    });
    if (restartAt !== null) {
      atFault(restartAt, () => {
        if (victim === null) return;
        const target = honest.get(victim);
        trace.record(clock.now(), 'restart', victim, `${victim} restarts at height ${target ? target.head().height : '-'}`);
        if (target) {
          target.boot();
          liveness.open('restart', clock.now(), currentLeader());
        } else world.attachByzantine(victim);
      });
    }
    lastFaultEnd = Math.max(lastFaultEnd, restartAt ?? at);
  }
  return { lastFaultEnd, skippedCrashes, allFired: () => faultEventsFired === faultEvents };
}

/** The run's partitions and crashes, on the cluster's clock, seen by its checks. */
export function scheduleClusterFaults(options: SimulationOptions, cluster: Cluster, checks: RunChecks): FaultSchedule {
  return scheduleFaults(options.partitions, options.crashes, {
    clock: cluster.clock,
    trace: cluster.trace,
    liveness: checks.liveness,
    honest: cluster.honest,
    counted: checks.counted,
    currentLeader: () => checks.currentLeader(),
    onFault: () => {
      checks.electionChanged = true;
    },
    beforeCrash: (node) => checks.held.beforeCrash(node),
    detach: (node) => {
      cluster.network.detach(node);
      cluster.electionNetwork.detach(node);
    },
    attachByzantine: (node) => attachByzantine(cluster, node),
  });
}
