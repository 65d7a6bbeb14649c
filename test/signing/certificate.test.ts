import { createMembership } from '../../guards/quorum';
import {
  certificateVerifier,
  commitCertificateSchema,
  lockProofSchema,
  memberKeys,
  verifyCertificate,
  verifySigned,
  type CertificateVerdict,
  type CommitCertificate,
} from '../../engine/signing/certificate';
import { publicKeyObject } from '../../engine/signing/keys';
import { NIL_DIGEST, signStatement, valueDigestOf } from '../../engine/signing/statement';
import { SignatureVerifier } from '../../engine/signing/verifier';
import { certificateBy, flipBase64, flipHex, makeMembers, outsider, publicOnly, statementOf, type TestMember } from './fixtures';

const chainId = 'cert-chain';
const at = { rank: 41, attempt: 2, valueDigest: valueDigestOf('block 41') };

/** The quorum of n members of weight 1, as the engine counts it. */
function quorumOf(n: number): number {
  return createMembership(Array.from({ length: n }, (_, i) => ({ id: `m${i}`, weight: 1 }))).quorum;
}

function expectInvalid(verdict: CertificateVerdict, reason: RegExp, signer?: string): void {
  expect(verdict.valid).toBe(false);
  if (verdict.valid) return;
  expect(verdict.reason).toMatch(reason);
  if (signer === undefined) expect(verdict.signer).toBeUndefined();
  else expect(verdict.signer).toBe(signer);
}

describe('verifyCertificate across cluster sizes', () => {
  it('counts quorums as ⌊(n + f)/2⌋ + 1 with f = ⌊(n − 1)/3⌋', () => {
    const expected = [1, 2, 2, 3, 4, 4, 5, 6, 6, 7];
    for (let n = 1; n <= 10; n += 1) {
      const f = Math.floor((n - 1) / 3);
      expect(quorumOf(n)).toBe(Math.floor((n + f) / 2) + 1);
      expect(quorumOf(n)).toBe(expected[n - 1]);
    }
  });

  for (let n = 1; n <= 10; n += 1) {
    describe(`n = ${n}`, () => {
      const members = makeMembers(n);
      const quorum = quorumOf(n);
      // The last `quorum` members, so the signers are not simply a prefix.
      const minimal = members.slice(n - quorum);

      it(`is valid when a minimal quorum of ${quorum} signs`, () => {
        const verdict = verifyCertificate(certificateBy(minimal, chainId, at), publicOnly(members), { chainId });
        expect(verdict).toEqual({ valid: true, weight: quorum, quorum });
      });

      it('is valid when every member signs', () => {
        const verdict = verifyCertificate(certificateBy(members, chainId, at), publicOnly(members), { chainId });
        expect(verdict).toEqual({ valid: true, weight: n, quorum });
      });

      it('is invalid one signer short of the quorum', () => {
        const short = certificateBy(minimal.slice(1), chainId, at);
        const verdict = verifyCertificate(short, publicOnly(members), { chainId });
        if (quorum === 1) expectInvalid(verdict, /^malformed certificate/);
        else expectInvalid(verdict, new RegExp(`weigh ${quorum - 1}, short of the quorum of ${quorum}$`));
      });
    });
  }
});

describe('verifyCertificate refusals (n = 4)', () => {
  const members = makeMembers(4);
  const verifiers = publicOnly(members);
  const [m0, m1, m2, m3] = members;
  const cert = certificateBy([m0, m1, m2], chainId, at);
  const check = (certificate: unknown, options = { chainId }) => verifyCertificate(certificate, verifiers, options);

  it('accepts the certificate the refusals start from', () => {
    expect(check(cert)).toEqual({ valid: true, weight: 3, quorum: 3 });
  });

  it('refuses a signer named twice', () => {
    const twice = { ...cert, signers: [...cert.signers, 'm1'], signatures: [...cert.signatures, cert.signatures[1]] };
    expectInvalid(check(twice), /m1 is named twice/, 'm1');
  });

  it('refuses a signer named twice even to reach the quorum', () => {
    const padded = certificateBy([m0, m1, m1], chainId, at);
    expectInvalid(check(padded), /m1 is named twice/, 'm1');
  });

  it('refuses a non-member signer, even on top of a quorum', () => {
    const stranger = signStatement(outsider.privateKey, statementOf(chainId, 'confirmation', at));
    const withStranger = { ...cert, signers: [...cert.signers, 'mx'], signatures: [...cert.signatures, stranger] };
    expectInvalid(check(withStranger), /mx is not a member/, 'mx');
  });

  it('refuses mismatched signer and signature counts', () => {
    expectInvalid(check({ ...cert, signatures: cert.signatures.slice(0, 2) }), /3 signers but 2 signatures/);
    expectInvalid(check({ ...cert, signers: [...cert.signers, 'm3'] }), /4 signers but 3 signatures/);
  });

  it('refuses empty signer and signature lists', () => {
    expectInvalid(check({ ...cert, signers: [], signatures: [] }), /^malformed certificate/);
  });

  it('refuses a certificate checked against another chain id', () => {
    expectInvalid(check(cert, { chainId: 'other-chain' }), /m0's signature does not verify/, 'm0');
    expectInvalid(verifyCertificate(cert, verifiers), /m0's signature does not verify/, 'm0');
  });

  it('refuses, without throwing, a chain id no member could sign under', () => {
    expectInvalid(check(cert, { chainId: 'x'.repeat(70000) }), /no member could sign it: chain id takes more than/);
  });

  it('checks against chain id "" by default', () => {
    expect(verifyCertificate(certificateBy([m0, m1, m2], '', at), verifiers).valid).toBe(true);
  });

  it("refuses another member's signature swapped in", () => {
    const swapped = { ...cert, signatures: [cert.signatures[0], signStatement(m3.privateKey, statementOf(chainId, 'confirmation', at)), cert.signatures[2]] };
    expectInvalid(check(swapped), /m1's signature does not verify/, 'm1');
  });

  it('refuses two signatures swapped between their signers', () => {
    const crossed = { ...cert, signatures: [cert.signatures[1], cert.signatures[0], cert.signatures[2]] };
    expectInvalid(check(crossed), /m0's signature does not verify/, 'm0');
  });

  it.each(['vote', 'nil_vote', 'nil_confirmation'] as const)('refuses signatures over the %s statement', (kind) => {
    const statement = statementOf(chainId, kind, at);
    const wrongKind = { ...cert, signatures: [m0, m1, m2].map((member) => signStatement(member.privateKey, statement)) };
    expectInvalid(check(wrongKind), /m0's signature does not verify/, 'm0');
  });
});

describe('verifyCertificate tampering (n = 4)', () => {
  const members = makeMembers(4);
  const verifiers = publicOnly(members);
  const cert = certificateBy(members.slice(0, 3), chainId, at);
  const check = (certificate: CommitCertificate) => verifyCertificate(certificate, verifiers, { chainId });

  it('starts from a valid certificate', () => {
    expect(check(cert).valid).toBe(true);
  });

  it('becomes invalid when the rank changes', () => {
    for (const rank of [at.rank - 1, at.rank + 1, 0]) expectInvalid(check({ ...cert, rank }), /does not verify/, 'm0');
  });

  it('becomes invalid when the attempt changes', () => {
    for (const attempt of [at.attempt - 1, at.attempt + 1, 2 ** 32 - 1]) expectInvalid(check({ ...cert, attempt }), /does not verify/, 'm0');
  });

  it('becomes invalid when any one hex character of the value digest flips', () => {
    for (let position = 0; position < 64; position += 1) {
      const valueDigest = flipHex(cert.valueDigest, position);
      expect(valueDigest).not.toBe(cert.valueDigest);
      expectInvalid(check({ ...cert, valueDigest }), /does not verify/, 'm0');
    }
  });

  it('becomes invalid when the digest is nil', () => {
    expectInvalid(check({ ...cert, valueDigest: NIL_DIGEST }), /does not verify/, 'm0');
  });

  it('becomes invalid when any one signer is replaced by the member who did not sign', () => {
    for (let i = 0; i < cert.signers.length; i += 1) {
      const signers = [...cert.signers];
      signers[i] = 'm3';
      expectInvalid(check({ ...cert, signers }), /m3's signature does not verify/, 'm3');
    }
  });

  it('becomes invalid when any one signer is renamed to a non-member', () => {
    for (let i = 0; i < cert.signers.length; i += 1) {
      const signers = [...cert.signers];
      signers[i] = `${signers[i]}x`;
      expectInvalid(check({ ...cert, signers }), /is not a member/, signers[i]);
    }
  });

  it('becomes invalid when one base64 character of any signature flips', () => {
    for (let i = 0; i < cert.signatures.length; i += 1) {
      for (const position of [0, 1, 21, 42, 43, 64, 84, 85]) {
        const signatures = [...cert.signatures];
        signatures[i] = flipBase64(signatures[i], position);
        expect(Buffer.from(signatures[i], 'base64').equals(Buffer.from(cert.signatures[i], 'base64'))).toBe(false);
        expectInvalid(check({ ...cert, signatures }), /does not verify/, cert.signers[i]);
      }
    }
  });

  it('stays valid with the (signer, signature) pairs reversed', () => {
    const reversed = { ...cert, signers: [...cert.signers].reverse(), signatures: [...cert.signatures].reverse() };
    expect(reversed.signers).toEqual(['m2', 'm1', 'm0']);
    expect(check(reversed)).toEqual({ valid: true, weight: 3, quorum: 3 });
  });

  it('stays valid with the pairs in any rotation', () => {
    for (let shift = 1; shift < 3; shift += 1) {
      const rotate = <T>(list: T[]) => [...list.slice(shift), ...list.slice(0, shift)];
      expect(check({ ...cert, signers: rotate(cert.signers), signatures: rotate(cert.signatures) }).valid).toBe(true);
    }
  });

  it('is not changed by verifying it', () => {
    const copy = structuredClone(cert);
    check(cert);
    expect(cert).toEqual(copy);
  });
});

describe('verifyCertificate with weighted members', () => {
  const members = makeMembers(5, [3, 1, 1, 1, 1]);
  const [heavy, l1, l2, l3, l4] = members;
  const check = (signers: TestMember[]) => verifyCertificate(certificateBy(signers, chainId, at), publicOnly(members), { chainId });

  it('has total 7, f = 2 and quorum 5', () => {
    const membership = createMembership(members.map(({ id, weight }) => ({ id, weight: weight ?? 1 })));
    expect(membership).toMatchObject({ total: 7, faulty: 2, quorum: 5 });
  });

  it('refuses signers weighing 4', () => {
    expectInvalid(check([heavy, l1]), /weigh 4, short of the quorum of 5/);
    expectInvalid(check([l1, l2, l3, l4]), /weigh 4, short of the quorum of 5/);
  });

  it('accepts signers weighing 5', () => {
    expect(check([heavy, l1, l2])).toEqual({ valid: true, weight: 5, quorum: 5 });
    expect(check([l4, heavy, l2])).toEqual({ valid: true, weight: 5, quorum: 5 });
  });

  it('accepts every member, weighing 7', () => {
    expect(check(members)).toEqual({ valid: true, weight: 7, quorum: 5 });
  });

  it('weighs every member 1 when the verifier is given no weights', () => {
    const unweighted = publicOnly(members).map(({ id, publicKey }) => ({ id, publicKey }));
    // n = 5, f = 1, quorum 4: the heavy member now weighs 1.
    expect(verifyCertificate(certificateBy([heavy, l1, l2], chainId, at), unweighted, { chainId }).valid).toBe(false);
    expect(verifyCertificate(certificateBy([l1, l2, l3, l4], chainId, at), unweighted, { chainId })).toEqual({ valid: true, weight: 4, quorum: 4 });
  });
});

describe('verifyCertificate options', () => {
  const members = makeMembers(7);

  it('uses a lower fault tolerance when given one', () => {
    const four = certificateBy(members.slice(0, 4), chainId, at);
    expectInvalid(verifyCertificate(four, publicOnly(members), { chainId }), /weigh 4, short of the quorum of 5/);
    expect(verifyCertificate(four, publicOnly(members), { chainId, faultTolerance: 0 })).toEqual({ valid: true, weight: 4, quorum: 4 });
  });

  it('refuses a fault tolerance past the bound as unusable members', () => {
    const verdict = verifyCertificate(certificateBy(members, chainId, at), publicOnly(members), { chainId, faultTolerance: 3 });
    expectInvalid(verdict, /^unusable members: faultTolerance 3/);
  });

  it('shares verdicts through a verifier it is given', () => {
    const verifier = new SignatureVerifier();
    const cert = certificateBy(members.slice(0, 5), chainId, at);
    expect(verifyCertificate(cert, publicOnly(members), { chainId, verifier }).valid).toBe(true);
    expect(verifier.verifications).toBe(5);
    expect(verifyCertificate(cert, publicOnly(members), { chainId, verifier }).valid).toBe(true);
    expect(verifier.verifications).toBe(5);
  });

  it('stops at the first bad signature', () => {
    const verifier = new SignatureVerifier();
    const cert = certificateBy(members.slice(0, 5), chainId, at);
    const signatures = [...cert.signatures];
    signatures[1] = flipBase64(signatures[1], 0);
    expectInvalid(verifyCertificate({ ...cert, signatures }, publicOnly(members), { chainId, verifier }), /m1's signature/, 'm1');
    expect(verifier.verifications).toBe(2);
  });
});

describe('verifyCertificate on malformed input', () => {
  const members = makeMembers(4);
  const cert = certificateBy(members.slice(0, 3), chainId, at);
  const malformed: Array<[string, unknown]> = [
    ['null', null],
    ['undefined', undefined],
    ['a string', JSON.stringify(cert)],
    ['a number', 41],
    ['an array', [cert]],
    ['an empty object', {}],
    ['an extra field', { ...cert, chainId }],
    ['signatures that are numbers', { ...cert, signatures: [1, 2, 3] }],
    ['signatures with a null', { ...cert, signatures: [cert.signatures[0], null, cert.signatures[2]] }],
    ['signatures as one string', { ...cert, signatures: cert.signatures.join('') }],
    ['a signature over 128 characters', { ...cert, signatures: [cert.signatures[0].repeat(2), ...cert.signatures.slice(1)] }],
    ['signers that are numbers', { ...cert, signers: [0, 1, 2] }],
    ['an empty signer name', { ...cert, signers: ['', 'm1', 'm2'] }],
    ['a signer name over 512 characters', { ...cert, signers: ['m'.repeat(513), 'm1', 'm2'] }],
    ['a negative rank', { ...cert, rank: -1 }],
    ['a fractional rank', { ...cert, rank: 1.5 }],
    ['an unsafe rank', { ...cert, rank: 2 ** 53 }],
    ['a rank as a string', { ...cert, rank: '41' }],
    ['a rank as a bigint', { ...cert, rank: 41n }],
    ['an attempt of 2^32', { ...cert, attempt: 2 ** 32 }],
    ['a negative attempt', { ...cert, attempt: -1 }],
    ['an uppercase digest', { ...cert, valueDigest: cert.valueDigest.toUpperCase() }],
    ['a short digest', { ...cert, valueDigest: cert.valueDigest.slice(2) }],
  ];
  for (const field of Object.keys(cert)) {
    const missing: Record<string, unknown> = { ...cert };
    delete missing[field];
    malformed.push([`no ${field}`, missing]);
  }

  it.each(malformed)('gives valid: false for %s, without throwing', (_, input) => {
    let verdict: CertificateVerdict | undefined;
    expect(() => {
      verdict = verifyCertificate(input, publicOnly(members), { chainId });
    }).not.toThrow();
    expect(verdict?.valid).toBe(false);
    expect(verdict).toMatchObject({ valid: false, reason: expect.stringMatching(/^malformed certificate: /) });
  });

  it('names the faulty field in the reason', () => {
    const verdict = verifyCertificate({ ...cert, attempt: -1 }, publicOnly(members), { chainId });
    expect(verdict.valid).toBe(false);
    if (!verdict.valid) expect(verdict.reason).toContain('attempt');
  });

  it('accepts the same certificate once it has gone through JSON', () => {
    expect(verifyCertificate(JSON.parse(JSON.stringify(cert)), publicOnly(members), { chainId }).valid).toBe(true);
  });
});

describe('verifyCertificate with unusable members', () => {
  const members = makeMembers(4);
  const cert = certificateBy(members.slice(0, 3), chainId, at);
  const withKey = (publicKey: unknown) => [...publicOnly(members).slice(0, 3), { id: 'm3', publicKey: publicKey as string }];

  it.each<[string, unknown]>([
    ['a short public key', members[3].publicKey.slice(2)],
    ['a non-hex public key', 'zz'.repeat(32)],
    ['an empty public key', ''],
    ['no public key', undefined],
    ['a public key as a number', 42],
  ])("refuses the members when one has %s, even if it didn't sign", (_, publicKey) => {
    const verdict = verifyCertificate(cert, withKey(publicKey), { chainId });
    expectInvalid(verdict, /^unusable members: member m3: /);
  });

  it.each<[string, unknown]>([
    ['no members', []],
    ['a member listed twice', [...publicOnly(members), publicOnly(members)[0]]],
    ['a member of weight 0', publicOnly(members).map((member, i) => (i === 0 ? { ...member, weight: 0 } : member))],
    ['a member of fractional weight', publicOnly(members).map((member, i) => (i === 0 ? { ...member, weight: 1.5 } : member))],
  ])('refuses %s as unusable members', (_, list) => {
    expect(() => verifyCertificate(cert, list as never, { chainId })).not.toThrow();
    expectInvalid(verifyCertificate(cert, list as never, { chainId }), /^unusable members: /);
  });
});

describe('memberKeys', () => {
  const members = makeMembers(4, [2, 1, 1, 1]);

  it('builds the membership and a public key per member', () => {
    const keys = memberKeys(publicOnly(members));
    expect(keys.membership).toMatchObject({ ids: ['m0', 'm1', 'm2', 'm3'], total: 5, faulty: 1, quorum: 4 });
    expect([...keys.keys.keys()]).toEqual(['m0', 'm1', 'm2', 'm3']);
    for (const member of members) expect(keys.keys.get(member.id)?.type).toBe('public');
  });

  it('takes a fault tolerance', () => {
    expect(memberKeys(publicOnly(members), 0).membership.quorum).toBe(3);
  });

  it('throws RangeError naming the member whose key is unusable', () => {
    const bad = publicOnly(members).map((member) => (member.id === 'm2' ? { ...member, publicKey: 'nope' } : member));
    expect(() => memberKeys(bad)).toThrow(RangeError);
    expect(() => memberKeys(bad)).toThrow(/member m2/);
  });
});

describe('verifySigned', () => {
  const members = makeMembers(4);
  const keys = memberKeys(publicOnly(members));
  const [m0, m1, m2] = members;

  function signedBy(kind: 'vote' | 'nil_vote' | 'confirmation' | 'nil_confirmation', signers: TestMember[], valueDigest = at.valueDigest) {
    const statement = statementOf(chainId, kind, { ...at, valueDigest });
    return {
      kind,
      rank: at.rank,
      attempt: at.attempt,
      valueDigest,
      signers: signers.map((member) => member.id),
      signatures: signers.map((member) => signStatement(member.privateKey, statement)),
    };
  }

  it('accepts a quorum of signed votes (a lock proof)', () => {
    expect(verifySigned(signedBy('vote', [m0, m1, m2]), keys, chainId, new SignatureVerifier())).toEqual({ valid: true, weight: 3, quorum: 3 });
  });

  it('accepts a quorum of nil votes over the nil digest', () => {
    expect(verifySigned(signedBy('nil_vote', [m2, m0, m1], NIL_DIGEST), keys, chainId, new SignatureVerifier()).valid).toBe(true);
  });

  it('refuses votes presented as another kind', () => {
    const votes = signedBy('vote', [m0, m1, m2]);
    for (const kind of ['confirmation', 'nil_vote', 'nil_confirmation'] as const) {
      expectInvalid(verifySigned({ ...votes, kind }, keys, chainId, new SignatureVerifier()), /m0's signature does not verify/, 'm0');
    }
  });

  it('refuses votes short of the quorum', () => {
    expectInvalid(verifySigned(signedBy('vote', [m0, m1]), keys, chainId, new SignatureVerifier()), /short of the quorum of 3/);
  });

  it('refuses votes checked on another chain', () => {
    expectInvalid(verifySigned(signedBy('vote', [m0, m1, m2]), keys, 'elsewhere', new SignatureVerifier()), /does not verify/, 'm0');
  });

  it('refuses a non-member signer and weighs a key without membership as nothing', () => {
    const votes = signedBy('vote', [m0, m1, m2]);
    const stranger = signStatement(outsider.privateKey, statementOf(chainId, 'vote', at));
    const lying = { ...votes, signers: ['m0', 'm1', 'outsider'], signatures: [votes.signatures[0], votes.signatures[1], stranger] };
    expectInvalid(verifySigned(lying, keys, chainId, new SignatureVerifier()), /outsider is not a member/, 'outsider');
    const withKey = { membership: keys.membership, keys: new Map([...keys.keys, ['outsider', publicKeyObject(outsider.publicKey)]]) };
    // A key without membership weighs nothing.
    expectInvalid(verifySigned({ ...lying, signers: ['m0', 'm1', 'outsider'] }, withKey, chainId, new SignatureVerifier()), /weigh 2, short of the quorum of 3/);
  });
});

describe('certificate schemas', () => {
  const members = makeMembers(4);
  const cert = certificateBy(members.slice(0, 3), chainId, at);

  it('accepts a certificate and refuses an extra field', () => {
    expect(commitCertificateSchema.safeParse(cert).success).toBe(true);
    expect(commitCertificateSchema.safeParse({ ...cert, extra: true }).success).toBe(false);
  });

  it('accepts a lock proof and refuses one without its value', () => {
    const proof = { rank: cert.rank, attempt: cert.attempt, value: 'block 41', valueDigest: cert.valueDigest, voters: cert.signers, signatures: cert.signatures };
    expect(lockProofSchema.safeParse(proof).success).toBe(true);
    expect(lockProofSchema.safeParse({ ...proof, value: '' }).success).toBe(false);
    expect(lockProofSchema.safeParse({ ...proof, signers: proof.voters }).success).toBe(false);
  });
});

describe('certificateVerifier', () => {
  const members = makeMembers(4);

  it('gives the verdicts verifyCertificate gives, reading the keys once', () => {
    const check = certificateVerifier(publicOnly(members), { chainId });
    const good = certificateBy(members.slice(0, 3), chainId, at);
    const short = certificateBy(members.slice(0, 2), chainId, at);
    for (const certificate of [good, short, { ...good, signatures: [...good.signatures].reverse() }, 'junk']) {
      expect(check(certificate)).toEqual(verifyCertificate(certificate, publicOnly(members), { chainId }));
    }
    expect(check(good).valid).toBe(true);
  });

  it('throws on unusable members, where verifyCertificate answers with a verdict', () => {
    const twice = [...publicOnly(members), { ...publicOnly(members)[0], id: 'm9' }];
    expect(() => certificateVerifier(twice)).toThrow(RangeError);
    expect(verifyCertificate(certificateBy(members.slice(0, 3), chainId, at), twice, { chainId })).toMatchObject({ valid: false, reason: expect.stringMatching(/^unusable members: members m0 and m9 have one publicKey/) });
  });
});
