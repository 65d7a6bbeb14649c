import { createHash } from 'node:crypto';
import { SimulatedClock } from 'xstate';
import {
  createConsensusEngine,
  keyPairFromSeed,
  type EngineMetrics,
  SignatureVerifier,
  type CommitCertificate,
  type ConsensusEngine,
  type ConsensusProviders,
  type LockProof,
  type ConsensusEngineConfig,
  type ProposalOptions,
  type SnapshotChunk,
  type Unique,
} from '../index';

/**
 * A small in-process cluster whose states carry proposed payloads: each
 * block holds the batch its prover's collect step was handed. Payloads are
 * strings; one that starts with `bad` fails the app's validation.
 */
/** Identities stay short however many payloads a block carries. */
const digest = (payloads: readonly string[]) => createHash('sha256').update(JSON.stringify(payloads)).digest('hex').slice(0, 16);

export class NodeId implements Unique {
  constructor(readonly name: string) {}
  identity() { return this.name; }
  clone() { return new NodeId(this.name) as this; }
  rank() { return 0; }
}

export class Block implements Unique {
  constructor(readonly height: number, readonly payloads: readonly string[], readonly prover: string) {}
  identity() { return `block-${this.height}-${this.prover}-${digest(this.payloads)}`; }
  clone() { return new Block(this.height, [...this.payloads], this.prover) as this; }
  rank() { return this.height; }
}

class Vote implements Unique {
  constructor(readonly height: number, readonly voter: string, readonly block: string) {}
  identity() { return `vote-${this.voter}-${this.block}`; }
  clone() { return new Vote(this.height, this.voter, this.block) as this; }
  rank() { return this.height; }
}

class Batch implements Unique {
  constructor(readonly height: number, readonly node: string, readonly payloads: readonly string[]) {}
  identity() { return `batch-${this.height}-${this.node}-${digest(this.payloads)}`; }
  clone() { return new Batch(this.height, this.node, [...this.payloads]) as this; }
  rank() { return this.height; }
}

type Message =
  | { kind: 'liveness'; batch: Batch }
  | { kind: 'proposal'; block: Block; position: { attempt: number; validAttempt: number | null } }
  | { kind: 'vote'; proposer: string | null; vote: Vote; position: { attempt: number; proposal: string | null; signature?: string } }
  | { kind: 'confirmation'; block: Block | null; position: { rank: number; attempt: number; signature?: string } }
  | { kind: 'lockProof'; proof: LockProof }
  | { kind: 'certificate'; block: Block; certificate: CommitCertificate }
  | { kind: 'payload'; payload: string }
  | { kind: 'entriesRequest'; from: number; to: number }
  | { kind: 'entries'; entries: Array<{ state: Block; certificate: CommitCertificate }> }
  | { kind: 'snapshotChunk'; chunk: SnapshotChunk<Block> }
  | { kind: 'readIndexRequest'; nonce: string }
  | { kind: 'readIndex'; nonce: string; index: number };

export type PayloadEngine = ConsensusEngine<Block, Vote, NodeId, Batch, string>;

export interface PayloadClusterOptions {
  size?: number;
  /** Forward each proposal to the other members (relay.forwardPayload). Default true. */
  forward?: boolean;
  /** Overrides of the proposals configuration; null: none at all. */
  proposals?: Partial<ProposalOptions<Block, string>> | null;
  /** Messages from `from` to `to` are lost while this says so. */
  cut?: (from: string, to: string) => boolean;
  /** Engines with keys (default) or without. */
  signed?: boolean;
  /**
   * A node told to sync (`induceSync`) adopts the most advanced state among
   * the nodes it can reach, as a state-transfer service would hand it.
   */
  syncFromPeers?: boolean;
  /** Each node's metrics, if any. */
  metrics?: (name: string) => EngineMetrics | undefined;
  /** More of each node's engine configuration (a state machine, storage, retention). */
  engineConfig?: (name: string) => Partial<ConsensusEngineConfig<Block, Vote, NodeId, Batch, string>>;
  /**
   * How many of the nodes (the first ones) are members from the start.
   * Default: all. The others start as followers, configured with the
   * founders as members, until a committed change adds them (give their
   * engines `membershipChangeIn` through `engineConfig`).
   */
  founders?: number;
  /** Whose turn it is to prove a height: `names` rotates over every node, `membership` over the members of that height. Default `names`. */
  leaders?: 'names' | 'membership';
}

export interface PayloadCluster {
  names: string[];
  clock: SimulatedClock;
  engines: Map<string, PayloadEngine>;
  engine(name: string): PayloadEngine;
  /** Advances the clock 1 ms at a time until `done` holds, at most `limit` ms; false if it never did. */
  runUntil(done: () => boolean, limit?: number): Promise<boolean>;
  /** Messages of each kind sent so far. */
  sent: Map<string, number>;
  /** The verifier the signed engines share. */
  verifier: SignatureVerifier;
  /** A node's public key (hex), for a change that adds it. */
  publicKey(name: string): string;
  /** Stops a node's engine and builds it again from the same configuration (over the same storage, if any), not started. */
  restart(name: string): Promise<PayloadEngine>;
  stop(): Promise<void>;
}

function deliver(engine: PayloadEngine, from: string, m: Message): void {
  if (m.kind === 'liveness') engine.receiveLivenessCheck(from, m.batch);
  else if (m.kind === 'proposal') engine.receiveProposal(from, m.block, m.position);
  else if (m.kind === 'vote' && m.proposer === null) engine.receiveNilVote(from, m.vote, m.position);
  else if (m.kind === 'vote') engine.receiveVote(m.proposer!, from, m.vote, m.position);
  else if (m.kind === 'confirmation' && m.block === null) engine.receiveNilConfirmation(from, m.position);
  else if (m.kind === 'confirmation') engine.receiveConfirmation(from, m.block!, m.position);
  else if (m.kind === 'lockProof') engine.receiveLockProof(m.proof);
  else if (m.kind === 'certificate') engine.receiveCommitCertificate(m.block, m.certificate);
  else if (m.kind === 'payload') engine.receivePayload(from, m.payload);
  else if (m.kind === 'entriesRequest') engine.receiveEntriesRequest(from, m.from, m.to);
  else if (m.kind === 'snapshotChunk') engine.receiveSnapshotChunk(from, m.chunk);
  else if (m.kind === 'readIndexRequest') engine.receiveReadIndexRequest(from, m.nonce);
  else if (m.kind === 'readIndex') engine.receiveReadIndex(from, m.nonce, m.index);
  else engine.receiveEntries(from, m.entries);
}

export function payloadCluster({ size = 4, forward = true, proposals = {}, cut = () => false, signed = true, metrics = () => undefined, syncFromPeers = false, engineConfig = () => ({}), founders = size, leaders = 'names' }: PayloadClusterOptions = {}): PayloadCluster {
  const names = Array.from({ length: size }, (_, i) => `n${i}`);
  const members = names.slice(0, founders);
  const keys = new Map(names.map((name, i) => [name, keyPairFromSeed(Buffer.alloc(32, i + 1))]));
  const clock = new SimulatedClock();
  const engines = new Map<string, PayloadEngine>();
  // One verifier for the process, as a real node shares it among what it runs.
  const verifier = new SignatureVerifier();
  const sent = new Map<string, number>();

  const send = (from: string, to: string, message: Message) => {
    sent.set(message.kind, (sent.get(message.kind) ?? 0) + 1);
    if (cut(from, to)) return;
    clock.setTimeout(() => {
      try {
        deliver(engines.get(to)!, from, message);
      } catch {
        // A refused message changed nothing.
      }
    }, 1);
  };
  const broadcast = (from: string, message: Message) => names.forEach((to) => to !== from && send(from, to, message));

  const build = (self: string): PayloadEngine => {
    const out = (message: Message) => broadcast(self, message);
    const providers: ConsensusProviders<Block, Vote, NodeId, Batch, string> = {
      sync: {
        synchronize: async (existing) => {
          if (!syncFromPeers) return existing;
          const reachable = names.filter((name) => name !== self && !cut(name, self)).map((name) => engines.get(name)!.getActiveState());
          return reachable.reduce((best, state) => (state.height > best.height ? state : best), existing).clone();
        },
      },
      leader: {
        getNextLeaders: async (prior) => {
          const turns = leaders === 'names' ? names : (engine.getMembershipAt(prior.height + 1)?.ids ?? members);
          return [new NodeId(turns[(prior.height + 1) % turns.length])];
        },
        proveNextState: async (prior, batch) => new Block(prior.height + 1, batch.payloads, self),
      },
      liveness: {
        collect: async (_signal, batch) => new Batch(engine.getActiveRank() + 1, self, batch),
        sendLiveness: async (_prior, batch) => out({ kind: 'liveness', batch }),
      },
      voting: {
        sendProposal: async (block, _signal, { attempt, validAttempt }) => out({ kind: 'proposal', block, position: { attempt, validAttempt } }),
        decideVote: async (offered, _signal, { rank }) => {
          const prior = engine.getActiveState();
          const [prover, block] = [...offered].find(([, b]) => b.height === prior.height + 1) ?? [];
          return block === undefined
            ? { proposer: null, vote: new Vote(rank, self, 'nil') }
            : { proposer: new NodeId(prover!), vote: new Vote(rank, self, block.identity()) };
        },
        sendVote: async ({ proposer, vote }, _signal, { attempt, proposal, signature }) =>
          out({ kind: 'vote', proposer: proposer?.name ?? null, vote, position: { attempt, proposal, signature } }),
        finalizeVotes: async (offered) => {
          const [[prover, block]] = [...offered];
          return { state: block, proposer: new NodeId(prover) };
        },
        sendConfirmation: async (block, _signal, position) => out({ kind: 'confirmation', block, position }),
        sendNilConfirmation: async (position) => out({ kind: 'confirmation', block: null, position }),
      },
      relay: {
        sendLockProof: (proof) => out({ kind: 'lockProof', proof }),
        sendCertificate: (to, block, certificate) => void send(self, to.name, { kind: 'certificate', block, certificate }),
        ...(forward ? { forwardPayload: (payload: string) => out({ kind: 'payload', payload }) } : {}),
        requestEntries: (from, to) => out({ kind: 'entriesRequest', from, to }),
        sendEntries: (to, entries) => void send(self, to.name, { kind: 'entries', entries }),
        sendSnapshotChunk: (to, chunk) => void send(self, to.name, { kind: 'snapshotChunk', chunk }),
        requestReadIndex: (nonce) => out({ kind: 'readIndexRequest', nonce }),
        sendReadIndex: (to, nonce, index) => void send(self, to.name, { kind: 'readIndex', nonce, index }),
      },
    };
    const engine: PayloadEngine = createConsensusEngine({
      id: new NodeId(self),
      members: signed ? members.map((name) => ({ id: new NodeId(name), publicKey: keys.get(name)!.publicKey })) : members.map((name) => new NodeId(name)),
      ...(signed ? { privateKey: keys.get(self)!.privateKey, signatureVerifier: verifier } : {}),
      initialState: new Block(0, [], ''),
      providers,
      codec: {
        state: { decode: (d) => { const b = d as Block; return new Block(Number(b.height), (b.payloads as unknown[]).map(String), String(b.prover)); } },
        vote: { decode: (d) => { const v = d as Vote; return new Vote(Number(v.height), String(v.voter), String(v.block)); } },
      },
      clock,
      timeouts: { starting: 10, attempt: 100 },
      warnOnRefusals: false,
      ...(metrics(self) === undefined ? {} : { metrics: metrics(self) }),
      ...(proposals === null
        ? {}
        : {
            proposals: {
              identify: (payload: string) => payload,
              payloadsIn: (block: Block) => block.payloads,
              validate: (payload: string) => (payload.startsWith('bad') ? `${payload} is refused by the app` : true),
              ...proposals,
            },
          }),
      ...engineConfig(self),
    });
    return engine;
  };
  for (const self of names) engines.set(self, build(self));

  return {
    names,
    clock,
    engines,
    sent,
    verifier,
    engine: (name) => engines.get(name)!,
    publicKey: (name) => keys.get(name)!.publicKey,
    async restart(name) {
      await engines.get(name)!.stop();
      const engine = build(name);
      engines.set(name, engine);
      return engine;
    },
    async runUntil(done, limit = 20_000) {
      for (let ms = 0; ms < limit; ms += 1) {
        if (done()) return true;
        clock.increment(1);
        await new Promise((resolve) => setImmediate(resolve));
      }
      return done();
    },
    async stop() {
      for (const engine of engines.values()) await engine.stop();
    },
  };
}
