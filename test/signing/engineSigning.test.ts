import { memberKeys, verifyCertificate, verifySigned } from '../../engine/signing/certificate';
import { EngineSigning } from '../../engine/signing/engineSigning';
import { privateKeyObject, publicKeyObject, verifyBytes } from '../../engine/signing/keys';
import { NIL_DIGEST, signStatement, statementBytes, valueDigestOf, type StatementKind } from '../../engine/signing/statement';
import { SignatureVerifier } from '../../engine/signing/verifier';
import { makeMembers, outsider, publicOnly, type TestMember } from './fixtures';

const chainId = 'engine-chain';
const identity = 'block 9';
const digest = valueDigestOf(identity);

function engineOf(members: TestMember[], self = members[0], verifier = new SignatureVerifier()): EngineSigning {
  return new EngineSigning(self.id, privateKeyObject(self.privateKey), chainId, memberKeys(publicOnly(members)), verifier);
}

/** `member`'s signature over a statement on the engine's chain. */
function signedBy(member: { privateKey: string }, kind: StatementKind, rank: number, attempt: number, valueDigest = digest): string {
  return signStatement(member.privateKey, { chainId, kind, rank, attempt, valueDigest });
}

/** Checks a member's signature and, as the engine does on admission, keeps it. */
function admit(engine: EngineSigning, member: TestMember, kind: StatementKind, rank: number, attempt: number): void {
  const signature = signedBy(member, kind, rank, attempt);
  expect(engine.check(member.id, kind, rank, attempt, digest, signature)).toBe(true);
  engine.book.add(kind, rank, attempt, digest, member.id, signature);
}

describe('EngineSigning', () => {
  const members = makeMembers(4);
  const [m0, m1, m2, m3] = members;

  it('knows its own public key', () => {
    expect(engineOf(members).publicKey).toBe(m0.publicKey);
    expect(engineOf(members, m2).publicKey).toBe(m2.publicKey);
  });

  describe('signOwn', () => {
    it('signs the statement on its chain with its own key', () => {
      const engine = engineOf(members);
      const signature = engine.signOwn('vote', 9, 1, digest);
      const bytes = statementBytes({ chainId, kind: 'vote', rank: 9, attempt: 1, valueDigest: digest });
      expect(verifyBytes(publicKeyObject(m0.publicKey), bytes, signature)).toBe(true);
      expect(signature).toBe(signedBy(m0, 'vote', 9, 1));
    });

    it('gives the same signature when asked again and keeps it in the book', () => {
      const engine = engineOf(members);
      const first = engine.signOwn('confirmation', 9, 0, digest);
      expect(engine.signOwn('confirmation', 9, 0, digest)).toBe(first);
      expect(engine.book.signers('confirmation', 9, 0, digest).get('m0')).toBe(first);
      expect(engine.book.size).toBe(1);
    });

    it('gives back the signature the book already holds for itself', () => {
      const engine = engineOf(members);
      engine.book.add('vote', 9, 0, digest, 'm0', 'held');
      expect(engine.signOwn('vote', 9, 0, digest)).toBe('held');
      expect(engine.book.size).toBe(1);
    });

    it('signs each statement apart', () => {
      const engine = engineOf(members);
      const signatures = new Set([
        engine.signOwn('vote', 9, 0, digest),
        engine.signOwn('nil_vote', 9, 0, NIL_DIGEST),
        engine.signOwn('confirmation', 9, 0, digest),
        engine.signOwn('nil_confirmation', 9, 0, NIL_DIGEST),
        engine.signOwn('vote', 9, 1, digest),
        engine.signOwn('vote', 10, 0, digest),
      ]);
      expect(signatures.size).toBe(6);
      expect(engine.book.size).toBe(6);
    });
  });

  describe('check', () => {
    const engine = engineOf(members);

    it("accepts a member's good signature", () => {
      expect(engine.check('m1', 'vote', 9, 0, digest, signedBy(m1, 'vote', 9, 0))).toBe(true);
      expect(engine.check('m3', 'nil_confirmation', 9, 2, NIL_DIGEST, signedBy(m3, 'nil_confirmation', 9, 2, NIL_DIGEST))).toBe(true);
    });

    it('accepts its own signature', () => {
      const signature = engineOf(members).signOwn('vote', 3, 0, digest);
      expect(engine.check('m0', 'vote', 3, 0, digest, signature)).toBe(true);
    });

    it("refuses another member's signature claimed as a member's", () => {
      expect(engine.check('m1', 'vote', 9, 0, digest, signedBy(m2, 'vote', 9, 0))).toBe(false);
    });

    it('refuses a non-member, even with a good signature of its own', () => {
      expect(engine.check('outsider', 'vote', 9, 0, digest, signedBy(outsider, 'vote', 9, 0))).toBe(false);
    });

    it('refuses a signature over another kind', () => {
      const vote = signedBy(m1, 'vote', 9, 0);
      for (const kind of ['nil_vote', 'confirmation', 'nil_confirmation'] as const) expect(engine.check('m1', kind, 9, 0, digest, vote)).toBe(false);
    });

    it('refuses a signature over another rank, attempt, value or chain', () => {
      const vote = signedBy(m1, 'vote', 9, 0);
      expect(engine.check('m1', 'vote', 10, 0, digest, vote)).toBe(false);
      expect(engine.check('m1', 'vote', 9, 1, digest, vote)).toBe(false);
      expect(engine.check('m1', 'vote', 9, 0, valueDigestOf('other'), vote)).toBe(false);
      const elsewhere = signStatement(m1.privateKey, { chainId: 'elsewhere', kind: 'vote', rank: 9, attempt: 0, valueDigest: digest });
      expect(engine.check('m1', 'vote', 9, 0, digest, elsewhere)).toBe(false);
    });

    it('refuses a missing or malformed signature', () => {
      for (const signature of [undefined, null, 42, '', 'not a signature']) expect(engine.check('m1', 'vote', 9, 0, digest, signature)).toBe(false);
    });

    it('refuses, without throwing, a statement the bytes cannot hold', () => {
      const signature = signedBy(m1, 'vote', 9, 0);
      expect(engine.check('m1', 'vote', -1, 0, digest, signature)).toBe(false);
      expect(engine.check('m1', 'vote', 9, 2 ** 32, digest, signature)).toBe(false);
      expect(engine.check('m1', 'vote', 9, 0, 'not hex', signature)).toBe(false);
    });

    it('checks through the shared verifier', () => {
      const verifier = new SignatureVerifier();
      const a = engineOf(members, m0, verifier);
      const b = engineOf(members, m1, verifier);
      const signature = signedBy(m2, 'vote', 9, 0);
      expect(a.check('m2', 'vote', 9, 0, digest, signature)).toBe(true);
      expect(b.check('m2', 'vote', 9, 0, digest, signature)).toBe(true);
      expect(verifier.verifications).toBe(1);
    });
  });

  describe('certificate', () => {
    it('is null with no confirmations held', () => {
      expect(engineOf(members).certificate(9, 0, identity)).toBeNull();
    });

    it('is null below a quorum', () => {
      const engine = engineOf(members);
      engine.signOwn('confirmation', 9, 0, digest);
      admit(engine, m3, 'confirmation', 9, 0);
      expect(engine.certificate(9, 0, identity)).toBeNull();
    });

    it('does not count votes, other attempts, ranks or values toward a certificate', () => {
      const engine = engineOf(members);
      engine.signOwn('confirmation', 9, 0, digest);
      admit(engine, m1, 'confirmation', 9, 0);
      admit(engine, m2, 'vote', 9, 0);
      admit(engine, m2, 'confirmation', 9, 1);
      admit(engine, m2, 'confirmation', 8, 0);
      engine.book.add('confirmation', 9, 0, valueDigestOf('other'), 'm2', signedBy(m2, 'confirmation', 9, 0, valueDigestOf('other')));
      expect(engine.certificate(9, 0, identity)).toBeNull();
    });

    it('at a quorum, gives the signers in member order, and the certificate verifies', () => {
      const engine = engineOf(members);
      admit(engine, m3, 'confirmation', 9, 0);
      admit(engine, m1, 'confirmation', 9, 0);
      engine.signOwn('confirmation', 9, 0, digest);
      const certificate = engine.certificate(9, 0, identity);
      expect(certificate).toEqual({
        rank: 9,
        attempt: 0,
        valueDigest: digest,
        signers: ['m0', 'm1', 'm3'],
        signatures: [signedBy(m0, 'confirmation', 9, 0), signedBy(m1, 'confirmation', 9, 0), signedBy(m3, 'confirmation', 9, 0)],
      });
      expect(verifyCertificate(certificate, publicOnly(members), { chainId })).toEqual({ valid: true, weight: 3, quorum: 3 });
    });

    it('carries no more signers than a quorum when every member signed', () => {
      const engine = engineOf(members, m2);
      for (const member of [m3, m1, m0]) admit(engine, member, 'confirmation', 9, 0);
      engine.signOwn('confirmation', 9, 0, digest);
      const certificate = engine.certificate(9, 0, identity);
      expect(certificate?.signers).toEqual(['m0', 'm1', 'm2']);
      expect(verifyCertificate(certificate, publicOnly(members), { chainId }).valid).toBe(true);
    });

    it('verifies for each cluster size from 1 to 10', () => {
      for (let n = 1; n <= 10; n += 1) {
        const cluster = makeMembers(n);
        const engine = engineOf(cluster);
        const { quorum } = engine.members.membership;
        // Everyone but this node signs first; short of a quorum there is no certificate.
        for (const member of cluster.slice(1, quorum)) admit(engine, member, 'confirmation', 5, 3);
        expect(engine.certificate(5, 3, identity)).toBeNull();
        engine.signOwn('confirmation', 5, 3, digest);
        const certificate = engine.certificate(5, 3, identity);
        expect(certificate?.signers).toHaveLength(quorum);
        expect(verifyCertificate(certificate, publicOnly(cluster), { chainId })).toEqual({ valid: true, weight: quorum, quorum });
      }
    });

    it('is null again once its rank is dropped', () => {
      const engine = engineOf(members);
      engine.signOwn('confirmation', 9, 0, digest);
      admit(engine, m1, 'confirmation', 9, 0);
      admit(engine, m2, 'confirmation', 9, 0);
      expect(engine.certificate(9, 0, identity)).not.toBeNull();
      engine.book.dropThrough(9);
      expect(engine.certificate(9, 0, identity)).toBeNull();
    });
  });

  describe('lockProof', () => {
    it('is null below a quorum of votes', () => {
      const engine = engineOf(members);
      engine.signOwn('vote', 9, 2, digest);
      admit(engine, m2, 'vote', 9, 2);
      admit(engine, m1, 'confirmation', 9, 2);
      expect(engine.lockProof(9, 2, identity)).toBeNull();
    });

    it('at a quorum, gives the voters in member order, and the proof verifies as votes', () => {
      const engine = engineOf(members, m3);
      admit(engine, m2, 'vote', 9, 2);
      engine.signOwn('vote', 9, 2, digest);
      admit(engine, m0, 'vote', 9, 2);
      const proof = engine.lockProof(9, 2, identity);
      expect(proof).toEqual({
        rank: 9,
        attempt: 2,
        value: identity,
        valueDigest: digest,
        voters: ['m0', 'm2', 'm3'],
        signatures: [signedBy(m0, 'vote', 9, 2), signedBy(m2, 'vote', 9, 2), signedBy(m3, 'vote', 9, 2)],
      });
      if (proof === null) return;
      const asVotes = { kind: 'vote' as const, rank: proof.rank, attempt: proof.attempt, valueDigest: proof.valueDigest, signers: proof.voters, signatures: proof.signatures };
      expect(verifySigned(asVotes, engine.members, chainId, new SignatureVerifier())).toEqual({ valid: true, weight: 3, quorum: 3 });
      // Votes are not confirmations.
      expect(verifySigned({ ...asVotes, kind: 'confirmation' }, engine.members, chainId, new SignatureVerifier()).valid).toBe(false);
      expect(verifyCertificate({ rank: proof.rank, attempt: proof.attempt, valueDigest: proof.valueDigest, signers: proof.voters, signatures: proof.signatures }, publicOnly(members), { chainId }).valid).toBe(false);
    });

    it('carries no more voters than a quorum', () => {
      const engine = engineOf(members);
      for (const member of [m3, m2, m1]) admit(engine, member, 'vote', 9, 0);
      engine.signOwn('vote', 9, 0, digest);
      expect(engine.lockProof(9, 0, identity)?.voters).toEqual(['m0', 'm1', 'm2']);
    });
  });

  describe('with weighted members', () => {
    const weighted = makeMembers(5, [1, 1, 3, 1, 1]);

    it('reaches a quorum by weight (total 7, quorum 5)', () => {
      const engine = engineOf(weighted);
      expect(engine.members.membership.quorum).toBe(5);
      engine.signOwn('confirmation', 1, 0, digest);
      admit(engine, weighted[2], 'confirmation', 1, 0);
      expect(engine.certificate(1, 0, identity)).toBeNull();
      admit(engine, weighted[4], 'confirmation', 1, 0);
      const certificate = engine.certificate(1, 0, identity);
      expect(certificate?.signers).toEqual(['m0', 'm2', 'm4']);
      expect(verifyCertificate(certificate, publicOnly(weighted), { chainId })).toEqual({ valid: true, weight: 5, quorum: 5 });
    });
  });
});
