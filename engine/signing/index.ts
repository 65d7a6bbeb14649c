// What an app or a third party needs of the engine's signatures: keys, the
// statement each signature covers, and certificate checks that need no engine.
export { generateKeyPair, keyPairFromSeed, type KeyHandle, type KeyPairHex, type PrivateKeyInput } from './keys';
export { statementBytes, signStatement, valueDigestOf, NIL_DIGEST, STATEMENT_DOMAIN, STATEMENT_KINDS, type Statement, type StatementKind } from './statement';
export { SignatureVerifier, DEFAULT_VERDICT_CACHE } from './verifier';
export {
  verifyCertificate,
  certificateVerifier,
  commitCertificateSchema,
  lockProofSchema,
  type CommitCertificate,
  type LockProof,
  type CertificateMember,
  type CertificateVerdict,
  type VerifyOptions,
} from './certificate';
