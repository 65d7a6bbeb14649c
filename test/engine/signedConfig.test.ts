// A signed engine is only as good as its keys: a configuration that could
// never sign, or never check a peer, must fail at createConsensusEngine with
// a ConsensusConfigError that says what is wrong, not run and sit silent.
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { SimulatedClock } from 'xstate';
import {
  ConsensusConfigError,
  createConsensusEngine,
  SignatureVerifier,
  type ConsensusProviders,
} from '../../index';
import { Ballot, Batch, Frame, fixtureCodec, Peer } from '../support/fixtures';
import { CHAIN, KEYS, keyedMembers, MALLORY, NAMES, type SignedConfig } from './signedHarness';

type Providers = ConsensusProviders<Frame, Ballot, Peer, Batch>;
type Voting = Providers['voting'];

const never = async (): Promise<never> => new Promise<never>(() => {});
const providers = (voting: Partial<Voting> = {}): Providers => ({
  sync: { synchronize: async (existing) => existing },
  leader: { getNextLeaders: async () => [new Peer('bob')], proveNextState: never },
  liveness: { collect: never, sendLiveness: async () => {} },
  voting: {
    sendProposal: async () => {},
    decideVote: never,
    sendVote: async () => {},
    finalizeVotes: never,
    sendConfirmation: async () => {},
    ...voting,
  } as Voting,
  relay: { sendLockProof: () => {}, sendCertificate: () => {} },
});

/** A configuration a signed engine for alice runs with; each test breaks one thing. */
function signedConfig(changes: Partial<SignedConfig> = {}): SignedConfig {
  return {
    id: new Peer('alice'),
    members: keyedMembers(),
    privateKey: KEYS.alice.privateKey,
    chainId: CHAIN,
    initialState: Frame.genesis(),
    providers: providers(),
    codec: fixtureCodec,
    clock: new SimulatedClock(),
    ...changes,
  };
}

/** The ConsensusConfigError `config` is refused with. */
function refusal(config: SignedConfig): ConsensusConfigError {
  let thrown: unknown;
  try {
    createConsensusEngine(config);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ConsensusConfigError);
  const error = thrown as ConsensusConfigError;
  expect(error.issues.length).toBeGreaterThan(0);
  expect(error.message).toContain(error.issues[0]);
  return error;
}

const withKey = (name: string, publicKey: unknown) => ({ id: new Peer(name), publicKey: publicKey as string });
const membersWith = (name: string, publicKey: unknown) =>
  NAMES.map((member) => (member === name ? withKey(name, publicKey) : withKey(member, KEYS[member].publicKey)));

describe('a signed engine configuration that works', () => {
  it('builds, with the public key of its own member', async () => {
    const engine = createConsensusEngine(signedConfig());
    expect(engine.getPublicKey()).toBe(KEYS.alice.publicKey);
    await engine.stop();
  });

  it.each([
    { label: 'the seed as upper-case hex', key: () => KEYS.alice.privateKey.toUpperCase() },
    { label: 'the seed as bytes', key: () => Uint8Array.from(Buffer.from(KEYS.alice.privateKey, 'hex')) },
    {
      label: 'an Ed25519 KeyObject',
      key: () => createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(KEYS.alice.privateKey, 'hex')]), format: 'der', type: 'pkcs8' }),
    },
  ])('takes the private key as $label', async ({ key }) => {
    const engine = createConsensusEngine(signedConfig({ privateKey: key() }));
    expect(engine.getPublicKey()).toBe(KEYS.alice.publicKey);
    await engine.stop();
  });

  it('takes public keys in upper-case hex', async () => {
    const members = NAMES.map((name) => withKey(name, KEYS[name].publicKey.toUpperCase()));
    const engine = createConsensusEngine(signedConfig({ members }));
    expect(engine.getPublicKey()).toBe(KEYS.alice.publicKey);
    await engine.stop();
  });

  it('takes weighted members, a shared verifier and a chain id of exactly 1 024 bytes', async () => {
    const members = NAMES.map((name, i) => ({ id: new Peer(name), publicKey: KEYS[name].publicKey, weight: i + 1 }));
    const engine = createConsensusEngine(signedConfig({ members, signatureVerifier: new SignatureVerifier(16), chainId: 'é'.repeat(512) }));
    expect(engine.getMembership().quorum).toBeGreaterThan(0);
    await engine.stop();
  });

  it('takes both vote forms, using decideVote and sendVote', async () => {
    const engine = createConsensusEngine(signedConfig({ providers: providers({ decideAndSendVote: never }) }));
    await engine.stop();
  });
});

describe('createConsensusEngine refuses a signed configuration', () => {
  it('with a private key but no public keys for the members', () => {
    const error = refusal(signedConfig({ members: NAMES.map((name) => new Peer(name)) }));
    for (const name of NAMES) expect(error.issues.some((issue) => issue.includes(name) && issue.includes('publicKey'))).toBe(true);
  });

  it('with a private key and one member without a public key', () => {
    const members = keyedMembers().map((member) => (member instanceof Peer || member.id.name !== 'carol' ? member : new Peer('carol')));
    const error = refusal(signedConfig({ members }));
    expect(error.issues).toEqual([expect.stringContaining('carol')]);
  });

  it('with public keys but no private key to sign with', () => {
    const { privateKey: _omitted, ...unsigned } = signedConfig();
    const error = refusal(unsigned);
    expect(error.issues.join('\n')).toMatch(/privateKey/);
  });

  it.each([
    { label: "another member's", key: () => KEYS.bob.privateKey },
    { label: "a non-member's", key: () => MALLORY.privateKey },
  ])("with $label private key: it is not its own member's configured public key", ({ key }) => {
    const error = refusal(signedConfig({ privateKey: key() }));
    expect(error.issues.join('\n')).toMatch(/privateKey/);
  });

  it("with its own key configured for another member, and another's for itself", () => {
    // Keys swapped in the member list: the node could sign, but peers would check it against bob's key.
    const members = NAMES.map((name) => withKey(name, KEYS[name === 'alice' ? 'bob' : name === 'bob' ? 'alice' : name].publicKey));
    refusal(signedConfig({ members }));
  });

  it.each([
    { label: 'too short a hex seed', key: () => KEYS.alice.privateKey.slice(2) },
    { label: 'too long a hex seed', key: () => `${KEYS.alice.privateKey}00` },
    { label: 'a seed that is not hex', key: () => 'z'.repeat(64) },
    { label: 'an empty string', key: () => '' },
    { label: 'a 31-byte seed', key: () => new Uint8Array(31) },
    { label: 'a number', key: () => 42 },
    { label: 'null', key: () => null },
    { label: 'a public KeyObject', key: () => generateKeyPairSync('ed25519').publicKey },
    { label: 'an X25519 private KeyObject', key: () => generateKeyPairSync('x25519').privateKey },
  ])('with a private key that is $label', ({ key }) => {
    const error = refusal(signedConfig({ privateKey: key() as SignedConfig['privateKey'] }));
    expect(error.issues.join('\n')).toMatch(/privateKey/);
  });

  // BUG (engine/signing/keys.ts, privateKeyObject, takes any object whose
  // `type` and `asymmetricKeyType` read 'private' and 'ed25519' as a KeyObject;
  // engine/build.ts, signingOf, then calls publicKeyHex on it outside its
  // try): createConsensusEngine throws node:crypto's bare TypeError
  // (ERR_INVALID_ARG_TYPE), not a ConsensusConfigError naming privateKey.
  it('with a private key that is a plain object posing as a KeyObject', () => {
    const error = refusal(signedConfig({ privateKey: { type: 'private', asymmetricKeyType: 'ed25519' } }));
    expect(error.issues.join('\n')).toMatch(/privateKey/);
  });

  it('with only decideAndSendVote: it must sign between deciding and sending', () => {
    const error = refusal(signedConfig({ providers: providers({ decideVote: undefined, sendVote: undefined, decideAndSendVote: never }) }));
    expect(error.issues.join('\n')).toMatch(/decideVote and sendVote/);
  });

  it.each([
    { label: 'decideVote without sendVote', voting: { sendVote: undefined } },
    { label: 'sendVote without decideVote', voting: { decideVote: undefined } },
  ])('with $label', ({ voting }) => {
    const error = refusal(signedConfig({ providers: providers(voting) }));
    expect(error.issues.join('\n')).toMatch(/decideVote/);
  });

  it.each([
    { label: '63 hex characters', key: () => KEYS.carol.publicKey.slice(1) },
    { label: '65 hex characters', key: () => `${KEYS.carol.publicKey}0` },
    { label: 'a character that is not hex', key: () => `g${KEYS.carol.publicKey.slice(1)}` },
    { label: 'base64 instead of hex', key: () => Buffer.from(KEYS.carol.publicKey, 'hex').toString('base64') },
    { label: 'hex with a 0x prefix', key: () => `0x${KEYS.carol.publicKey}` },
    { label: 'bytes instead of hex', key: () => Uint8Array.from(Buffer.from(KEYS.carol.publicKey, 'hex')) },
    { label: 'a number', key: () => 7 },
    { label: 'null', key: () => null },
  ])("with a member's public key that is $label, naming the member", ({ key }) => {
    const error = refusal(signedConfig({ members: membersWith('carol', key()) }));
    expect(error.issues.join('\n')).toMatch(/carol.*publicKey/);
  });

  it.each([
    { label: 'longer than 1 024 bytes', chainId: 'x'.repeat(1025) },
    { label: 'within 1 024 characters but not bytes', chainId: '€'.repeat(342) },
    { label: 'not a string', chainId: 7 },
  ])('with a chain id $label', ({ chainId }) => {
    const error = refusal(signedConfig({ chainId: chainId as string }));
    expect(error.issues.join('\n')).toMatch(/chainId/);
  });

  it('with a signature verifier that is not a SignatureVerifier', () => {
    const lookalike = { verify: () => true, verifications: 0, cachedVerdicts: 0 };
    const error = refusal(signedConfig({ signatureVerifier: lookalike as unknown as SignatureVerifier }));
    expect(error.issues.join('\n')).toMatch(/signatureVerifier/);
  });

  it('with a relay that cannot send certificates', () => {
    const incomplete = { ...providers(), relay: { sendLockProof: () => {} } } as unknown as Providers;
    const error = refusal(signedConfig({ providers: incomplete }));
    expect(error.issues.join('\n')).toMatch(/sendCertificate/);
  });

  // GAP (engine/config.ts, resolveConfig, and engine/build.ts, signingOf):
  // nothing checks that members' public keys are distinct. Whoever holds a
  // key configured for two members signs as both and weighs twice in every
  // quorum, so with n = 4 one key holder plus one more member make a
  // "quorum" of three; a copy-paste slip in a member list silently halves
  // the fault tolerance.
  it('with one public key configured for two members', () => {
    const error = refusal(signedConfig({ members: membersWith('dave', KEYS.carol.publicKey) }));
    expect(error.issues.join('\n')).toMatch(/carol|dave/);
  });

  // GAP (engine/config.ts, memberSchema, checks only /^[0-9a-fA-F]{64}$/;
  // engine/signing/keys.ts, publicKeyObject, lets node:crypto import any 32
  // bytes): a public key that is no Ed25519 point is taken, and every
  // signature of that member then fails at each receive, refused without a
  // word (invalid_signature is not among the refusals warned about).
  it("with a member's public key of 64 hex characters that is no Ed25519 point", () => {
    // y = 2: (y² − 1) / (d·y² + 1) is not a square mod 2²⁵⁵ − 19, so no x exists.
    const noPoint = `02${'00'.repeat(31)}`;
    const error = refusal(signedConfig({ members: membersWith('carol', noPoint) }));
    expect(error.issues.join('\n')).toMatch(/carol.*publicKey/);
  });

  // GAP (engine/build.ts, buildRoundEngineMachine: resolveConfig throws
  // before signingOf runs, and signingOf throws its own error): the README
  // promises a ConsensusConfigError "listing every issue", but a key that does
  // not match is reported only once every other issue is fixed, so a user
  // fixes a configuration one round trip at a time.
  it('listing a private key that is not its own together with the other issues', () => {
    const error = refusal(signedConfig({ privateKey: KEYS.bob.privateKey, timeouts: { voting: -1 } }));
    expect(error.issues.join('\n')).toMatch(/timeouts/);
    expect(error.issues.join('\n')).toMatch(/privateKey/);
  });
});
