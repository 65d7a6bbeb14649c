// Linear messaging at one signed engine: whom its votes and confirmations
// go to, what it broadcasts when it aggregates, and that a node sent only
// the aggregator's proofs locks, confirms and commits as it would on the
// votes and confirmations themselves.
import { ConsensusConfigError, verifyCertificate } from '../../index';
import { Ballot, Batch, Frame, Peer } from '../support/fixtures';
import { flush } from '../support/time';
import { CHAIN, certificateOf, frameAt, KEYS, lockProofOf, publicMembers, signAs, SignedNode, verifiesAs } from './signedHarness';

const PROPOSAL = frameAt(1);
const AT = { rank: 1, attempt: 0, value: PROPOSAL.hash };
const linear = () => new SignedNode({ config: { messaging: 'linear' } });

/** `from`'s signed vote for `frame` at rank 1, attempt 0, as a peer's ledger would pass it on. */
function voteFrom(node: SignedNode, from: string, frame: Frame, to?: string) {
  const signature = signAs(KEYS[from], { kind: 'vote', rank: 1, attempt: 0, value: frame.hash });
  return node.engine.receiveVote(frame.prover, from, new Ballot(1, from, frame.prover, frame.hash), {
    attempt: 0,
    proposal: frame.hash,
    signature,
    ...(to === undefined ? {} : { to }),
  });
}

function confirmationFrom(node: SignedNode, from: string, frame: Frame, to?: string) {
  const signature = signAs(KEYS[from], { kind: 'confirmation', rank: 1, attempt: 0, value: frame.hash });
  return node.engine.receiveConfirmation(from, frame, { attempt: 0, signature, ...(to === undefined ? {} : { to }) });
}

describe("messaging: 'linear', configured", () => {
  it('needs keys: without a private key it is a ConsensusConfigError naming the option', () => {
    const build = () => new SignedNode({ config: { messaging: 'linear', privateKey: undefined, members: ['alice', 'bob', 'carol', 'dave'].map((name) => new Peer(name)) } });
    expect(build).toThrow(ConsensusConfigError);
    expect(build).toThrow(/messaging: 'linear' needs an engine with keys \(privateKey\)/);
  });

  it('needs a relay that broadcasts what the aggregator assembles', () => {
    const relay = { sendLockProof: () => {}, sendCertificate: () => {} };
    let error: unknown;
    try {
      new SignedNode({ config: { messaging: 'linear', providers: { ...baseProviders(), relay } } });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConsensusConfigError);
    expect((error as ConsensusConfigError).issues).toEqual([
      "providers.relay: messaging 'linear' needs broadcastLockProof, through which the aggregator sends what it assembled",
      "providers.relay: messaging 'linear' needs broadcastCertificate, through which the aggregator sends what it assembled",
    ]);
  });

  it('is all-to-all by default: no position names an audience', async () => {
    const node = await new SignedNode().votedFor(PROPOSAL);
    expect(node.votes[0].position.to).toBeUndefined();
    voteFrom(node, 'bob', PROPOSAL);
    voteFrom(node, 'carol', PROPOSAL);
    await node.until(() => node.confirmations.length > 0);
    expect(node.confirmations[0].position.to).toBeUndefined();
    expect(node.broadcastProofs).toEqual([]);
  });
});

describe('a voter in linear mode', () => {
  it("sends its vote and its confirmation to the value's prover, and locks, confirms and commits on the proofs alone", async () => {
    const node = await linear().votedFor(PROPOSAL);
    expect(node.votes[0].position).toMatchObject({ rank: 1, attempt: 0, proposal: PROPOSAL.hash, to: 'bob' });

    // The votes it was not sent, as bob's proof of them.
    expect(node.engine.receiveLockProof(lockProofOf(['bob', 'carol', 'dave'], AT))).toBe('accepted');
    await node.until(() => node.confirmations.length > 0);
    expect(node.context().lock).toMatchObject({ contentId: PROPOSAL.hash, attempt: 0, proposerId: 'bob' });
    expect(node.confirmations[0].state?.hash).toBe(PROPOSAL.hash);
    expect(node.confirmations[0].position).toMatchObject({ rank: 1, attempt: 0, to: 'bob' });

    // Exactly what a node that heard the votes themselves does.
    const direct = await new SignedNode().votedFor(PROPOSAL);
    voteFrom(direct, 'bob', PROPOSAL);
    voteFrom(direct, 'carol', PROPOSAL);
    await direct.until(() => direct.confirmations.length > 0);
    expect(node.context().lock).toEqual(direct.context().lock);
    const { to, ...position } = node.confirmations[0].position;
    expect(to).toBe('bob');
    expect(position).toEqual(direct.confirmations[0].position);

    expect(node.engine.receiveCommitCertificate(PROPOSAL, certificateOf(['bob', 'carol', 'dave'], AT))).toBe('accepted');
    await node.until(() => node.commitRecords.length > 0);
    expect(node.commitRecords[0]).toMatchObject({ rank: 1, attempt: 0 });
    expect(node.commitRecords[0].state.hash).toBe(PROPOSAL.hash);
    expect(verifyCertificate(node.commitRecords[0].certificate, publicMembers(), { chainId: CHAIN }).valid).toBe(true);
    // It aggregates nothing it did not propose.
    expect(node.broadcastProofs).toEqual([]);
    expect(node.broadcastCertificates).toEqual([]);
  });

  it('sends a nil vote to everyone', async () => {
    const node = linear();
    node.voteNil = true;
    await node.votedFor(PROPOSAL);
    expect(node.votes[0].proposer).toBeNull();
    expect(node.votes[0].position.to).toBeUndefined();
  });
});

describe('the aggregator in linear mode', () => {
  it('broadcasts the lock proof once its quorum of signed votes is in, then the certificate once its confirmations are, once each', async () => {
    const node = linear();
    node.provers = ['alice'];
    const own = frameAt(1, 'alice');
    node.engine.start();
    await node.until(() => node.votes.length > 0);
    // Its own vote, for its own proposal: addressed to itself.
    expect(node.votes[0].position).toMatchObject({ proposal: own.hash, to: 'alice' });
    expect(voteFrom(node, 'bob', own, 'alice')).toBe('accepted');
    await flush();
    expect(node.broadcastProofs).toEqual([]);
    expect(voteFrom(node, 'carol', own, 'alice')).toBe('accepted');
    await node.until(() => node.broadcastProofs.length > 0);
    const [proof] = node.broadcastProofs;
    expect(proof).toMatchObject({ rank: 1, attempt: 0, value: own.hash });
    expect(new Set(proof.voters)).toEqual(new Set(['alice', 'bob', 'carol']));
    proof.voters.forEach((voter, i) => {
      expect(verifiesAs(KEYS[voter].publicKey, { kind: 'vote', rank: 1, attempt: 0, value: own.hash }, proof.signatures[i])).toBe(true);
    });

    // A peer that gets only the proposal and the proof votes, locks and confirms to the aggregator.
    const peer = new SignedNode({ id: 'dave', config: { messaging: 'linear' } });
    peer.provers = ['alice'];
    peer.engine.start();
    await peer.reach('liveness_check');
    peer.engine.receiveLivenessCheck('alice', new Batch(1, ['tx-1']));
    peer.engine.receiveProposal('alice', own, { attempt: 0 });
    await peer.until(() => peer.votes.length > 0);
    expect(peer.votes[0].position).toMatchObject({ proposal: own.hash, to: 'alice' });
    expect(peer.engine.receiveLockProof(proof)).toBe('accepted');
    await peer.until(() => peer.confirmations.length > 0);
    expect(peer.confirmations[0].position).toMatchObject({ to: 'alice' });
    expect(peer.confirmations[0].state?.hash).toBe(own.hash);

    await node.until(() => node.confirmations.length > 0);
    expect(node.confirmations[0].position).toMatchObject({ to: 'alice' });
    expect(voteFrom(node, 'dave', own, 'alice')).toBe('accepted');
    expect(confirmationFrom(node, 'bob', own, 'alice')).toBe('accepted');
    // The last confirmation of its quorum also makes it commit and move on: the certificate goes out all the same.
    expect(confirmationFrom(node, 'carol', own, 'alice')).toBe('accepted');
    await node.until(() => node.broadcastCertificates.length > 0 && node.commitRecords.length > 0);
    const [{ state, certificate }] = node.broadcastCertificates;
    expect(state.hash).toBe(own.hash);
    expect(certificate).toMatchObject({ rank: 1, attempt: 0 });
    expect(verifyCertificate(certificate, publicMembers(), { chainId: CHAIN })).toMatchObject({ valid: true });
    expect(node.broadcastProofs).toHaveLength(1);

    expect(peer.engine.receiveCommitCertificate(state, certificate)).toBe('accepted');
    await peer.until(() => peer.commitRecords.length > 0);
    expect(peer.commitRecords[0].state.hash).toBe(own.hash);
  });
});

/** Providers enough for a configuration check (it never runs them). */
function baseProviders() {
  const unused = async (): Promise<never> => {
    throw new Error('not called');
  };
  return {
    sync: { synchronize: async (existing: Frame) => existing },
    leader: { getNextLeaders: unused, proveNextState: unused },
    liveness: { collect: unused, sendLiveness: async () => {} },
    voting: { sendProposal: async () => {}, decideVote: unused, sendVote: async () => {}, finalizeVotes: unused, sendConfirmation: async () => {} },
  };
}
