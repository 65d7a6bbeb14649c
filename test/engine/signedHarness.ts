import { createHash, createPublicKey, verify } from 'node:crypto';
import { createActor, SimulatedClock } from 'xstate';
import {
  buildRoundEngineMachine,
  createEngineFacade,
  keyPairFromSeed,
  NIL_DIGEST,
  signStatement,
  statementBytes,
  valueDigestOf,
  type CertificateMember,
  type CommitCertificate,
  type CommitRecord,
  type ConsensusEngine,
  type ConsensusEngineConfig,
  type ConsensusProviders,
  type KeyPairHex,
  type LockProof,
  type MemberConfig,
  type RoundStateName,
  type SignatureVerifier,
  type StatementKind,
} from '../../index';
import type { EngineSigning } from '../../engine/signing/engineSigning';
import { Ballot, Batch, Frame, fixtureCodec, Peer } from '../support/fixtures';
import { advanceUntil, flush } from '../support/time';

/**
 * A signed engine ("alice" by default) among four keyed members whose other
 * three the test plays by hand, signing with their real keys, so that every
 * signature a test sends is one a member or an impostor could actually make.
 */

export type SignedEngine = ConsensusEngine<Frame, Ballot, Peer, Batch>;
export type SignedConfig = ConsensusEngineConfig<Frame, Ballot, Peer, Batch>;

export const NAMES = ['alice', 'bob', 'carol', 'dave'] as const;
export type Name = (typeof NAMES)[number];
export const CHAIN = 'signed-receive-tests';

const seed = (label: string) => createHash('sha256').update(`signed engine tests: ${label}`).digest();
export const KEYS: Readonly<Record<string, KeyPairHex>> = Object.fromEntries(NAMES.map((name) => [name, keyPairFromSeed(seed(name))]));
/** Someone with a perfectly good key who is no member. */
export const MALLORY: KeyPairHex = keyPairFromSeed(seed('mallory'));
/** What bob's key would be after a rotation. */
export const BOB_ROTATED: KeyPairHex = keyPairFromSeed(seed('bob, rotated'));

export function keyedMembers(keys: Readonly<Record<string, KeyPairHex>> = KEYS): MemberConfig<Peer>[] {
  return NAMES.map((name) => ({ id: new Peer(name), publicKey: keys[name].publicKey }));
}

/** The members as a third party verifying a certificate sees them: ids and public keys only. */
export function publicMembers(keys: Readonly<Record<string, KeyPairHex>> = KEYS): CertificateMember[] {
  return NAMES.map((name) => ({ id: name, publicKey: keys[name].publicKey }));
}

/** A frame of `height` proved by `prover`; height 1 builds on genesis, as the engine's own round does. */
export function frameAt(height: number, prover = 'bob', payload = `tx-${height}`): Frame {
  return new Frame(height, height === 1 ? Frame.genesis().hash : `parent-${height - 1}`, payload, prover);
}

export interface Signed {
  kind: StatementKind;
  rank: number;
  attempt: number;
  /** The value's identity; null for nil. */
  value: string | null;
  chainId?: string;
}

/** `key`'s signature over a statement, as a peer's engine would make it. */
export function signAs(key: KeyPairHex, { kind, rank, attempt, value, chainId = CHAIN }: Signed): string {
  return signStatement(key.privateKey, { chainId, kind, rank, attempt, valueDigest: value === null ? NIL_DIGEST : valueDigestOf(value) });
}

/** A certificate of `value` at (rank, attempt), signed by `signers` over the confirmation statement. */
export function certificateOf(
  signers: readonly string[],
  at: { rank: number; attempt: number; value: string; chainId?: string; kind?: StatementKind },
  keys: Readonly<Record<string, KeyPairHex>> = KEYS,
): CommitCertificate {
  const kind = at.kind ?? 'confirmation';
  return {
    rank: at.rank,
    attempt: at.attempt,
    valueDigest: valueDigestOf(at.value),
    signers: [...signers],
    signatures: signers.map((name) => signAs(keys[name], { kind, rank: at.rank, attempt: at.attempt, value: at.value, chainId: at.chainId })),
  };
}

/** A lock proof for `value` at (rank, attempt), signed by `voters` over the vote statement. */
export function lockProofOf(
  voters: readonly string[],
  at: { rank: number; attempt: number; value: string; chainId?: string; kind?: StatementKind },
  keys: Readonly<Record<string, KeyPairHex>> = KEYS,
): LockProof {
  const kind = at.kind ?? 'vote';
  return {
    rank: at.rank,
    attempt: at.attempt,
    value: at.value,
    valueDigest: valueDigestOf(at.value),
    voters: [...voters],
    signatures: voters.map((name) => signAs(keys[name], { kind, rank: at.rank, attempt: at.attempt, value: at.value, chainId: at.chainId })),
  };
}

export interface SentVote {
  proposer: string | null;
  vote: Ballot;
  position: { rank: number; attempt: number; proposal: string | null; signature?: string; to?: string };
}
export interface SentConfirmation {
  state: Frame | null;
  position: { rank: number; attempt: number; signature?: string; to?: string };
}

export interface SignedNodeOptions {
  id?: Name;
  chainId?: string;
  verifier?: SignatureVerifier;
  clock?: SimulatedClock;
  /** The members' keys as this node is configured with them. */
  keys?: Readonly<Record<string, KeyPairHex>>;
  config?: Partial<SignedConfig>;
}

/**
 * One signed engine and everything it sends. Built the way
 * `createConsensusEngine` builds one, so the test can also read the
 * engine's signature book, which no public call shows.
 */
export class SignedNode {
  readonly clock: SimulatedClock;
  readonly name: Name;
  readonly engine: SignedEngine;
  readonly signing: EngineSigning;
  readonly votes: SentVote[] = [];
  readonly confirmations: SentConfirmation[] = [];
  readonly lockProofs: LockProof[] = [];
  readonly relayedCertificates: Array<{ to: string; state: Frame; certificate: CommitCertificate }> = [];
  /** What it broadcast as a linear-messaging aggregator. */
  readonly broadcastProofs: LockProof[] = [];
  readonly broadcastCertificates: Array<{ state: Frame; certificate: CommitCertificate }> = [];
  readonly commitRecords: CommitRecord<Frame, Peer>[] = [];
  /** Provers of every rank: bob alone by default, so this node only votes. */
  provers: string[] = ['bob'];
  /** While set, decideVote finds nothing valid and votes nil. */
  voteNil = false;

  constructor(options: SignedNodeOptions = {}) {
    this.name = options.id ?? 'alice';
    this.clock = options.clock ?? new SimulatedClock();
    const self = this.name;
    const providers: ConsensusProviders<Frame, Ballot, Peer, Batch> = {
      sync: { synchronize: async (existing) => existing },
      leader: {
        getNextLeaders: async () => this.provers.map((name) => new Peer(name)),
        proveNextState: async (prior, collected) => new Frame(prior.height + 1, prior.hash, collected.items.join(','), self),
      },
      liveness: {
        collect: async () => new Batch(this.engine.getActiveRank() + 1, [`tx-${this.engine.getActiveRank() + 1}`]),
        sendLiveness: async () => {},
      },
      voting: {
        sendProposal: async () => {},
        decideVote: async (proposals, _signal, { rank }) => {
          const first = [...proposals.entries()][0];
          if (this.voteNil || first === undefined) return { proposer: null, vote: new Ballot(rank, self, '', 'nil') };
          const [prover, frame] = first;
          return { proposer: new Peer(prover), vote: new Ballot(frame.height, self, prover, frame.hash) };
        },
        sendVote: async ({ proposer, vote }, _signal, position) => {
          this.votes.push({ proposer: proposer?.name ?? null, vote, position });
        },
        finalizeVotes: async (proposals) => {
          const [[prover, frame]] = [...proposals];
          return { state: frame, proposer: new Peer(prover) };
        },
        sendConfirmation: async (state, _signal, position) => {
          this.confirmations.push({ state, position });
        },
        sendNilConfirmation: async (position) => {
          this.confirmations.push({ state: null, position });
        },
      },
      relay: {
        sendLockProof: (proof) => {
          this.lockProofs.push(proof);
        },
        sendCertificate: (to, state, certificate) => {
          this.relayedCertificates.push({ to: to.name, state, certificate });
        },
        broadcastLockProof: (proof) => {
          this.broadcastProofs.push(proof);
        },
        broadcastCertificate: (state, certificate) => {
          this.broadcastCertificates.push({ state, certificate });
        },
      },
    };
    const keys = options.keys ?? KEYS;
    const build = buildRoundEngineMachine<Frame, Ballot, Peer, Batch>({
      id: new Peer(self),
      members: keyedMembers(keys),
      privateKey: KEYS[self].privateKey,
      chainId: options.chainId ?? CHAIN,
      initialState: Frame.genesis(),
      providers,
      codec: fixtureCodec,
      clock: this.clock,
      // Long attempts: a test moves to another attempt only when it means to.
      timeouts: { starting: 10, attempt: 600_000 },
      warnOnRefusals: false,
      ...(options.verifier === undefined ? {} : { signatureVerifier: options.verifier }),
      ...options.config,
    });
    const actor = createActor(build.machine, { clock: build.clock, input: build.input });
    this.engine = createEngineFacade(build, actor).api as unknown as SignedEngine;
    actor.start();
    this.signing = build.signing!;
    this.engine.onCommit((record) => this.commitRecords.push(record));
  }

  context() {
    return this.engine.actor.getSnapshot().context;
  }

  async reach(state: RoundStateName, limitMs = 2_000): Promise<void> {
    await advanceUntil(this.clock, () => this.engine.getState() === state, limitMs, 1);
  }

  /** Runs until `done()` holds, 1 ms at a time. */
  async until(done: () => boolean, limitMs = 2_000): Promise<void> {
    await advanceUntil(this.clock, done, limitMs, 1);
  }

  /** Started, in voting for rank 1 (bob is alive), waiting for bob's proposal. */
  async voting(): Promise<this> {
    this.engine.start();
    await this.reach('liveness_check');
    // The prover's announcement, without which the round waits for it.
    this.engine.receiveLivenessCheck('bob', new Batch(1, ['tx-1']));
    await this.reach('voting');
    await flush();
    return this;
  }

  /** In voting for rank 1 with bob's proposal, having cast (and signed) its own vote for it. */
  async votedFor(proposal = frameAt(1)): Promise<this> {
    await this.voting();
    this.engine.receiveProposal('bob', proposal, { attempt: 0 });
    await this.until(() => this.votes.length > 0);
    return this;
  }
}

const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * Whether `signature` is the holder of `publicKey`'s over the statement,
 * checked with plain `node:crypto` over the documented bytes, as a third
 * party would, not through the engine's own verifier.
 */
export function verifiesAs(publicKey: string, { kind, rank, attempt, value, chainId = CHAIN }: Signed, signature: unknown): boolean {
  if (typeof signature !== 'string') return false;
  const key = createPublicKey({ key: Buffer.concat([SPKI_ED25519, Buffer.from(publicKey, 'hex')]), format: 'der', type: 'spki' });
  const bytes = statementBytes({ chainId, kind, rank, attempt, valueDigest: value === null ? NIL_DIGEST : valueDigestOf(value) });
  return verify(null, bytes, key, Buffer.from(signature, 'base64'));
}
