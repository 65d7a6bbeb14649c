import type { ElectionRole } from '../machines/election.machine';
import type { RoundEventType, RoundStateName } from '../machines/round.types';
import type { AttemptChange } from './api';
import type { EngineMetrics } from './metrics';

/**
 * What metrics read of an engine: its public API and nothing else, so an
 * engine, a node, or anything shaped like them can be metered.
 */
export interface MeteredEngine {
  getState(): RoundStateName;
  getActiveRank(): number;
  getHeldMessageCount(): number;
  /** Read on scrape when the engine has it (engines with proposals). */
  getPendingProposalCount?(): number;
  addListener(listener: (from: RoundStateName, to: RoundStateName, event: RoundEventType) => void): () => unknown;
  onCommit(listener: (commit: { rank: number; attempt: number }) => void): () => unknown;
  onAttemptChange(listener: (change: AttemptChange) => void): () => unknown;
}

/** A node: an engine plus the election's role transitions and term. */
export interface MeteredNode extends MeteredEngine {
  getTerm(): number;
  onRoleChange(listener: (from_role: ElectionRole, to_role: ElectionRole, term: number) => void): () => unknown;
}

export interface AttachMetricsOptions {
  /**
   * The engine's clock (`config.clock`), for `consensus_commit_latency_seconds`
   * measured per rank. Default: the wall clock, right only for an engine on it.
   */
  clock?: { now(): number };
}

/**
 * Feeds `metrics` from `engine`'s listeners and readings, and returns a
 * function that stops it (taking the gauges' readings one last time). Attach
 * to a stopped engine (before `start()`) to time its first rank too: a rank
 * whose start was not seen counts, but its latency is not observed.
 */
export function attachEngineMetrics(engine: MeteredEngine, metrics: EngineMetrics, options: AttachMetricsOptions = {}): () => void {
  const clock = options.clock ?? { now: () => Date.now() };
  /**
   * When the engine began deciding each rank, for at most the active rank and
   * the next: the commit of a rank and the transition it causes may reach
   * their listeners in either order.
   */
  const startedAt = new Map<number, number>();
  // A running engine's current rank began before anyone looked.
  let timing = engine.getState() === 'stopped';

  const noteRank = () => {
    const active = engine.getActiveRank();
    if (!startedAt.has(active + 1)) startedAt.set(active + 1, clock.now());
    for (const rank of startedAt.keys()) if (rank < active) startedAt.delete(rank);
  };

  const unsubscribe = [
    engine.addListener((from, to) => {
      metrics.stateTransition(from, to);
      if (to === 'stopped') {
        timing = false;
        startedAt.clear();
      } else if (from === 'stopped') {
        timing = true;
        noteRank();
      } else if (timing) {
        // A sync moves the active rank without a commit: the next rank starts now.
        noteRank();
      }
    }),
    engine.onCommit(({ rank, attempt }) => {
      const at = startedAt.get(rank);
      metrics.committed(attempt, at === undefined ? null : (clock.now() - at) / 1000);
      timing = true;
      for (const started of startedAt.keys()) if (started <= rank) startedAt.delete(started);
      if (!startedAt.has(rank + 1)) startedAt.set(rank + 1, clock.now());
    }),
    engine.onAttemptChange(({ reason }) => metrics.attemptChanged(reason)),
  ];
  const pending = engine.getPendingProposalCount;
  const stopReading = metrics.readOnScrape({
    activeRank: () => engine.getActiveRank(),
    heldMessages: () => engine.getHeldMessageCount(),
    ...(typeof pending === 'function' ? { pendingProposals: () => pending.call(engine) } : {}),
  });

  let attached = true;
  return () => {
    if (!attached) return;
    attached = false;
    for (const stop of unsubscribe) stop();
    stopReading();
  };
}

/** `attachEngineMetrics`, plus the election: role transitions, and the term read on scrape. */
export function attachNodeMetrics(node: MeteredNode, metrics: EngineMetrics, options: AttachMetricsOptions = {}): () => void {
  const detachEngine = attachEngineMetrics(node, metrics, options);
  const stopRoles = node.onRoleChange((from_role, to_role) => metrics.roleTransition(from_role, to_role));
  const stopTerm = metrics.readOnScrape({ term: () => node.getTerm() });
  let attached = true;
  return () => {
    if (!attached) return;
    attached = false;
    detachEngine();
    stopRoles();
    stopTerm();
  };
}
