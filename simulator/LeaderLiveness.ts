import type { ElectionRole } from '../machines/election.machine';

/**
 * Liveness of the election after a disturbance (SPEC §3, §6): once a
 * partition heals, a leader crashes, a node restarts or the cluster boots, every connected live
 * honest node should follow one leader within a bound (2 × the maximum
 * election timeout). Each disturbance opens a window; the window closes when
 * the nodes agree, and its duration is the figure reported (failover and heal
 * times). A bound is statistical, not a safety property: a window that runs
 * late is recorded, never a violation; sweeps assert the fraction.
 */

export type LeaderWindowKind = 'start' | 'heal' | 'failover' | 'restart';

/**
 * - `converged`: every connected honest node followed one leader (`ms` after
 *   `at`, within the bound or not);
 * - `late`: they did not agree while the window was watched (up to the
 *   patience, or until a new fault or the end of the run came after the bound);
 * - `interrupted`: a new fault (a partition, a crash) came within the bound,
 *   before they agreed: the window measures nothing and is not counted;
 * - `unfinished`: the run ended within the bound, before they agreed.
 */
export type LeaderWindowOutcome = 'converged' | 'late' | 'interrupted' | 'unfinished';

export interface LeaderWindow {
  kind: LeaderWindowKind;
  /** Simulated ms: the boot, the heal, the leader's crash, or the restart. */
  at: number;
  /** The leader before (the crashed one for a failover; the highest-term leader at a heal). */
  leaderBefore: string | null;
  /** The leader every connected honest node followed when the window closed. */
  leaderAfter: string | null;
  term: number | null;
  /** From `at` until they all followed `leaderAfter`; null unless converged. */
  ms: number | null;
  withinBound: boolean;
  /**
   * A majority of the cluster was live, honest and connected at `at`, so a
   * leader was possible. Windows without one are reported but not counted
   * against the bound.
   */
  quorum: boolean;
  outcome: LeaderWindowOutcome | 'pending';
  /** What interrupted it, for `interrupted` and `late`. */
  cause: string | null;
}

/** One live honest node's election state. */
export interface ElectionView {
  readonly name: string;
  readonly role: ElectionRole;
  readonly leader: string | null;
  readonly term: number;
}

export interface ClusterSnapshot {
  /** The live honest nodes. */
  readonly nodes: readonly ElectionView[];
  /** Whether a partition separates two nodes now. */
  cut(a: string, b: string): boolean;
}

export interface LeaderLivenessOptions {
  /** Cluster size, Byzantine and crashed members included: what a majority is out of (now, if the membership changes). */
  members: number | (() => number);
  boundMs: number;
  /**
   * How long past `at` a run keeps watching a window that has not converged,
   * so a slow one reports its real time instead of only "late". Default 5 × bound.
   */
  patienceMs?: number;
  snapshot: () => ClusterSnapshot;
}

/** The largest group of mutually reachable live honest nodes, if it holds a majority of the cluster. */
export function majorityComponent(snapshot: ClusterSnapshot, members: number): ElectionView[] | null {
  const remaining = [...snapshot.nodes];
  const majority = Math.floor(members / 2) + 1;
  while (remaining.length > 0) {
    const component = [remaining.shift() as ElectionView];
    for (let i = 0; i < component.length; i += 1) {
      for (let j = remaining.length - 1; j >= 0; j -= 1) {
        if (!snapshot.cut(component[i].name, remaining[j].name)) component.push(...remaining.splice(j, 1));
      }
    }
    // Two majorities would share a node, and a component is closed: the first one found is the only one.
    if (component.length >= majority) return component;
  }
  return null;
}

/** The leader every node of the majority component follows, if they all follow one that leads. */
export function agreedLeader(snapshot: ClusterSnapshot, members: number): { leader: string; term: number } | null {
  const component = majorityComponent(snapshot, members);
  if (component === null) return null;
  const leader = component[0].leader;
  if (leader === null || component.some((node) => node.leader !== leader)) return null;
  const head = component.find((node) => node.name === leader);
  if (head === undefined || head.role !== 'leader') return null;
  return { leader, term: head.term };
}

export class LeaderLiveness {
  private members(): number {
    const { members } = this.options;
    return typeof members === 'number' ? members : members();
  }

  private readonly all: LeaderWindow[] = [];
  private readonly pending: LeaderWindow[] = [];

  constructor(private readonly options: LeaderLivenessOptions) {}

  get boundMs(): number {
    return this.options.boundMs;
  }

  get patienceMs(): number {
    return this.options.patienceMs ?? 5 * this.options.boundMs;
  }

  /** Starts a window at `at` (the disturbance just happened). */
  open(kind: LeaderWindowKind, at: number, leaderBefore: string | null): void {
    const window: LeaderWindow = {
      kind,
      at,
      leaderBefore,
      leaderAfter: null,
      term: null,
      ms: null,
      withinBound: false,
      quorum: majorityComponent(this.options.snapshot(), this.members()) !== null,
      outcome: 'pending',
      cause: null,
    };
    this.all.push(window);
    this.pending.push(window);
  }

  /** A new fault at `at`: every open window stops measuring. */
  interrupt(at: number, cause: string): void {
    for (const window of this.pending) {
      window.outcome = at - window.at <= this.options.boundMs ? 'interrupted' : 'late';
      window.cause = cause;
    }
    this.pending.length = 0;
  }

  /** Closes the windows whose nodes now agree on a leader. Call after anything that may change that. */
  poll(at: number): void {
    if (this.pending.length === 0) return;
    const agreed = agreedLeader(this.options.snapshot(), this.members());
    if (agreed === null) return;
    for (const window of this.pending) {
      window.outcome = 'converged';
      window.leaderAfter = agreed.leader;
      window.term = agreed.term;
      window.ms = at - window.at;
      window.withinBound = window.ms <= this.options.boundMs;
    }
    this.pending.length = 0;
  }

  /** Whether a window (of these kinds) is open and still watched: the run should not end yet. */
  blocking(at: number, kinds: readonly LeaderWindowKind[]): boolean {
    return this.pending.some((window) => kinds.includes(window.kind) && at - window.at <= this.patienceMs);
  }

  /** The run ended at `at`: open windows are late, or unfinished if still within their bound. */
  close(at: number): void {
    for (const window of this.pending) {
      window.outcome = at - window.at > this.options.boundMs ? 'late' : 'unfinished';
      window.cause = 'the run ended';
    }
    this.pending.length = 0;
  }

  windows(): readonly LeaderWindow[] {
    return this.all;
  }
}

/** Windows that count against the bound: a leader was possible, and no new fault cut the measurement short. */
export function countsAgainstBound(window: LeaderWindow): boolean {
  return window.quorum && (window.outcome === 'converged' || window.outcome === 'late');
}
