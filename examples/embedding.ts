// A single node embedded in an app: the app supplies the providers (here, a
// tiny counter ledger) and feeds peers' messages in; the engine runs the
// rounds and reports every commit.
import {
  createConsensusEngine,
  SimulatedClock,
  type ConsensusProviders,
  type Unique,
} from 'statechart-consensus';

class NodeId implements Unique {
  constructor(readonly name: string) {}
  identity() { return this.name; }
  clone() { return new NodeId(this.name) as this; }
  rank() { return 0; }
}

class Block implements Unique {
  constructor(readonly height: number, readonly total: number) {}
  identity() { return `block-${this.height}-${this.total}`; }
  clone() { return new Block(this.height, this.total) as this; }
  rank() { return this.height; }
}

class Vote implements Unique {
  constructor(readonly height: number, readonly block: string) {}
  identity() { return `vote-${this.block}`; }
  clone() { return new Vote(this.height, this.block) as this; }
  rank() { return this.height; }
}

class Deposits implements Unique {
  constructor(readonly height: number, readonly amounts: number[]) {}
  identity() { return `deposits-${this.height}-${this.amounts.join('+')}`; }
  clone() { return new Deposits(this.height, [...this.amounts]) as this; }
  rank() { return this.height; }
}

export async function runEmbeddedNode(rounds: number): Promise<Block[]> {
  const self = new NodeId('alice');
  const clock = new SimulatedClock();
  // Proving takes (simulated) time, as real proofs do.
  const proofDelay = (signal: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      const timer = clock.setTimeout(resolve, 5);
      signal.addEventListener('abort', () => (clock.clearTimeout(timer), reject(signal.reason)));
    });

  const providers: ConsensusProviders<Block, Vote, NodeId, Deposits> = {
    sync: { synchronize: async (existing) => existing },
    leader: {
      getNextLeaders: async () => [self],
      proveNextState: async (prior, deposits, signal) => {
        await proofDelay(signal);
        return new Block(prior.height + 1, prior.total + deposits.amounts.reduce((a, b) => a + b, 0));
      },
    },
    liveness: {
      collect: async () => new Deposits(engine.getActiveRank() + 1, [10, 5]),
      sendLiveness: async () => {}, // broadcast to peers here
    },
    voting: {
      sendProposal: async () => {},
      decideAndSendVote: async (proposals) => {
        const block = proposals.get(self.identity())!;
        return { proposer: self, vote: new Vote(block.height, block.identity()) };
      },
      finalizeVotes: async (proposals) => ({ state: proposals.get(self.identity())!, proposer: self }),
      sendConfirmation: async () => {},
    },
  };

  const engine = createConsensusEngine({
    id: self,
    // The engine counts every quorum over the members (weight 1 each unless given).
    members: [self],
    initialState: new Block(0, 0),
    providers,
    // A peer's values are rebuilt from plain data by the app's own code, never kept as sent.
    codec: {
      state: { decode: (data) => { const { height, total } = data as Block; return new Block(Number(height), Number(total)); } },
      vote: { decode: (data) => { const { height, block } = data as Vote; return new Vote(Number(height), String(block)); } },
    },
    clock,
    timeouts: { starting: 10 },
  });

  const committed: Block[] = [];
  engine.onCommit(({ state }) => committed.push(state));
  engine.addListener((from, to, event) => console.debug(`${from} -> ${to} on ${event}`));
  // A peer's message from the network goes straight in; refusals are typed:
  // engine.receiveProposal(peerId, block) throws a ConsensusInputError.

  engine.start();
  while (committed.length < rounds) {
    clock.increment(1);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await engine.stop();
  return committed;
}
