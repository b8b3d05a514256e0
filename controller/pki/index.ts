/** The controller's PKI (issue 12): issuing, the PKI directory, and reading certificates. */

export { crlDerBase64, inspectCrl, isCrlOf, issueCrl, parseCrlPem, type RevokedCert } from './crl.ts';
export {
  describePkiChanges,
  ensurePki,
  type PkiChange,
  type PkiResult,
  RENEW_WITHIN_DAYS,
} from './ensure.ts';
export { type PkiFileKind, readPkiFile } from './files.ts';
export {
  type CertInfo,
  daysLeft,
  fingerprintSha256,
  inspectCert,
  isSignedBy,
  keyMatchesCert,
  parseCertPem,
} from './inspect.ts';
export {
  type Authority,
  BACKDATE_MS,
  CA_VALIDITY_DAYS,
  CLIENT_COMMON_NAME,
  type IssuedPair,
  issueCa,
  issueClientCert,
  issueMemberCert,
  LEAF_VALIDITY_DAYS,
  type MemberCertRole,
  type MemberIdentity,
  memberSans,
  PEER_COMMON_NAME,
  type SubjectAltNames,
} from './issue.ts';
export { keyPairFromPem } from './keys.ts';
export {
  CA_FILES,
  CERT_MODE,
  CLIENT_FILES,
  CRL_FILE,
  DIR_MODE,
  KEY_MODE,
  memberFiles,
  type PairFiles,
  RETIRING_CA_FILES,
  RETIRING_CRL_FILE,
  ROTATION_FILE,
} from './layout.ts';
export {
  acceptedTrust,
  bundle,
  currentTrust,
  type MemberMaterial,
  memberMaterial,
  type Trust,
} from './material.ts';
export {
  advanceCaRotation,
  type CaRotationStep,
  endRotation,
  revokeReplaced,
  startCaRotation,
  startCertRotation,
} from './rotate.ts';
export {
  CA_PHASES,
  type CaPhase,
  type CaRotation,
  finishCommand,
  type Rotation,
  readRotation,
} from './rotation.ts';
export {
  type ClientTlsSources,
  clientTlsSources,
  type MemberTlsSources,
  memberTlsMaterial,
  memberTlsSources,
} from './sources.ts';
export { checkUserTls, type TlsFileProblem, userTlsProblems } from './user-files.ts';
export { type CertProblem, type CertProblemKind, coversAddress, validateMemberCert } from './validate.ts';
