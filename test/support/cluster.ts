import { SimulatedClock } from 'xstate';
import {
  ConsensusInputError,
  createConsensusEngine,
  type ConsensusEngine,
  type ConsensusEngineConfig,
  type ConsensusProviders,
} from '../../index';
import { Ballot, Batch, Frame, fixtureCodec, Peer } from './fixtures';
import { sleep } from './time';

export type TestEngine = ConsensusEngine<Frame, Ballot, Peer, Batch>;

/** How a faulty node misbehaves in the in-test cluster. */
export type Fault = 'equivocate-votes';

export interface ClusterOptions {
  nodes: number;
  /** Provers of a height, priority order. Default: every node, rotated by height. */
  provers?: (height: number) => string[];
  /** The faulty weight the engines tolerate (default the most n allows); the engines count quorums from it. */
  faultTolerance?: number;
  minimumProvers?: number;
  livenessThreshold?: number;
  proposalThreshold?: number;
  /** Simulated time a proof takes. */
  proofMs?: number;
  /** Simulated one-way message latency. */
  latencyMs?: number;
  faults?: Record<string, Fault>;
  engineConfig?: Partial<ConsensusEngineConfig<Frame, Ballot, Peer, Batch>>;
  /** Per-node config on top of `engineConfig`, e.g. one trace logger per node. */
  engineConfigFor?: (name: string) => Partial<ConsensusEngineConfig<Frame, Ballot, Peer, Batch>>;
  /** Replaces a node's honest providers, e.g. with faulty wrappers around them. */
  wrapProviders?: (
    name: string,
    honest: ConsensusProviders<Frame, Ballot, Peer, Batch>,
  ) => ConsensusProviders<Frame, Ballot, Peer, Batch>;
}

export interface Rejection {
  to: string;
  from: string;
  error: ConsensusInputError;
}

/**
 * A minimal cluster for tests: every node's providers talk over one in-memory
 * bus whose deliveries are scheduled on the shared simulated clock.
 */
export class TestCluster {
  readonly clock = new SimulatedClock();
  readonly names: string[];
  readonly engines = new Map<string, TestEngine>();
  readonly commits = new Map<string, Frame[]>();
  readonly rejections: Rejection[] = [];
  readonly proofCalls = new Map<string, number>();
  private readonly options: Required<
    Omit<ClusterOptions, 'engineConfig' | 'faults' | 'engineConfigFor' | 'wrapProviders' | 'faultTolerance'>
  > &
    Pick<ClusterOptions, 'engineConfig' | 'faults' | 'engineConfigFor' | 'wrapProviders' | 'faultTolerance'>;

  constructor(options: ClusterOptions) {
    this.names = Array.from({ length: options.nodes }, (_, i) => `n${i}`);
    const everyoneRotated = (height: number) =>
      this.names.map((_, i) => this.names[(i + height) % this.names.length]);
    this.options = {
      provers: everyoneRotated,
      minimumProvers: 1,
      livenessThreshold: options.livenessThreshold ?? options.minimumProvers ?? 1,
      proposalThreshold: options.proposalThreshold ?? options.minimumProvers ?? 1,
      proofMs: 10,
      latencyMs: 1,
      ...options,
    };
    for (const name of this.names) {
      this.commits.set(name, []);
      this.proofCalls.set(name, 0);
      const engine = createConsensusEngine<Frame, Ballot, Peer, Batch>({
        id: new Peer(name),
        initialState: Frame.genesis(),
        providers: options.wrapProviders?.(name, this.providersFor(name)) ?? this.providersFor(name),
        minimumProvers: this.options.minimumProvers,
        livenessThreshold: this.options.livenessThreshold,
        proposalThreshold: this.options.proposalThreshold,
        members: this.names.map((n) => new Peer(n)),
        ...(options.faultTolerance === undefined ? {} : { faultTolerance: options.faultTolerance }),
        codec: fixtureCodec,
        clock: this.clock,
        timeouts: { starting: 10 },
        ...options.engineConfig,
        ...options.engineConfigFor?.(name),
      });
      engine.onCommit((commit) => this.commits.get(name)!.push(commit.state));
      this.engines.set(name, engine);
    }
  }

  engine(name: string): TestEngine {
    return this.engines.get(name)!;
  }

  honest(): string[] {
    return this.names.filter((name) => this.options.faults?.[name] === undefined);
  }

  startAll(): void {
    for (const engine of this.engines.values()) engine.start();
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.engines.values()].map((engine) => engine.stop()));
  }

  /** Lowest number of commits among honest nodes. */
  minCommits(): number {
    return Math.min(...this.honest().map((name) => this.commits.get(name)!.length));
  }

  /** Delivers `message` to `to` after the bus latency; refusals are kept as evidence. */
  send(from: string, to: string, deliver: (engine: TestEngine) => void): void {
    this.clock.setTimeout(() => {
      try {
        deliver(this.engine(to));
      } catch (error) {
        if (!(error instanceof ConsensusInputError)) throw error;
        this.rejections.push({ to, from, error });
      }
    }, this.options.latencyMs);
  }

  broadcast(from: string, deliver: (engine: TestEngine) => void): void {
    for (const to of this.names) if (to !== from) this.send(from, to, deliver);
  }

  private providersFor(name: string): ConsensusProviders<Frame, Ballot, Peer, Batch> {
    const self = new Peer(name);
    const { clock } = this;
    const fault = this.options.faults?.[name];
    // finalizeVotes is given the votes of the group that locked; the frame they name is the one to finalize.
    const votesFor = (votes: ReadonlyMap<string, Ballot>) => {
      const tally = new Map<string, number>();
      for (const vote of votes.values()) tally.set(vote.frame, (tally.get(vote.frame) ?? 0) + 1);
      return tally;
    };
    return {
      sync: { synchronize: async (existing) => existing },
      leader: {
        getNextLeaders: async (prior) => this.options.provers(prior.height + 1).map((n) => new Peer(n)),
        proveNextState: async (prior, collected, signal) => {
          this.proofCalls.set(name, this.proofCalls.get(name)! + 1);
          await sleep(clock, this.options.proofMs, signal);
          return new Frame(prior.height + 1, prior.hash, collected.items.join(','), name);
        },
      },
      liveness: {
        collect: async () => {
          const height = this.engine(name).getActiveRank() + 1;
          return new Batch(height, [`tx-${height}`]);
        },
        sendLiveness: async (_prior, collected) => {
          this.broadcast(name, (engine) => engine.receiveLivenessCheck(self, collected.clone()));
        },
      },
      voting: {
        sendProposal: async (proposal, _signal, { attempt, validAttempt }) => {
          this.broadcast(name, (engine) => engine.receiveProposal(self, proposal.clone(), { attempt, validAttempt }));
        },
        decideAndSendVote: async (proposals, _signal, { rank: height, attempt }) => {
          const order = this.options.provers(height);
          const chosen = order.find((prover) => proposals.has(prover));
          if (chosen === undefined) {
            // Nothing this node may vote for in this attempt: a nil vote.
            const nil = new Ballot(height, name, '', 'nil');
            this.broadcast(name, (engine) => engine.receiveNilVote(self, nil.clone(), { attempt }));
            return { proposer: null, vote: nil };
          }
          const frame = proposals.get(chosen)!;
          const vote = new Ballot(height, name, chosen, frame.hash);
          if (fault === 'equivocate-votes') {
            // Tell half the cluster one thing and the other half another, and
            // send one peer both, so the conflict is visible to someone.
            const other = order.find((prover) => prover !== chosen && proposals.has(prover)) ?? chosen;
            const otherFrame = proposals.get(other)!;
            const otherVote = new Ballot(height, name, other, otherFrame.hash);
            this.names
              .filter((to) => to !== name)
              .forEach((to, i) => {
                const [proposer, ballot, endorsed] =
                  i % 2 === 0 ? [chosen, vote, frame.hash] : [other, otherVote, otherFrame.hash];
                this.send(name, to, (engine) =>
                  engine.receiveVote(new Peer(proposer), self, ballot.clone(), { attempt, proposal: endorsed }),
                );
                if (i === 0) {
                  this.send(name, to, (engine) =>
                    engine.receiveVote(new Peer(other), self, otherVote.clone(), { attempt, proposal: otherFrame.hash }),
                  );
                }
              });
          } else {
            this.broadcast(name, (engine) =>
              engine.receiveVote(new Peer(chosen), self, vote.clone(), { attempt, proposal: frame.hash }),
            );
          }
          return { proposer: new Peer(chosen), vote };
        },
        finalizeVotes: async (proposals, votes) => {
          const [frameHash] = [...votesFor(votes).entries()].sort((a, b) => b[1] - a[1])[0];
          const frame = [...proposals.values()].find((p) => p.hash === frameHash);
          if (!frame) throw new Error(`no proposal recorded for the quorum's frame ${frameHash}`);
          return { state: frame, proposer: new Peer(frame.prover) };
        },
        sendConfirmation: async (state, _signal, { attempt }) => {
          this.broadcast(name, (engine) => engine.receiveConfirmation(self, state.clone(), { attempt }));
        },
        sendNilConfirmation: async ({ rank, attempt }) => {
          this.broadcast(name, (engine) => engine.receiveNilConfirmation(self, { rank, attempt }));
        },
      },
    };
  }
}
