import { SimulatedClock } from 'xstate';
import { ConsensusInputError } from '../../engine/errors';
import type { ElectionEmitted, ElectionRole } from '../../machines/election.machine';
import type { ElectionMessage, ElectionTiming } from '../../machines/election.schemas';
import { createNode, type ConsensusNode } from '../../node/createNode';
import type { NodeConfig } from '../../node/config';
import { createSeededRandom, type RandomSource } from '../../providers/random';
import { InMemoryElectionStorage, type NodeStorage } from '../../providers/storage';
import { Ballot, Batch, Frame, fixtureCodec, Peer } from '../support/fixtures';
import { sleep } from '../support/time';

/**
 * N nodes (round + election) on one `SimulatedClock`, with an in-test bus for
 * both protocols and an honest app in which only the first prover of a
 * round's order gets its proof done: the others' proofs outlast the proving
 * timeout, so each rank has one proposal and a round's prover is exactly the
 * head of the order it ran under. A voter backs the proposal of the
 * highest-priority prover it has. One seed reproduces a whole run.
 */

export type TestNode = ConsensusNode<Frame, Ballot, Peer, Batch>;

export interface NodeClusterOptions {
  readonly seed: number;
  readonly size: number;
  /** Simulated time the first prover's proof takes. */
  readonly proofMs?: number;
  /** The round's proving timeout: how long the other provers try before they vote. */
  readonly provingTimeoutMs?: number;
  readonly roundLatencyMs?: number;
  /** One-way election message latency, drawn per message. */
  readonly electionLatency?: { readonly min: number; readonly max: number };
  readonly timing?: Partial<ElectionTiming>;
  readonly nodeConfig?: Partial<NodeConfig<Frame, Ballot, Peer, Batch>>;
  /**
   * An app with no ordering of its own: every prover proves as fast as the
   * first, and every voter votes for the first proposal it is offered.
   */
  readonly naive?: boolean;
  /** Where a node keeps term, vote, lock and log instead of the cluster's in-memory storage (e.g. a store on disk). */
  readonly storeFor?: (name: string) => NodeStorage;
  /** Runs after every millisecond of simulated time: real work (a disk's writes) finishes before the clock moves on. */
  readonly settle?: () => Promise<void>;
}

export interface CommitSeen {
  readonly rank: number;
  readonly hash: string;
  readonly proposer: string | null;
  readonly at: number;
  /** The attempt whose confirmations committed it (0: the first). */
  readonly attempt: number;
}

export interface RoleSeen {
  readonly at: number;
  readonly from_role: ElectionRole;
  readonly to_role: ElectionRole;
  readonly term: number;
}

export class NodeCluster {
  readonly clock = new SimulatedClock();
  readonly names: readonly string[];
  readonly storage = new Map<string, InMemoryElectionStorage>();
  readonly commits = new Map<string, CommitSeen[]>();
  /** What each node emitted through `onRoleChange`, across restarts. */
  readonly roles = new Map<string, RoleSeen[]>();
  /** What each node's election machine itself emitted as `role_changed`, to check the relay. */
  readonly electionRoles = new Map<string, RoleSeen[]>();
  readonly leaderChanges = new Map<string, { at: number; leader: string | null; term: number }[]>();
  /** Round messages a node refused (stale ones are normal after a commit). */
  readonly roundRejections: { to: string; from: string; error: ConsensusInputError }[] = [];
  /** Election messages a node refused: an honest cluster has none. */
  readonly electionRejections: unknown[] = [];

  private readonly nodes = new Map<string, TestNode>();
  private readonly crashed = new Set<string>();
  private readonly root: RandomSource;
  private readonly network: RandomSource;
  private readonly opts: Required<Omit<NodeClusterOptions, 'timing' | 'nodeConfig' | 'naive' | 'storeFor' | 'settle'>> &
    Pick<NodeClusterOptions, 'timing' | 'nodeConfig' | 'naive' | 'storeFor' | 'settle'>;

  constructor(options: NodeClusterOptions) {
    this.opts = { proofMs: 10, provingTimeoutMs: 25, roundLatencyMs: 1, electionLatency: { min: 1, max: 5 }, ...options };
    this.names = Array.from({ length: options.size }, (_, i) => `n${i + 1}`);
    this.root = createSeededRandom(options.seed);
    this.network = this.root.fork();
    for (const name of this.names) {
      this.storage.set(name, new InMemoryElectionStorage());
      this.commits.set(name, []);
      this.roles.set(name, []);
      this.electionRoles.set(name, []);
      this.leaderChanges.set(name, []);
    }
  }

  /** Creates (or, after a crash, re-creates over the same storage) `name`'s node and starts it. */
  boot(name: string): TestNode {
    if (this.nodes.has(name) && !this.crashed.has(name)) throw new Error(`${name} is running`);
    this.crashed.delete(name);
    return this.attach(name, createNode<Frame, Ballot, Peer, Batch>(this.configFor(name)));
  }

  /** What `boot` builds `name`'s node from: its providers on this cluster's bus, its storage, the cluster's clock. */
  configFor(name: string): NodeConfig<Frame, Ballot, Peer, Batch> {
    return {
      id: new Peer(name),
      initialState: Frame.genesis(),
      members: this.names.map((n) => new Peer(n)),
      // Crash faults only: a majority is a quorum.
      faultTolerance: 0,
      providers: this.providersFor(name),
      codec: fixtureCodec,
      election: { storage: this.opts.storeFor?.(name) ?? this.storage.get(name)!, random: this.root.fork(), timing: this.opts.timing },
      clock: this.clock,
      timeouts: { starting: 10, proving: this.opts.provingTimeoutMs },
      ...this.opts.nodeConfig,
    };
  }

  /** Wires a node built from `configFor(name)` (by `createNode` or `openNode`) into the cluster, and starts it. */
  attach(name: string, node: TestNode): TestNode {
    this.crashed.delete(name);
    const at = () => this.clock.now();
    node.onCommit((commit) =>
      this.commits.get(name)!.push({
        rank: commit.rank,
        hash: commit.state.hash,
        proposer: commit.proposer?.identity() ?? null,
        at: at(),
        attempt: commit.attempt,
      }),
    );
    node.onRoleChange((from_role, to_role, term) => this.roles.get(name)!.push({ at: at(), from_role, to_role, term }));
    node.electionActor.on('*', (event) => {
      const emitted = event as ElectionEmitted;
      if (emitted.type === 'role_changed') {
        this.electionRoles.get(name)!.push({ at: at(), from_role: emitted.from, to_role: emitted.to, term: emitted.term });
      }
    });
    node.onLeaderChange((leader, term) =>
      this.leaderChanges.get(name)!.push({ at: at(), leader: leader?.identity() ?? null, term }),
    );
    node.onOutbound((to, message) => this.transmitElection(name, to.identity(), message));
    this.nodes.set(name, node);
    node.start();
    return node;
  }

  bootAll(): void {
    for (const name of this.names) this.boot(name);
  }

  /** The process dies: its actors stop, its links go dead, its storage stays. */
  crash(name: string): void {
    this.node(name).actor.stop();
    this.crashed.add(name);
  }

  node(name: string): TestNode {
    const node = this.nodes.get(name);
    if (node === undefined) throw new Error(`${name} was never booted`);
    return node;
  }

  alive(): string[] {
    return this.names.filter((name) => this.nodes.has(name) && !this.crashed.has(name));
  }

  /** Running nodes that lead right now. */
  leaders(): string[] {
    return this.alive().filter((name) => this.node(name).getRole() === 'leader');
  }

  /** The leader every running node follows, or null while they disagree or one has none. */
  agreedLeader(): string | null {
    const seen = new Set(this.alive().map((name) => this.node(name).getLeader()?.identity() ?? null));
    const [only] = [...seen];
    return seen.size === 1 && only !== null ? only : null;
  }

  /** Fewest commits among running nodes. */
  minCommits(): number {
    return Math.min(...this.alive().map((name) => this.commits.get(name)!.length));
  }

  /** Moves simulated time 1 ms at a time (election timers are ms-exact), settling promises after each. */
  async advance(ms: number): Promise<void> {
    for (let elapsed = 0; elapsed < ms; elapsed += 1) {
      this.clock.increment(1);
      await new Promise((resolve) => setImmediate(resolve));
      await this.opts.settle?.();
    }
  }

  /** Advances until `done()` holds; throws after `limitMs` of simulated time. Returns the time taken. */
  async advanceUntil(done: () => boolean, limitMs: number): Promise<number> {
    const start = this.clock.now();
    while (!done()) {
      if (this.clock.now() - start >= limitMs) throw new Error(`condition not reached within ${limitMs} ms (seed ${this.opts.seed})`);
      await this.advance(1);
    }
    return this.clock.now() - start;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.alive().map((name) => this.node(name).stop()));
  }

  private linkUp(from: string, to: string): boolean {
    return !this.crashed.has(from) && !this.crashed.has(to) && this.nodes.has(to);
  }

  private transmitElection(from: string, to: string, message: ElectionMessage): void {
    if (!this.linkUp(from, to)) return;
    // Through JSON, as over a wire, so every delivery goes through the schemas.
    const wire = JSON.stringify(message);
    const { min, max } = this.opts.electionLatency;
    this.clock.setTimeout(() => {
      if (!this.linkUp(from, to)) return;
      try {
        this.node(to).receiveElectionMessage(from, JSON.parse(wire));
      } catch (error) {
        this.electionRejections.push(error);
      }
    }, this.network.integer(min, max));
  }

  private sendRound(from: string, to: string, deliver: (node: TestNode) => void): void {
    this.clock.setTimeout(() => {
      if (!this.linkUp(from, to)) return;
      try {
        deliver(this.node(to));
      } catch (error) {
        if (!(error instanceof ConsensusInputError)) throw error;
        this.roundRejections.push({ to, from, error });
      }
    }, this.opts.roundLatencyMs);
  }

  private broadcastRound(from: string, deliver: (node: TestNode) => void): void {
    for (const to of this.names) if (to !== from) this.sendRound(from, to, deliver);
  }

  /** The prover order the node's round is using for the rank it decides. */
  private proverOrder(name: string): string[] {
    return this.node(name).roundActor.getSnapshot().context.nextProvers.map((prover) => prover.identity());
  }

  private providersFor(name: string): NodeConfig<Frame, Ballot, Peer, Batch>['providers'] {
    const self = new Peer(name);
    const { clock } = this;
    // finalizeVotes is given the votes of the group that locked; the frame they name is the one to finalize.
    const tally = (votes: ReadonlyMap<string, Ballot>) => {
      const counts = new Map<string, number>();
      for (const vote of votes.values()) counts.set(vote.frame, (counts.get(vote.frame) ?? 0) + 1);
      return counts;
    };
    return {
      sync: { synchronize: async (existing) => existing },
      prover: {
        proveNextState: async (prior, collected, signal) => {
          const first = this.opts.naive === true || this.proverOrder(name)[0] === name;
          // A backup's proof is still running when the proving timeout aborts it.
          await sleep(clock, first ? this.opts.proofMs : this.opts.provingTimeoutMs * 10, signal);
          return new Frame(prior.height + 1, prior.hash, collected.items.join(','), name);
        },
      },
      liveness: {
        collect: async () => {
          const height = this.node(name).getActiveRank() + 1;
          return new Batch(height, [`tx-${height}`]);
        },
        sendLiveness: async (_prior, collected) => {
          this.broadcastRound(name, (node) => node.receiveLivenessCheck(self, collected.clone()));
        },
      },
      voting: {
        sendProposal: async (proposal, _signal, { attempt, validAttempt }) => {
          this.broadcastRound(name, (node) => node.receiveProposal(self, proposal.clone(), { attempt, validAttempt }));
        },
        decideAndSendVote: async (proposals, _signal, { rank: height, attempt }) => {
          const chosen =
            this.opts.naive === true
              ? [...proposals.keys()][0]
              : (this.proverOrder(name).find((prover) => proposals.has(prover)) ?? [...proposals.keys()][0]);
          if (chosen === undefined) {
            // Nothing this node may vote for in this attempt: a nil vote.
            const nil = new Ballot(height, name, '', 'nil');
            this.broadcastRound(name, (node) => node.receiveNilVote(self, nil.clone(), { attempt }));
            return { proposer: null, vote: nil };
          }
          const frame = proposals.get(chosen)!;
          const vote = new Ballot(height, name, chosen, frame.hash);
          this.broadcastRound(name, (node) =>
            node.receiveVote(new Peer(chosen), self, vote.clone(), { attempt, proposal: frame.hash }),
          );
          return { proposer: new Peer(chosen), vote };
        },
        finalizeVotes: async (proposals, votes) => {
          const [frameHash] = [...tally(votes).entries()].sort((a, b) => b[1] - a[1])[0];
          const frame = [...proposals.values()].find((p) => p.hash === frameHash);
          if (!frame) throw new Error(`no proposal recorded for the quorum's frame ${frameHash}`);
          return { state: frame, proposer: new Peer(frame.prover) };
        },
        sendConfirmation: async (state, _signal, { attempt }) => {
          this.broadcastRound(name, (node) => node.receiveConfirmation(self, state.clone(), { attempt }));
        },
        sendNilConfirmation: async ({ rank, attempt }) => {
          this.broadcastRound(name, (node) => node.receiveNilConfirmation(self, { rank, attempt }));
        },
      },
    };
  }
}
