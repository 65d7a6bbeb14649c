import type { InspectionEvent, Observer } from 'xstate';
import { ConsensusInputError } from '../../engine/errors';
import { ElectionMessageError, type ElectionTiming } from '../../machines/election.schemas';
import type { RoundTimeouts } from '../../machines/round.types';
import { createNode, type ConsensusNode } from '../../node/createNode';
import { createSeededRandom, type RandomSource } from '../../providers/random';
import { InMemoryElectionStorage } from '../../providers/storage';
import { EventClock } from '../../simulator/EventClock';
import { simulationKeys, type ClusterKeys } from '../../simulator/keys';
import { LedgerNode, type LedgerEngine } from '../../examples/ledger/LedgerNode';
import { LedgerStore } from '../../examples/ledger/LedgerStore';
import { ledgerCoordination } from '../../examples/ledger/serviceEntries';
import type { LedgerMessage } from '../../examples/ledger/messages';
import { faultTolerance } from '../../examples/ledger/rules';
import { LedgerBatch, LedgerFrame, LedgerPeer, LedgerVote } from '../../examples/ledger/types';
import type { CoordinationHost } from '../../services/host';
import { ClusterNetwork, type LatencyRange } from './ClusterNetwork';
import { ServiceWorkload, type WorkloadClient } from './serviceWorkload';
import { servicesView } from './servicesView';
import type { ClusterFault, ClusterFaultKind, ClusterNodeStatus } from '../clusterStatus';

/**
 * The cluster the live view shows: `createNode` nodes (round machine and
 * election in one actor system each) running the ledger example's providers
 * (`examples/ledger`), over a network whose links the viewer can cut, on one
 * discrete-event clock that whoever drives the cluster advances. Everything
 * inside takes its time from that clock and its chance from one seed, so the
 * same seed and the same sequence of faults at the same simulated times give
 * the same run.
 *
 * The election picks the cluster's leader (what the view shows as role, term
 * and leader); the ledger's own schedule picks each height's provers, as in
 * the simulator, so a crashed leader costs an election, not a stalled round.
 *
 * Each honest node hosts the coordination services (KV, locks, barriers) as
 * its engine's state machine, and a seeded workload (`serviceWorkload.ts`)
 * takes locks and passes barriers through the nodes' engines, so the view
 * has lock holders and barrier generations to show.
 */

export type ClusterNode = ConsensusNode<LedgerFrame, LedgerVote, LedgerPeer, LedgerBatch>;

export interface VisualClusterOptions {
  /** Cluster size, nodes `n0` … `n(N-1)`. Default 4. */
  nodes?: number;
  /** Byzantine nodes, at most f = ⌊(n − 1)/3⌋, chosen by the seed. Default 0. */
  byzantine?: number;
  /** Seed of every random choice. Default 42. */
  seed?: number;
  /** One-way message latency, drawn per message. Default 5–25 ms. */
  latency?: LatencyRange;
  /**
   * Whether the lock and barrier workload runs (default true). The services
   * are hosted either way; without it they stay empty.
   */
  workload?: boolean;
  /** Simulated proof time. Default 40–120 ms. */
  proofMs?: LatencyRange;
  /** Overrides for the election's timing (default 150–300 ms elections, 50 ms heartbeats). */
  electionTiming?: Partial<ElectionTiming>;
  /**
   * The inspection observer for one incarnation of a node, called each time
   * the node is (re)created; `undefined` for none.
   */
  inspect?: (node: string, incarnation: number) => Observer<InspectionEvent> | ((event: InspectionEvent) => void) | undefined;
}

export type { ClusterFault, ClusterFaultKind, ClusterNodeStatus } from '../clusterStatus';

/** Largest cluster the live view runs: 16 nodes stay readable; the round's cost grows with n². */
export const MAX_VISUAL_NODES = 32;

export const DEFAULT_VISUAL_CLUSTER = Object.freeze({
  nodes: 4,
  byzantine: 0,
  seed: 42,
  latency: Object.freeze({ min: 5, max: 25 }),
  proofMs: Object.freeze({ min: 40, max: 120 }),
});

interface Member {
  readonly name: string;
  readonly byzantine: boolean;
  /** What survives a crash: the ledger and the election's term and vote. */
  readonly store: LedgerStore;
  readonly storage: InMemoryElectionStorage;
  readonly random: RandomSource;
  incarnation: number;
  down: boolean;
  node: ClusterNode | null;
  ledger: LedgerNode | null;
  /** This incarnation's coordination services; null on a Byzantine node. */
  host: CoordinationHost<LedgerFrame> | null;
}

export class VisualCluster {
  readonly clock = new EventClock();
  readonly names: readonly string[];
  readonly byzantineNames: readonly string[];
  readonly seed: number;
  /** Faults applied so far, in order: with the seed, what replays this run. */
  readonly faults: ClusterFault[] = [];
  /** Errors a node threw that the engine should have turned into typed refusals. */
  readonly failures: { node: string; at: number; error: unknown }[] = [];

  private readonly members = new Map<string, Member>();
  private readonly network: ClusterNetwork;
  private readonly options: VisualClusterOptions;
  private readonly patienceMs: number;
  private readonly syncWaitMs: number;
  private readonly proofMs: LatencyRange;
  private readonly timeouts: Partial<RoundTimeouts>;
  private readonly workload: ServiceWorkload | null;
  private readonly keys: ClusterKeys;
  private topLevelTransitions = 0;
  private started = false;

  constructor(options: VisualClusterOptions = {}) {
    const nodes = options.nodes ?? DEFAULT_VISUAL_CLUSTER.nodes;
    const byzantine = options.byzantine ?? DEFAULT_VISUAL_CLUSTER.byzantine;
    if (!Number.isSafeInteger(nodes) || nodes < 1 || nodes > MAX_VISUAL_NODES) {
      throw new RangeError(`nodes must be an integer in [1, ${MAX_VISUAL_NODES}], got ${nodes}`);
    }
    const f = faultTolerance(nodes);
    if (!Number.isSafeInteger(byzantine) || byzantine < 0 || byzantine > f) {
      throw new RangeError(`byzantine must be an integer in [0, ${f}] for ${nodes} nodes (f = ⌊(n − 1)/3⌋), got ${byzantine}`);
    }
    this.options = options;
    this.seed = options.seed ?? DEFAULT_VISUAL_CLUSTER.seed;
    const latency = options.latency ?? DEFAULT_VISUAL_CLUSTER.latency;
    this.proofMs = options.proofMs ?? DEFAULT_VISUAL_CLUSTER.proofMs;
    this.names = Array.from({ length: nodes }, (_, i) => `n${i}`);
    // Signed, as the simulator's nodes are: a node that adopted frames through a sync fills its engine's log with
    // certified entries from its peers, so its services catch up instead of stopping at the gap.
    this.keys = simulationKeys(this.names, this.seed);

    const random = createSeededRandom(this.seed);
    this.network = new ClusterNetwork(this.clock, random.fork(), latency);
    this.byzantineNames = pickByzantine(this.names, byzantine, random.fork());
    for (const name of this.names) {
      this.members.set(name, {
        name,
        byzantine: this.byzantineNames.includes(name),
        store: new LedgerStore(),
        storage: new InMemoryElectionStorage(),
        random: random.fork(),
        incarnation: 0,
        down: true,
        node: null,
        ledger: null,
        host: null,
      });
    }
    // Forked after every member's stream, so that turning the workload on or off leaves the others' draws as they were.
    const honest = this.names.filter((name) => !this.byzantineNames.includes(name));
    this.workload =
      options.workload === false ? null : new ServiceWorkload(this.clock, random.fork(), () => this.workloadClients(), honest);
    // As the simulator scales them: a round trip plus a proof before a prover is skipped.
    this.patienceMs = Math.max(20, 2 * latency.max + this.proofMs.max + 20);
    this.syncWaitMs = Math.max(10, 2 * latency.max + 10);
    this.timeouts = {
      starting: 10,
      loading: Math.max(1_000, 20 * this.syncWaitMs),
      syncRetry: Math.max(50, 2 * this.syncWaitMs),
      collecting: 1_000,
      livenessCheck: Math.max(50, this.patienceMs),
      proving: 10 * this.proofMs.max + 1_000,
      publishing: 500,
      voting: Math.max(200, 4 * this.patienceMs),
      finalizing: Math.max(50, this.patienceMs),
      verifying: 200,
      stopping: 100,
    };
  }

  /** Boots every node. */
  start(): void {
    if (this.started) throw new Error('the cluster is already started');
    this.started = true;
    for (const member of this.members.values()) this.boot(member);
    this.workload?.start();
  }

  /** Stops every running node on the spot and leaves the clock where it is. */
  stop(): void {
    this.workload?.stop();
    for (const member of this.members.values()) this.halt(member);
  }

  /** Cuts every link of `name`: it keeps running, alone. */
  partition(name: string): void {
    this.member(name);
    if (this.network.isIsolated(name)) return;
    this.network.isolate(name);
    this.note('partition', name);
  }

  heal(name: string): void {
    this.member(name);
    if (!this.network.isIsolated(name)) return;
    this.network.heal(name);
    this.note('heal', name);
  }

  /** The process dies: its actors stop, no cleanup; its ledger and election storage stay. */
  crash(name: string): void {
    const member = this.member(name);
    if (member.down) return;
    this.halt(member);
    this.note('crash', name);
  }

  /** A new node (new actors, new incarnation) over the crashed one's ledger and election storage. */
  restart(name: string): void {
    const member = this.member(name);
    if (!member.down) return;
    this.boot(member);
    this.note('restart', name);
  }

  isDown(name: string): boolean {
    return this.member(name).down;
  }

  isPartitioned(name: string): boolean {
    this.member(name);
    return this.network.isIsolated(name);
  }

  /** The running incarnation of `name`, or null while it is down. */
  node(name: string): ClusterNode | null {
    const member = this.member(name);
    return member.down ? null : member.node;
  }

  /** `name`'s finalized frames (they survive its crashes), genesis first. */
  frames(name: string): readonly LedgerFrame[] {
    return this.member(name).store.chain();
  }

  status(): ClusterNodeStatus[] {
    return this.names.map((name) => {
      const member = this.member(name);
      const node = member.node;
      const live = node !== null && !member.down;
      return {
        name,
        byzantine: member.byzantine,
        down: member.down,
        partitioned: this.network.isIsolated(name),
        incarnation: member.incarnation,
        rootId: live ? node.actor.sessionId : null,
        role: live ? node.getRole() : 'stopped',
        term: live ? node.getTerm() : (member.storage.peekHardState()?.term ?? 0),
        leader: live ? (node.getLeader()?.identity() ?? null) : null,
        state: live ? node.getState() : null,
        activeRank: live ? node.getActiveRank() : member.store.height(),
        services: live && member.host !== null ? servicesView(member.host, member.store.chain()[member.host.applied]?.time ?? null) : null,
      };
    });
  }

  /** Running nodes that lead right now. */
  leaders(): string[] {
    // Not through status(): tests poll this after every timer, and status() reads every node's services.
    return this.names.filter((name) => {
      const member = this.member(name);
      return !member.down && member.node !== null && member.node.getRole() === 'leader';
    });
  }

  /** Heights finalized by the slowest running honest node. */
  slowestHonestHeight(): number {
    const heights = this.names
      .map((name) => this.member(name))
      .filter((member) => !member.byzantine && !member.down)
      .map((member) => member.store.height());
    return heights.length === 0 ? 0 : Math.min(...heights);
  }

  /** Top-level round transitions (state changes, not re-entries) of every node so far. */
  get transitions(): number {
    return this.topLevelTransitions;
  }

  get networkStats() {
    return this.network.stats;
  }

  /**
   * Fires every timer due by `time` in order (settling promises after each),
   * then moves the clock to `time`, unless `interrupt()` says stop first.
   * Returns whether `time` was reached.
   */
  async advanceTo(time: number, interrupt: () => boolean = () => false): Promise<boolean> {
    await this.clock.runUntil(interrupt, time);
    return this.clock.now() >= time;
  }

  /** Runs until `done()` holds; throws after `limitMs` of simulated time. Returns the time taken. */
  async runUntil(done: () => boolean, limitMs: number): Promise<number> {
    const start = this.clock.now();
    await this.clock.runUntil(done, start + limitMs);
    if (!done()) throw new Error(`condition not reached within ${limitMs} simulated ms (seed ${this.seed})`);
    return this.clock.now() - start;
  }

  /** Runs until some node's round changes state, or `limitMs` passes. */
  async step(limitMs = 1_000): Promise<void> {
    const before = this.topLevelTransitions;
    await this.clock.runUntil(() => this.topLevelTransitions !== before, this.clock.now() + limitMs);
  }

  private workloadClients(): WorkloadClient[] {
    const clients: WorkloadClient[] = [];
    for (const member of this.members.values()) {
      if (!member.down && member.node !== null && member.host !== null) clients.push({ name: member.name, node: member.node, host: member.host });
    }
    return clients;
  }

  private member(name: string): Member {
    const member = this.members.get(name);
    if (member === undefined) throw new RangeError(`no node named ${JSON.stringify(name)} (nodes: ${this.names.join(', ')})`);
    return member;
  }

  private note(kind: ClusterFaultKind, node: string): void {
    this.faults.push({ kind, node, at: this.clock.now() });
  }

  private boot(member: Member): void {
    const { name } = member;
    const restart = member.incarnation > 0;
    member.incarnation += 1;
    const ledger = new LedgerNode({
      self: name,
      members: this.names,
      clock: this.clock,
      random: member.random.fork(),
      send: (to, message) => this.network.send(name, to, () => this.deliverLedger(to, name, message)),
      store: member.store,
      keys: { privateKey: this.keys.privateKeyOf(name), publicKeys: this.keys.publicKeys, verifier: this.keys.verifier },
      proofMs: this.proofMs,
      patienceMs: this.patienceMs,
      syncWaitMs: this.syncWaitMs,
      // A restarted node hears the others' skip requests before it votes (see LedgerNodeOptions).
      listenFirstMs: restart ? 2 * this.patienceMs + this.syncWaitMs : 0,
    });
    const engineConfig = ledger.engineConfig();
    // The engine starts at the store's head, so a restarted node's services are rebuilt from the frames it kept.
    const host = member.byzantine ? null : ledgerCoordination();
    for (const frame of host === null ? [] : member.store.chain()) if (frame.height > 0) host!.apply(frame, frame.height);
    const node: ClusterNode = createNode<LedgerFrame, LedgerVote, LedgerPeer, LedgerBatch>({
      ...engineConfig,
      ...(host === null ? {} : { stateMachine: host }),
      providers: member.byzantine ? forgeProposals(engineConfig.providers) : engineConfig.providers,
      timeouts: this.timeouts,
      election: { storage: member.storage, random: member.random.fork(), timing: this.options.electionTiming },
      inspect: this.options.inspect?.(name, member.incarnation),
    });
    // The ledger drives a round engine; a node is one, plus its election (the
    // ledger never touches `actor`, the only member whose type differs).
    ledger.attach(node as unknown as LedgerEngine);
    node.addListener((from, to) => {
      if (from !== to) this.topLevelTransitions += 1;
    });
    node.actor.subscribe({ error: (error) => this.failures.push({ node: name, at: this.clock.now(), error }) });
    node.onOutbound((to, message) => {
      const peer = to.identity();
      // Through JSON, as over a wire, so every delivery goes through the election's schemas.
      const wire = JSON.stringify(message);
      this.network.send(name, peer, () => this.deliverElection(peer, name, wire));
    });
    member.node = node;
    member.ledger = ledger;
    member.host = host;
    member.down = false;
    this.network.attach(name);
    ledger.start();
  }

  private halt(member: Member): void {
    if (member.down) return;
    member.down = true;
    this.network.detach(member.name);
    member.ledger?.halt();
    member.node?.actor.stop();
  }

  private deliverLedger(to: string, from: string, message: LedgerMessage): void {
    const member = this.member(to);
    if (member.down || member.ledger === null) return;
    try {
      member.ledger.deliver(from, message);
    } catch (error) {
      this.failures.push({ node: to, at: this.clock.now(), error });
    }
  }

  private deliverElection(to: string, from: string, wire: string): void {
    const member = this.member(to);
    if (member.down || member.node === null) return;
    try {
      member.node.receiveElectionMessage(from, JSON.parse(wire));
    } catch (error) {
      // Refusals are the schemas doing their job; anything else is a bug to show.
      if (!(error instanceof ConsensusInputError) && !(error instanceof ElectionMessageError)) {
        this.failures.push({ node: to, at: this.clock.now(), error });
      }
    }
  }
}

/**
 * The Byzantine behaviour of the live view: a prover whose every frame is
 * forged (its hash does not match its content). Honest voters judge it
 * invalid, ask to skip it at once and never vote for it; otherwise the node
 * follows the protocol, election included, so one Byzantine node costs a
 * skip, not the cluster's progress.
 */
function forgeProposals(providers: ReturnType<LedgerNode['engineConfig']>['providers']) {
  const { leader } = providers;
  return {
    ...providers,
    leader: {
      getNextLeaders: leader.getNextLeaders,
      proveNextState: async (prior: LedgerFrame, collected: LedgerBatch, signal: AbortSignal) => {
        const frame = await leader.proveNextState(prior, collected, signal);
        const forged = `${frame.hash[0] === 'f' ? '0' : 'f'}${frame.hash.slice(1)}`;
        return new LedgerFrame(frame.height, frame.parent, frame.prover, frame.time, frame.entries, forged);
      },
    },
  };
}

/** Which nodes are Byzantine: drawn from the seed, sorted by index. */
function pickByzantine(names: readonly string[], count: number, random: RandomSource): string[] {
  const pool = [...names];
  const chosen: string[] = [];
  for (let i = 0; i < count; i += 1) chosen.push(pool.splice(random.integer(0, pool.length - 1), 1)[0]!);
  return chosen.sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
}
