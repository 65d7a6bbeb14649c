// Four nodes of one cluster embedded in an app. The app says what a block is
// and when one is valid, and carries messages; the engine signs them, checks
// every signature, counts every quorum, proves its locks and certifies each
// commit. Here the network is in memory, with 1 ms of latency on one clock.
import {
  createConsensusEngine,
  generateKeyPair,
  SimulatedClock,
  type CommitCertificate,
  type ConsensusEngine,
  type ConsensusProviders,
  type LockProof,
  type Unique,
} from 'statechart-consensus';

class NodeId implements Unique {
  constructor(readonly name: string) {}
  identity() { return this.name; }
  clone() { return new NodeId(this.name) as this; }
  rank() { return 0; }
}

/** A block adds one deposit to the running total; its identity names all of it. */
export class Block implements Unique {
  constructor(readonly height: number, readonly total: number, readonly prover: string) {}
  identity() { return `block-${this.height}-${this.total}-${this.prover}`; }
  clone() { return new Block(this.height, this.total, this.prover) as this; }
  rank() { return this.height; }
}

class Vote implements Unique {
  constructor(readonly height: number, readonly voter: string, readonly block: string) {}
  identity() { return `vote-${this.voter}-${this.block}`; }
  clone() { return new Vote(this.height, this.voter, this.block) as this; }
  rank() { return this.height; }
}

class Deposit implements Unique {
  constructor(readonly height: number, readonly node: string, readonly amount: number) {}
  identity() { return `deposit-${this.height}-${this.node}`; }
  clone() { return new Deposit(this.height, this.node, this.amount) as this; }
  rank() { return this.height; }
}

/** What travels between nodes: the arguments of the engine's receive calls, signatures included. */
export type Message =
  | { kind: 'liveness'; deposit: Deposit }
  | { kind: 'proposal'; block: Block; position: { attempt: number; validAttempt: number | null } }
  | { kind: 'vote'; proposer: string | null; vote: Vote; position: { attempt: number; proposal: string | null; signature?: string } }
  | { kind: 'confirmation'; block: Block | null; position: { rank: number; attempt: number; signature?: string } }
  | { kind: 'lockProof'; proof: LockProof }
  | { kind: 'certificate'; block: Block; certificate: CommitCertificate };

type Engine = ConsensusEngine<Block, Vote, NodeId, Deposit>;
export type Tamper = (from: string, to: string, message: Message) => Message;

function deliver(engine: Engine, from: string, m: Message): void {
  if (m.kind === 'liveness') engine.receiveLivenessCheck(from, m.deposit);
  else if (m.kind === 'proposal') engine.receiveProposal(from, m.block, m.position);
  else if (m.kind === 'vote' && m.proposer === null) engine.receiveNilVote(from, m.vote, m.position);
  else if (m.kind === 'vote') engine.receiveVote(m.proposer!, from, m.vote, m.position);
  else if (m.kind === 'confirmation' && m.block === null) engine.receiveNilConfirmation(from, m.position);
  else if (m.kind === 'confirmation') engine.receiveConfirmation(from, m.block!, m.position);
  else if (m.kind === 'lockProof') engine.receiveLockProof(m.proof);
  else engine.receiveCommitCertificate(m.block, m.certificate);
}

/** A block is valid on `prior` when it is the next one and adds a deposit of 1 to 100. */
const isValid = (block: Block, prior: Block) =>
  block.height === prior.height + 1 && block.total - prior.total >= 1 && block.total - prior.total <= 100;

export async function runCluster(rounds: number, tamper: Tamper = (_from, _to, m) => m): Promise<Map<string, Engine>> {
  const names = ['alice', 'bob', 'carol', 'dave'];
  const keys = new Map(names.map((name) => [name, generateKeyPair()]));
  const clock = new SimulatedClock();
  const engines = new Map<string, Engine>();

  const send = (from: string, to: string, message: Message) =>
    clock.setTimeout(() => {
      try {
        deliver(engines.get(to)!, from, tamper(from, to, message));
      } catch {
        // A refused message (a typed ConsensusInputError) changed nothing: drop it.
      }
    }, 1);
  const broadcast = (from: string, message: Message) => names.forEach((to) => to !== from && send(from, to, message));

  for (const self of names) {
    const out = (message: Message) => broadcast(self, message);
    const providers: ConsensusProviders<Block, Vote, NodeId, Deposit> = {
      sync: { synchronize: async (existing) => existing },
      leader: {
        // One prover per height, in turn; a later attempt of a height moves on to the next member.
        getNextLeaders: async (prior) => [new NodeId(names[(prior.height + 1) % names.length])],
        proveNextState: async (prior, deposit) => new Block(prior.height + 1, prior.total + deposit.amount, self),
      },
      liveness: {
        collect: async () => new Deposit(engine.getActiveRank() + 1, self, 10 + names.indexOf(self)),
        sendLiveness: async (_prior, deposit) => out({ kind: 'liveness', deposit }),
      },
      voting: {
        sendProposal: async (block, _signal, { attempt, validAttempt }) => out({ kind: 'proposal', block, position: { attempt, validAttempt } }),
        decideVote: async (proposals, _signal, { rank }) => {
          const prior = engine.getActiveState();
          const [prover, block] = [...proposals].find(([, b]) => isValid(b, prior)) ?? [];
          return block === undefined
            ? { proposer: null, vote: new Vote(rank, self, 'nil') }
            : { proposer: new NodeId(prover!), vote: new Vote(rank, self, block.identity()) };
        },
        sendVote: async ({ proposer, vote }, _signal, { attempt, proposal, signature }) =>
          out({ kind: 'vote', proposer: proposer?.name ?? null, vote, position: { attempt, proposal, signature } }),
        finalizeVotes: async (proposals) => {
          const [[prover, block]] = [...proposals];
          return { state: block, proposer: new NodeId(prover) };
        },
        sendConfirmation: async (block, _signal, position) => out({ kind: 'confirmation', block, position }),
        sendNilConfirmation: async (position) => out({ kind: 'confirmation', block: null, position }),
      },
      relay: {
        sendLockProof: (proof) => out({ kind: 'lockProof', proof }),
        sendCertificate: (to, block, certificate) => void send(self, to.name, { kind: 'certificate', block, certificate }),
      },
    };
    const engine: Engine = createConsensusEngine({
      id: new NodeId(self),
      members: names.map((name) => ({ id: new NodeId(name), publicKey: keys.get(name)!.publicKey })),
      privateKey: keys.get(self)!.privateKey,
      initialState: new Block(0, 0, ''),
      providers,
      // A peer's values are rebuilt from plain data by the app's own code, never kept as sent.
      codec: {
        state: { decode: (d) => { const b = d as Block; return new Block(Number(b.height), Number(b.total), String(b.prover)); } },
        vote: { decode: (d) => { const v = d as Vote; return new Vote(Number(v.height), String(v.voter), String(v.block)); } },
      },
      clock,
      timeouts: { starting: 10, attempt: 100 },
      warnOnRefusals: false,
    });
    engines.set(self, engine);
  }

  for (const engine of engines.values()) engine.start();
  const done = () => [...engines.values()].every((engine) => engine.log.size >= rounds);
  for (let ms = 0; !done(); ms += 1) {
    if (ms > 60_000) throw new Error(`no ${rounds} commits within a simulated minute`);
    clock.increment(1);
    await new Promise((resolve) => setImmediate(resolve));
  }
  for (const engine of engines.values()) await engine.stop();
  return engines;
}
