import { memberKeys, verifyCertificate, type CommitCertificate } from '../engine/signing/certificate';
import { keyPairFromSeed, privateKeyObject, publicKeyObject, signBytes, verifyBytes } from '../engine/signing/keys';
import { statementBytes, valueDigestOf } from '../engine/signing/statement';
import { SignatureVerifier } from '../engine/signing/verifier';

/**
 * What a signature costs here: Ed25519 through `node:crypto`, as the engine
 * calls it. `usPerSign` and `usPerVerify` are one statement's; `usPerCachedVerify`
 * is a verdict the shared verifier already holds (a message every engine of a
 * process sees); `certificates` is one whole certificate verified by a
 * fresh verifier (nothing cached), as an outsider would, per cluster size.
 */
export interface SigningCost {
  usPerSign: number;
  usPerVerify: number;
  usPerCachedVerify: number;
  certificates: Array<{ n: number; signers: number; bytes: number; usPerVerify: number }>;
}

/** Median µs per call of `run` over three timings of `count` calls, after one warm-up. */
function usPer(count: number, run: (i: number) => void): number {
  const timings: number[] = [];
  for (let pass = 0; pass < 4; pass += 1) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < count; i += 1) run(i);
    const us = Number(process.hrtime.bigint() - start) / 1000 / count;
    if (pass > 0) timings.push(us);
  }
  return timings.sort((a, b) => a - b)[1];
}

const statementAt = (rank: number) => statementBytes({ chainId: 'bench', kind: 'confirmation', rank, attempt: 0, valueDigest: valueDigestOf(`value-${rank}`) });

export function measureSigningCost({ count = 2000, sizes = [4, 16, 64] }: { count?: number; sizes?: number[] } = {}): SigningCost {
  const pair = keyPairFromSeed(Buffer.alloc(32, 7));
  const key = privateKeyObject(pair.privateKey);
  const pub = publicKeyObject(pair.publicKey);
  const statements = Array.from({ length: count }, (_, i) => statementAt(i));
  const signatures = statements.map((statement) => signBytes(key, statement));
  const usPerSign = usPer(count, (i) => signBytes(key, statements[i]));
  const usPerVerify = usPer(count, (i) => verifyBytes(pub, statements[i], signatures[i]));
  const shared = new SignatureVerifier(count * 2);
  for (let i = 0; i < count; i += 1) shared.verify(pub, statements[i], signatures[i]);
  const usPerCachedVerify = usPer(count, (i) => shared.verify(pub, statements[i], signatures[i]));

  const certificates = sizes.map((n) => {
    const members = Array.from({ length: n }, (_, i) => ({ id: `m${i}`, ...keyPairFromSeed(Buffer.alloc(32, i + 1)) }));
    const quorum = memberKeys(members.map(({ id, publicKey }) => ({ id, publicKey }))).membership.quorum;
    const statement = statementAt(1);
    const signers = members.slice(0, quorum);
    const certificate: CommitCertificate = {
      rank: 1,
      attempt: 0,
      valueDigest: valueDigestOf('value-1'),
      signers: signers.map((m) => m.id),
      signatures: signers.map((m) => signBytes(privateKeyObject(m.privateKey), statement)),
    };
    const publicOnly = members.map(({ id, publicKey }) => ({ id, publicKey }));
    const rounds = Math.max(5, Math.floor(200 / n));
    const usPerVerify = usPer(rounds, () => {
      if (!verifyCertificate(certificate, publicOnly, { chainId: 'bench' }).valid) throw new Error('certificate does not verify');
    });
    return { n, signers: quorum, bytes: JSON.stringify(certificate).length, usPerVerify };
  });
  return { usPerSign, usPerVerify, usPerCachedVerify, certificates };
}
