import type { ClusterFault, ClusterNodeStatus } from '../clusterStatus';
import type { RunOutcome } from './runOutcome';

/**
 * What the live view's server plays and shows: the simulator's run
 * (`SimulationPlayer`), seen as the server needs it.
 */
export interface LiveCluster {
  readonly names: readonly string[];
  readonly byzantineNames: readonly string[];
  readonly seed: number;
  /** Whether the page's partition and crash buttons apply (a planned run takes its faults from its options only). */
  readonly manualFaults: boolean;
  /** What the Byzantine nodes do when they run no machines of their own (a simulator run's `--behaviour`); null when they do. */
  readonly behaviour: string | null;
  /** Whether honest nodes host the coordination services (and a client uses them). */
  readonly services: boolean;
  /** The command that replays what is shown, if there is one. */
  readonly command: string | null;
  /** Simulated ms, as far as the view has played. */
  now(): number;
  status(): ClusterNodeStatus[];
  faults(): ClusterFault[];
  /** Pairs of nodes whose link is cut now, each pair in node order. */
  cutLinks(): Array<[string, string]>;
  /** How the run ended; null while it goes on (always, for a cluster without an end). */
  outcome(): RunOutcome | null;
  start(): void;
  /**
   * Plays `ms` more simulated ms. May stop early once `performance.now()`
   * passes `deadline`: playback slows down rather than piling up work.
   */
  play(ms: number, deadline: number): Promise<void>;
  /** Takes back what was played and not yet run: resolves once the run waits where it is shown. */
  hold(): Promise<void>;
  /** While paused: runs until some node's round changes state (or a simulated second passes). */
  step(): Promise<void>;
  /** Runs, as fast as it can, until an honest node has finalized `height` (or the run ends), then waits. */
  seek(height: number): Promise<void>;
  /** A fault set by hand; only when `manualFaults`. Returns the root session a crash ended, to forget its actors. */
  fault(action: 'partition' | 'heal' | 'crash' | 'restart', node: string): string | undefined;
  stop(): Promise<void>;
}

/** Pairs of `names` for which `cut(a, b)` holds, in node order. */
export function cutPairs(names: readonly string[], cut: (a: string, b: string) => boolean): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < names.length; i += 1) {
    for (let j = i + 1; j < names.length; j += 1) if (cut(names[i]!, names[j]!)) pairs.push([names[i]!, names[j]!]);
  }
  return pairs;
}
