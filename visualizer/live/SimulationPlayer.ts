import type { InspectionEvent, Observer } from 'xstate';
import type { SimulatedCluster, SimulationHooks } from '../../simulator/hooks';
import { nodeNames, resolveOptions, type SimulationOptions } from '../../simulator/options';
import { replayCommand } from '../../simulator/replay';
import { runSimulation } from '../../simulator/runSimulation';
import { forkRandomStreams } from '../../simulator/setup';
import type { ClusterFault } from '../clusterStatus';
import { cutPairs, type LiveCluster } from './LiveCluster';
import { runOutcome, type RunOutcome } from './runOutcome';
import { simulationStatus } from './simulationStatus';

export interface SimulationPlayerOptions {
  /** The run, as `simulate` takes it: the same options give the same run. */
  simulation: Partial<SimulationOptions>;
  /** Clients of the coordination services beside the run (`SimulationHooks.workload`). */
  workload?: SimulationHooks['workload'];
  /** Where each honest node's inspection events go. */
  inspect?: (node: string, incarnation: number) => Observer<InspectionEvent> | ((event: InspectionEvent) => void) | undefined;
  /** The run threw: a bug, not an outcome. */
  onError: (error: unknown) => void;
}

/** How long a step goes on without a round changing state before it gives up. */
const STEP_LIMIT_MS = 1_000;
/** Instants a step plays at most. */
const STEP_MAX_INSTANTS = 10_000;

/** Thrown into the run by `stop()`: a run no one watches is left where it is, not finished. */
class PlaybackStopped extends Error {
  override readonly name = 'PlaybackStopped';
}

interface Waiting {
  next: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * The simulator's run (`runSimulation`, every option of `simulate`, faults
 * included) played for a viewer: before each instant of simulated time the
 * run waits (`SimulationHooks.pace`) until the viewer's clock has reached it.
 * Waiting changes nothing in the run, so its report is the one `simulate`
 * gives with the same options.
 */
export class SimulationPlayer implements LiveCluster {
  readonly names: readonly string[];
  readonly byzantineNames: readonly string[];
  readonly seed: number;
  /** Faults by hand are taken, between two instants; the run is then one its options no longer replay. */
  readonly manualFaults = true;
  readonly command: string;
  readonly services: boolean;
  readonly behaviour: string;
  private readonly options: SimulationOptions;
  private cluster: SimulatedCluster | null = null;
  /** Simulated ms the run may reach: what the viewer's clock has played so far. */
  private allowance = 0;
  private waiting: Waiting | null = null;
  /** Who waits for the run to wait (a step), or for it to end (null). */
  private listeners: Array<(waiting: Waiting | null) => void> = [];
  private report: RunOutcome | null = null;
  private finished = false;
  private stopped = false;
  private running: Promise<void> | null = null;
  /** Nodes cut off by hand. */
  private readonly isolated = new Set<string>();
  private readonly handFaults: ClusterFault[] = [];
  /** Faults by hand asked for while the run was inside an instant: set before the next one. */
  private queued: Array<() => void> = [];
  /** The height a seek plays to, as fast as it can. */
  private seeking: number | null = null;

  constructor(private readonly input: SimulationPlayerOptions) {
    this.options = resolveOptions(input.simulation);
    this.seed = this.options.seed;
    this.names = nodeNames(this.options.nodes);
    const founders = this.names.slice(0, this.options.founders ?? this.options.nodes);
    // The same draw as the run's own, known before it starts.
    this.byzantineNames = forkRandomStreams(this.seed, this.names, this.options.byzantine, founders).byzantineNames;
    this.command = replayCommand(this.options);
    this.behaviour = this.options.behaviour;
    this.services = this.options.services === true || input.workload !== undefined;
  }

  start(): void {
    if (this.running !== null) throw new Error('the run is already started');
    const hooks: SimulationHooks = {
      onCluster: (cluster) => (this.cluster = cluster),
      pace: (next) => this.pace(next),
      ...(this.input.inspect === undefined ? {} : { inspect: this.input.inspect }),
      ...(this.input.workload === undefined ? {} : { workload: this.input.workload }),
    };
    this.running = runSimulation(this.options, hooks).then(
      (report) => {
        this.report = runOutcome(report, this.handFaults.map(({ kind, node, at }) => `${kind} ${node} at ${Math.round(at)} ms`));
        this.end();
      },
      (error: unknown) => {
        this.end();
        if (!(error instanceof PlaybackStopped)) this.input.onError(error);
      },
    );
  }

  now(): number {
    const clock = this.cluster?.clock.now() ?? 0;
    return this.waiting === null ? clock : Math.max(clock, Math.min(this.allowance, this.waiting.next));
  }

  status() {
    return this.cluster === null ? [] : simulationStatus(this.cluster, (a, b) => this.isCut(a, b), this.isolated);
  }

  /** The planned faults that have happened by now, in order. */
  faults(): ClusterFault[] {
    const now = this.now();
    const faults: ClusterFault[] = [];
    for (const { from, to, groups } of this.options.partitions) {
      const node = groups.map((group) => group.join(',')).join(' | ');
      if (from <= now) faults.push({ kind: 'partition', node, at: from });
      if (to <= now) faults.push({ kind: 'heal', node, at: to });
    }
    for (const { node, at, restartAt } of this.options.crashes) {
      if (at <= now) faults.push({ kind: 'crash', node, at });
      if (restartAt !== null && restartAt <= now) faults.push({ kind: 'restart', node, at: restartAt });
    }
    return [...faults, ...this.handFaults].sort((a, b) => a.at - b.at);
  }

  cutLinks(): Array<[string, string]> {
    const cluster = this.cluster;
    return cluster === null ? [] : cutPairs(this.names, (a, b) => this.isCut(a, b));
  }

  outcome(): RunOutcome | null {
    return this.report;
  }

  async play(ms: number): Promise<void> {
    const clock = this.cluster?.clock.now() ?? 0;
    // A machine that cannot keep up does not build a debt it would later pay at full speed.
    this.allowance = Math.min(Math.max(this.allowance, this.now()) + ms, clock + 4 * ms);
    this.release();
  }

  async step(): Promise<void> {
    const before = this.transitions();
    const start = this.now();
    for (let i = 0; i < STEP_MAX_INSTANTS; i += 1) {
      const waiting = await this.nextWait();
      if (waiting === null) return;
      if (i > 0 && (this.transitions() !== before || waiting.next - start >= STEP_LIMIT_MS)) return;
      this.allowance = Math.max(this.allowance, waiting.next);
      this.release();
    }
  }

  async hold(): Promise<void> {
    this.allowance = Math.min(this.allowance, this.now());
    await this.idle();
  }

  async seek(height: number): Promise<void> {
    await this.hold();
    if (this.finished || this.height() >= height) return;
    // The run goes on without waiting until the height is reached (`pace`), then waits where it is.
    this.seeking = height;
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.resolve();
    await this.nextWait();
    this.seeking = null;
    this.allowance = Math.max(this.allowance, this.cluster?.clock.now() ?? 0);
  }

  /** The furthest height an honest node has finalized. */
  private height(): number {
    let best = 0;
    for (const node of this.cluster?.honest.values() ?? []) best = Math.max(best, node.head().height);
    return best;
  }

  /** Resolves once the run waits for the viewer's clock, or has ended. */
  async idle(): Promise<void> {
    await this.nextWait();
  }

  /**
   * A fault set by hand: `partition` cuts every link of the node (until
   * `heal`), `crash` stops an honest node as a planned crash does (until
   * `restart`). It lands between two instants. Returns the root session a
   * crash ends.
   */
  fault(action: 'partition' | 'heal' | 'crash' | 'restart', node: string): string | undefined {
    const cluster = this.cluster;
    if (!this.names.includes(node)) throw new RangeError(`no node named ${JSON.stringify(node)} (nodes: ${this.names.join(', ')})`);
    if (cluster === null || this.finished) throw new Error('the run is not going: no fault to set');
    const member = cluster.honest.get(node);
    if (member === undefined && (action === 'crash' || action === 'restart')) throw new Error(`${node} is Byzantine: it runs no node to crash`);
    const changes =
      action === 'partition' ? !this.isolated.has(node) : action === 'heal' ? this.isolated.has(node) : action === 'crash' ? !member!.down : member!.down;
    if (!changes) return undefined;
    const ended = action === 'crash' ? member!.node.actor.sessionId : undefined;
    const apply = () => {
      this.handFaults.push({ kind: action, node, at: cluster.clock.now(), byHand: true });
      if (action === 'partition' || action === 'heal') {
        cluster.isolate(node, action === 'partition');
        if (action === 'partition') this.isolated.add(node);
        else this.isolated.delete(node);
      } else if (action === 'crash') member!.crash();
      else member!.boot();
    };
    if (this.waiting !== null) apply();
    else this.queued.push(apply);
    return ended;
  }

  private isCut(a: string, b: string): boolean {
    return this.cluster!.isCut(a, b) || (a !== b && (this.isolated.has(a) || this.isolated.has(b)));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.waiting?.reject(new PlaybackStopped('the live view stopped'));
    this.waiting = null;
    await this.running;
  }

  private pace(next: number): Promise<void> | void {
    if (this.stopped) throw new PlaybackStopped('the live view stopped');
    for (const apply of this.queued.splice(0)) apply();
    if (next <= this.allowance || (this.seeking !== null && this.height() < this.seeking)) return;
    return new Promise<void>((resolve, reject) => {
      this.waiting = { next, resolve, reject };
      for (const listener of this.listeners.splice(0)) listener(this.waiting);
    });
  }

  private release(): void {
    const waiting = this.waiting;
    if (waiting === null || waiting.next > this.allowance) return;
    this.waiting = null;
    waiting.resolve();
  }

  private nextWait(): Promise<Waiting | null> {
    if (this.finished) return Promise.resolve(null);
    if (this.waiting !== null) return Promise.resolve(this.waiting);
    return new Promise((resolve) => this.listeners.push(resolve));
  }

  private end(): void {
    this.finished = true;
    for (const listener of this.listeners.splice(0)) listener(null);
  }

  /** Round transitions of every honest node so far: what a step waits to change. */
  private transitions(): number {
    let total = 0;
    for (const node of this.cluster?.honest.values() ?? []) total += node.transitions;
    return total;
  }
}
