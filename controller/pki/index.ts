/** The controller's PKI (issue 12): issuing, the PKI directory, and reading certificates. */
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
  DIR_MODE,
  KEY_MODE,
  memberFiles,
  type PairFiles,
} from './layout.ts';
export {
  type ClientTlsSources,
  clientTlsSources,
  type MemberTlsSources,
  memberTlsSources,
} from './sources.ts';
export { checkUserTls, type TlsFileProblem, userTlsProblems } from './user-files.ts';
export { type CertProblem, type CertProblemKind, coversAddress, validateMemberCert } from './validate.ts';
