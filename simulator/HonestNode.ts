import type { InspectionEvent, Observer } from 'xstate';
import type { ClusterKeys } from './keys';
import { attachNodeMetrics } from '../engine/attachMetrics';
import { createEngineMetrics, type EngineMetrics } from '../engine/metrics';
import type { Registry, RegistryContentType } from 'prom-client';
import type { AttemptChange, LogEntry, ProposalOutcome } from '../engine/createConsensusEngine';
import type { ElectionRole } from '../machines/election.machine';
import { ElectionMessageError, type ElectionMessage, type ElectionMessageErrorCode, type ElectionTiming } from '../machines/election.schemas';
import type { RoundTimeouts } from '../machines/round.types';
import { createNode, type ConsensusNode } from '../node/createNode';
import type { ConsensusClock } from '../providers/clock';
import type { RandomSource } from '../providers/random';
import type { SimulatedNetwork } from './simulatedNetwork';
import { InMemoryElectionStorage, type ElectionStorage } from '../providers/storage';
import type { DiskStorage, SimulatedStorage } from './simulatedDisk';
import { ledgerCodec } from '../examples/ledger/codec';
import { LedgerNode, type DeliveryOutcome, type LedgerNodeOptions } from '../examples/ledger/LedgerNode';
import { LedgerStore } from '../examples/ledger/LedgerStore';
import type { LedgerMessage } from '../examples/ledger/messages';
import type { LedgerPayload } from '../examples/ledger/nodeTypes';
import { LedgerPeer, type LedgerBatch, type LedgerFrame, type LedgerVote } from '../examples/ledger/types';
import { idleProviders } from './idleApp';
import { SimulatedServicePort } from './servicePort';
import { ledgerCoordination } from '../examples/ledger/serviceEntries';
import type { CoordinationHost } from '../services/host';
import type { ElectionView } from './LeaderLiveness';

/** A simulated member: the round machine and the election in one `createNode`. */
export type SimNode = ConsensusNode<LedgerFrame, LedgerVote, LedgerPeer, LedgerBatch, LedgerPayload>;

/** A node's election state as the simulator reports it; `down` while crashed. */
export interface NodeElectionState {
  readonly name: string;
  readonly role: ElectionRole | 'down';
  readonly leader: string | null;
  readonly term: number;
}

/** What became of one delivered election message: accepted, or why the node refused it. */
export type ElectionDeliveryOutcome = 'accepted' | ElectionMessageErrorCode;

/** What an honest node needs from the simulation around it. */
export interface HonestNodeWorld {
  clock: ConsensusClock;
  network: SimulatedNetwork<LedgerMessage>;
  /** Election messages travel here: same clock, partitions, loss and latency as `network`. */
  electionNetwork: SimulatedNetwork<unknown>;
  members: readonly string[];
  /** Sends through the network (and lets the checker see proposals). */
  send: (from: string, to: string, message: LedgerMessage) => void;
  /** Sends an election message (and lets the checker see votes). */
  sendElection: (from: string, to: string, message: ElectionMessage) => void;
  /** Test-only: rewrites an election message before `to` reads it (a broken rule, for negative controls). */
  tamperIncoming?: (from: string, to: string, raw: unknown) => unknown;
  /** Test-only: what a node's election persists through, given the storage that outlives its crashes. */
  wrapStorage?: (node: string, storage: SimulatedStorage) => ElectionStorage;
  /**
   * `ledger`: the demo ledger orders heights. `idle`: an election-only run;
   * the round machine has nothing to do (see `idleApp.ts`).
   */
  app: 'ledger' | 'idle';
  ledgerOptions: Omit<LedgerNodeOptions, 'self' | 'members' | 'clock' | 'random' | 'send' | 'store' | 'onPublish' | 'keys'>;
  /** The cluster's keys; none: engines without keys (runs that break a round-change rule on purpose). */
  keys?: ClusterKeys;
  timeouts: Partial<RoundTimeouts>;
  electionTiming?: Partial<ElectionTiming>;
  /** How long a restarted node listens before it votes (`LedgerNodeOptions.listenFirstMs`). */
  rejoinQuietMs: number;
  /** How long each write of a node's safety data takes, drawn per write (0–0: at once). */
  storageMs: { min: number; max: number };
  onFinalized: (node: string, frame: LedgerFrame, via: 'commit' | 'sync') => void;
  /** A node published a message of its own (what it sends to every peer, said once). */
  onPublish: (node: string, message: LedgerMessage) => void;
  /** A node committed `rank` in `attempt` (0 = the first). */
  onCommitAttempt: (node: string, rank: number, attempt: number) => void;
  /** A node's engine appended `entry` to its commit log (ranks adopted through sync are not logged). */
  onLogAppend?: (node: string, entry: LogEntry<LedgerFrame, LedgerPeer>) => void;
  /** Entries each honest node keeps proposed (`engine.propose`); 0 or absent: none. */
  clients?: number;
  /** Each honest node hosts the coordination services (`stateMachine`), reached through `servicePort`. */
  services?: boolean;
  /** A proposal of `node` settled; `carried`: for `committed`, whether the log entry at its index carries it. */
  onProposalSettled?: (node: string, payload: string, outcome: ProposalOutcome, carried: boolean) => void;
  onAttemptChange: (node: string, change: AttemptChange) => void;
  onDelivered: (node: string, from: string, message: LedgerMessage, outcome: DeliveryOutcome) => void;
  onElectionDelivered: (node: string, from: string, raw: unknown, outcome: ElectionDeliveryOutcome) => void;
  onTransition: (node: string, from: string, to: string, event: string) => void;
  onRoleChange: (node: string, from: ElectionRole, to: ElectionRole, term: number) => void;
  onLeaderChange: (node: string, leader: string | null, term: number) => void;
  onTermChange: (node: string, from: number, to: number) => void;
  /** The engine threw something untyped, or an actor failed. */
  onEngineFailure: (node: string, error: unknown) => void;
  /** Where every honest node's metrics go (a `node` label each); none: nodes are not metered. */
  metricsRegistry?: Registry<RegistryContentType>;
  /** An inspection observer per incarnation (1 for the first boot); none: the node is not inspected. */
  inspect?: (node: string, incarnation: number) => Observer<InspectionEvent> | ((event: InspectionEvent) => void) | undefined;
}

/**
 * One honest member: a `createNode` (round machine + election) driven by a
 * ledger node, with a ledger store and an election storage that outlive
 * crashes. A crash stops the node's actor system on the spot (no cleanup,
 * like a killed process) and detaches it from the network; a restart builds a
 * new ledger node and node over the same stores: the ledger re-syncs from
 * peers, the election reloads its term and vote before it answers anyone.
 */
export class HonestNode {
  readonly store = new LedgerStore();
  /** Term and vote, the round's lock and the commit log; the same object across restarts, as a disk would be. */
  readonly electionStorage: SimulatedStorage;
  /** Null in an election-only run. */
  ledger: LedgerNode | null = null;
  node!: SimNode;
  crashes = 0;
  framesSynced = 0;
  peakHeldMessages = 0;
  down = false;
  /** Times this node started following a leader other than the one it followed before (restarts included). */
  leaderChanges = 0;
  /** Granted (non-pre-)votes this node sent. */
  votesGranted = 0;
  private lastLeader: string | null = null;
  private previousTransitions = 0;
  private previousProviderErrors = 0;
  readonly refused: Record<string, number> = {};
  /** One for every incarnation: a restarted node's counters go on from where they were. */
  private metrics: EngineMetrics | null = null;
  private detachMetrics: (() => void) | null = null;

  constructor(
    readonly name: string,
    private readonly world: HonestNodeWorld,
    private readonly random: RandomSource,
    private readonly electionRandom: RandomSource,
    /** A store on disk (`--storage disk`); in memory by default. */
    storage?: DiskStorage,
  ) {
    this.electionStorage = storage ?? new InMemoryElectionStorage();
    this.disk = storage ?? null;
    this.servicePort = new SimulatedServicePort(name, world.clock, () =>
      this.down || this.host === null || this.ledger === null ? null : { node: this.node, host: this.host },
    );
  }

  private readonly disk: DiskStorage | null;
  /** This incarnation's coordination services, when the run hosts them. */
  private host: CoordinationHost<LedgerFrame> | null = null;
  /** A client's way in, across this node's crashes and restarts. */
  readonly servicePort: SimulatedServicePort;

  /** This incarnation's coordination services (to read, as a viewer does); null when the run hosts none, or in an election-only run. */
  get services(): CoordinationHost<LedgerFrame> | null {
    return this.host;
  }

  /** Each write of the safety data takes its time on the simulated clock, as a slow disk's would. */
  private slowDisk(): void {
    const { min, max } = this.world.storageMs;
    if (max <= 0) return;
    const random = this.random.fork();
    this.electionStorage.hooks = {
      beforeSave: () => new Promise<void>((resolve) => this.world.clock.setTimeout(resolve, random.integer(min, max))),
    };
  }

  boot(): void {
    const { world, name } = this;
    const restart = this.crashes > 0;
    this.slowDisk();
    const storage = world.wrapStorage ? world.wrapStorage(name, this.electionStorage) : this.electionStorage;
    const election = { storage, random: this.electionRandom.fork(), timing: world.electionTiming };
    const inspect = world.inspect?.(name, this.crashes + 1);
    const inspected = inspect === undefined ? {} : { inspect };
    if (world.app === 'ledger') {
      this.ledger = new LedgerNode({
        ...world.ledgerOptions,
        ...(world.keys === undefined
          ? {}
          : { keys: { privateKey: world.keys.privateKeyOf(name), publicKeys: world.keys.publicKeys, verifier: world.keys.verifier } }),
        listenFirstMs: restart ? world.rejoinQuietMs : 0,
        self: name,
        members: world.members,
        clock: world.clock,
        // A fresh stream per incarnation, drawn from the node's own.
        random: this.random.fork(),
        send: (to, message) => world.send(name, to, message),
        onPublish: (message) => world.onPublish(name, message),
        store: this.store,
      });
      const config = this.ledger.engineConfig();
      // The engine starts at the store's head, so the services must stand where it leaves them: a
      // restarted node rebuilds them from the frames it kept, as a process would from its disk.
      this.host = world.services ? ledgerCoordination() : null;
      for (const frame of this.host === null ? [] : this.store.chain()) if (frame.height > 0) this.host!.apply(frame, frame.height);
      // The round's lock and attempts live beside the term and vote, in the storage that outlives crashes.
      this.node = createNode({
        ...config,
        ...(this.host === null ? {} : { stateMachine: this.host }),
        timeouts: { ...config.timeouts, ...world.timeouts },
        election,
        storage: this.electionStorage,
        ...inspected,
      });
      this.ledger.attach(this.node);
      this.ledger.onFinalized((frame, via) => {
        if (via === 'sync') this.framesSynced += 1;
        world.onFinalized(name, frame, via);
      });
    } else {
      this.node = createNode({
        id: new LedgerPeer(name),
        initialState: this.store.head(),
        members: world.members.map((member) => new LedgerPeer(member)),
        providers: idleProviders(),
        codec: ledgerCodec,
        rankWindow: world.ledgerOptions.rankWindow,
        clock: world.clock,
        timeouts: world.timeouts,
        election,
        ...inspected,
      });
    }
    const node = this.node;
    const failed = (error: unknown) => world.onEngineFailure(name, error);
    node.actor.subscribe({ error: failed });
    node.roundActor.subscribe({ error: failed });
    node.electionActor.subscribe({ error: failed });
    node.addListener((from, to, event) => world.onTransition(name, from, to, event));
    node.onCommit(({ rank, attempt }) => {
      world.onCommitAttempt(name, rank, attempt);
      this.propose();
    });
    // Synchronously, as each entry enters the log (committed, or filled in
    // from peers after a sync): seen at the instant it was made, and the
    // listener goes with the engine (no follower to end).
    node.onLogEntry((entry) => world.onLogAppend?.(name, entry));
    node.onAttemptChange((change) => world.onAttemptChange(name, change));
    node.onRoleChange((from, to, term) => world.onRoleChange(name, from, to, term));
    node.onLeaderChange((leader, term) => {
      const id = leader === null ? null : leader.identity();
      if (id !== null) {
        if (this.lastLeader !== null && this.lastLeader !== id) this.leaderChanges += 1;
        this.lastLeader = id;
      }
      world.onLeaderChange(name, id, term);
    });
    node.actor.on('term_changed', ({ from, to }) => world.onTermChange(name, from, to));
    node.onOutbound((to, message) => {
      if (message.type === 'request_vote_response' && message.granted && !message.preVote) this.votesGranted += 1;
      world.sendElection(name, to.identity(), message);
    });
    if (world.metricsRegistry !== undefined) {
      this.metrics ??= createEngineMetrics({ registry: world.metricsRegistry, labels: { node: name } });
      this.detachMetrics = attachNodeMetrics(node, this.metrics, { clock: world.clock });
    }
    world.network.attach(name, (from, message) => this.receive(from, message));
    world.electionNetwork.attach(name, (from, raw) => this.receiveElection(from, raw));
    this.down = false;
    if (this.ledger !== null) this.ledger.start();
    else node.start();
    this.propose();
  }

  /** Keeps `world.clients` of this node's entries proposed, each outcome checked against the log. */
  private propose(): void {
    const clients = this.world.clients ?? 0;
    const node = this.node;
    if (clients === 0 || this.down || this.ledger === null) return;
    for (let i = 0; i < clients && node.getPendingProposalCount() < clients; i += 1) {
      // A name of its own per client entry, over every incarnation: `c-` keeps it apart from the node's own entries.
      const payload = `tx:c-${this.name}:${(this.proposed += 1)}:0`;
      node.propose(payload).then(
        (outcome) => {
          const carried = outcome.outcome === 'committed' && (node.log.get(outcome.index)?.payload.entries.includes(payload) ?? false);
          this.world.onProposalSettled?.(this.name, payload, outcome, carried);
        },
        // Refused or stopped: a proposal no one acknowledged.
        () => this.world.onProposalSettled?.(this.name, payload, { outcome: 'aborted', reason: 'stopped' }, false),
      );
    }
  }

  /** Client entries proposed so far, over every incarnation. */
  private proposed = 0;

  crash(): void {
    if (this.down) return;
    this.down = true;
    this.crashes += 1;
    this.previousTransitions += this.node.getTransitionCount();
    this.previousProviderErrors += this.node.getProviderErrorCount();
    this.world.network.detach(this.name);
    this.world.electionNetwork.detach(this.name);
    this.ledger?.halt();
    this.detachMetrics?.();
    this.detachMetrics = null;
    this.node.actor.stop();
    // The restart reads what a fresh open of the directory finds.
    void this.disk?.reopen().catch((error: unknown) => this.world.onEngineFailure(this.name, error));
  }

  get transitions(): number {
    return this.previousTransitions + (this.down ? 0 : this.node.getTransitionCount());
  }

  get providerErrors(): number {
    return this.previousProviderErrors + (this.down ? 0 : this.node.getProviderErrorCount());
  }

  head(): LedgerFrame {
    return this.store.head();
  }

  /** The election as this node sees it now; a down node reports its stored term. */
  election(): NodeElectionState {
    if (this.down) return { name: this.name, role: 'down', leader: null, term: this.electionStorage.peekHardState()?.term ?? 0 };
    return this.liveElection();
  }

  /** The election of a node that is up (what the liveness windows look at). */
  liveElection(): ElectionView {
    return { name: this.name, role: this.node.getRole(), leader: this.node.getLeader()?.identity() ?? null, term: this.node.getTerm() };
  }

  halt(): void {
    if (this.down) return;
    this.ledger?.halt();
    this.node.actor.stop();
  }

  private receive(from: string, message: LedgerMessage): void {
    if (this.ledger === null) return;
    let outcome: DeliveryOutcome;
    try {
      outcome = this.ledger.deliver(from, message);
    } catch (error) {
      this.world.onEngineFailure(this.name, error);
      return;
    }
    if (outcome !== 'accepted' && outcome !== 'duplicate' && outcome !== 'answered') {
      this.refused[outcome] = (this.refused[outcome] ?? 0) + 1;
    }
    this.world.onDelivered(this.name, from, message, outcome);
  }

  private receiveElection(from: string, raw: unknown): void {
    const message = this.world.tamperIncoming ? this.world.tamperIncoming(from, this.name, raw) : raw;
    let outcome: ElectionDeliveryOutcome = 'accepted';
    try {
      this.node.receiveElectionMessage(from, message);
    } catch (error) {
      if (!(error instanceof ElectionMessageError)) {
        this.world.onEngineFailure(this.name, error);
        return;
      }
      outcome = error.code;
      const key = `election_${error.code}`;
      this.refused[key] = (this.refused[key] ?? 0) + 1;
    }
    this.world.onElectionDelivered(this.name, from, raw, outcome);
  }
}
