/**
 * The controller's PKI directory, made and kept current: `ensurePki` creates what is missing,
 * renews what is wrong or expires within 30 days, keeps everything else byte for byte, and says
 * what it changed (nothing, on a re-run with the same members). During a CA rotation
 * (rotation.ts) certificates are issued by the CA the members present certificates of in that
 * phase: the retiring one until every member trusts both.
 */
import { join } from 'node:path';
import { InputError } from '../errors.ts';
import { isCrlOf, issueCrl } from './crl.ts';
import { createPkiFileExclusive, ensurePrivateDir, readPkiFile, writePkiFile } from './files.ts';
import { daysLeft, isCaCert, keyMatchesCert, parseCertPem } from './inspect.ts';
import {
  type Authority,
  type IssuedPair,
  issueCa,
  issueCaCert,
  issueClientCert,
  issueMemberCert,
  type MemberCertRole,
  type MemberIdentity,
  PEER_COMMON_NAME,
} from './issue.ts';
import { keyPairFromPem } from './keys.ts';
import {
  CA_FILES,
  CLIENT_FILES,
  CRL_FILE,
  memberDir,
  memberFiles,
  type PairFiles,
  RETIRING_CA_FILES,
  RETIRING_CRL_FILE,
  ROTATION_FILE,
} from './layout.ts';
import { withPkiLock } from './lock.ts';
import { finishCommand, type Rotation, readRotation } from './rotation.ts';
import { hasIssuedSans, leafProblems } from './validate.ts';
import type * as x509 from './x509.ts';

export const RENEW_WITHIN_DAYS = 30;

export interface PkiChange {
  /** The file that changed, relative to the PKI directory (a pair's certificate stands for the pair). */
  file: string;
  action: 'created' | 'renewed' | 'updated' | 'removed';
  reason: string;
}

export interface PkiResult {
  dir: string;
  /** What was written; empty when everything was current. */
  changes: PkiChange[];
  /** What needs the operator soon (a CA near its end), without stopping anything. */
  warnings: string[];
}

/** What ensurePki wrote, a line each ("PKI DIR: created ca.crt (no CA yet)"). */
export function describePkiChanges(pki: PkiResult): string[] {
  return pki.changes.map((c) => `PKI ${pki.dir}: ${c.action} ${c.file} (${c.reason})`);
}

interface LeafSpec {
  files: PairFiles;
  usages: readonly string[];
  issue(ca: Authority, now: Date): Promise<IssuedPair>;
  /** Why the certificate's SANs are not the ones it would be issued with now, if they are not. */
  sanMismatch?(cert: x509.X509Certificate): string | undefined;
}

export interface SettleOptions {
  /** Why a current certificate must be issued again all the same (a rotation asks), or undefined. */
  replace?(cert: x509.X509Certificate, files: PairFiles): string | undefined;
}

export async function ensurePki(
  dir: string,
  members: readonly MemberIdentity[],
  now: Date = new Date(),
): Promise<PkiResult> {
  await ensurePrivateDir(dir);
  return withPkiLock(dir, async () => {
    const result = await settlePki(dir, members, now);
    const rotation = await readRotation(dir);
    if (rotation) {
      result.warnings.push(
        `a ${rotation.kind === 'ca' ? 'CA' : 'certificate'} rotation is in progress (${join(dir, ROTATION_FILE)}): ${finishCommand(rotation, 'INVENTORY')} finishes it`,
      );
    }
    return result;
  });
}

/** ensurePki's work, for a caller that holds the PKI lock (withPkiLock) already. */
export async function settlePki(
  dir: string,
  members: readonly MemberIdentity[],
  now: Date,
  options: SettleOptions = {},
): Promise<PkiResult> {
  const result: PkiResult = { dir, changes: [], warnings: [] };
  const rotation = await readRotation(dir);
  const issuer = await issuingCa(dir, rotation, now, result);
  await ensureLeaf(dir, issuer, clientSpec(), now, result, options);
  for (const member of members) {
    await ensurePrivateDir(join(dir, memberDir(member.name)));
    for (const role of ['server', 'peer'] as const) {
      await ensureLeaf(dir, issuer, memberSpec(role, member), now, result, options);
    }
  }
  return result;
}

/**
 * The CA that issues certificates now, its revocation list made where missing: the retiring CA
 * while members may still trust only it (a CA rotation's first pass), else the CA (made on
 * first use).
 */
async function issuingCa(
  dir: string,
  rotation: Rotation | undefined,
  now: Date,
  result: PkiResult,
): Promise<Authority> {
  if (rotation?.kind === 'ca' && rotation.phase === 'trust') {
    const retiring = await readCa(dir, RETIRING_CA_FILES, now, result);
    await ensureCrl(dir, RETIRING_CRL_FILE, retiring, now, result);
    return retiring;
  }
  const ca = await ensureCa(dir, now, result);
  // A CA certificate made again for its key (a first run cut short) has a new name: the list of
  // the old one goes with it, as every certificate it issued is issued again.
  const remade = result.changes.some((c) => c.file === CA_FILES.cert);
  await ensureCrl(dir, CRL_FILE, ca, now, result, remade);
  return ca;
}

/** The CA's revocation list: an empty one made where there is none; one of another CA refused. */
export async function ensureCrl(
  dir: string,
  file: string,
  ca: Authority,
  now: Date,
  result: PkiResult,
  replaceOther = false,
): Promise<void> {
  const path = join(dir, file);
  const pem = await readPkiFile(path, 'crl');
  let ours = false;
  try {
    ours = pem !== undefined && (await isCrlOf(pem, ca.cert));
  } catch (err) {
    throw caProblem(path, (err as Error).message, crlFix(path));
  }
  if (ours) return;
  if (pem !== undefined && !replaceOther) {
    throw caProblem(path, `is not signed by the CA beside it (${ca.cert.subject})`, crlFix(path));
  }
  await writePkiFile(path, await issueCrl(ca, [], undefined, now), 'crl');
  result.changes.push({
    file,
    action: pem === undefined ? 'created' : 'renewed',
    reason: pem === undefined ? 'no revocation list yet' : 'the CA certificate was made again',
  });
}

const crlFix = (path: string) =>
  `restore ${path} from a backup; or move it aside and tskv starts an empty one (the certificates it revoked are then accepted again until they expire)`;

function clientSpec(): LeafSpec {
  return { files: CLIENT_FILES, usages: ['clientAuth'], issue: (ca, now) => issueClientCert(ca, now) };
}

function memberSpec(role: MemberCertRole, member: MemberIdentity): LeafSpec {
  return {
    files: memberFiles(member.name, role),
    usages: ['serverAuth', 'clientAuth'],
    issue: (ca, now) => issueMemberCert(ca, role, member, now),
    sanMismatch: (cert) =>
      hasIssuedSans(cert, role, member)
        ? role === 'peer' && cert.subject !== `CN=${PEER_COMMON_NAME}`
          ? `its subject is not CN=${PEER_COMMON_NAME}, the only one members accept on their peer port`
          : undefined
        : `its SANs do not match ${member.name} at ${member.address} (its address or name changed)`,
  };
}

export function caProblem(path: string, message: string, fix: string): InputError {
  return new InputError(`${path} ${message}`, { step: 'pki', fix });
}

const RESTORE = 'restore ca.crt and ca.key from a backup; tskv never replaces a CA key';

/** A CA that must be there (the retiring one during a CA rotation), read and checked. */
export async function readCa(
  dir: string,
  files: PairFiles,
  now: Date,
  result: PkiResult,
): Promise<Authority> {
  const [certPath, keyPath] = [join(dir, files.cert), join(dir, files.key)];
  const [certPem, keyPem] = [await readPkiFile(certPath, 'cert'), await readPkiFile(keyPath, 'key')];
  if (certPem === undefined || keyPem === undefined) {
    throw caProblem(
      certPem === undefined ? certPath : keyPath,
      'is missing, and a CA rotation in progress needs it',
      `restore it from a backup of ${dir}`,
    );
  }
  return checkedCa(certPath, certPem, keyPath, keyPem, now, result);
}

/** The CA to sign with: created on first use, else read and checked (a broken CA is an error, never replaced). */
async function ensureCa(dir: string, now: Date, result: PkiResult): Promise<Authority> {
  const [certPath, keyPath] = [join(dir, CA_FILES.cert), join(dir, CA_FILES.key)];
  let keyPem = await readPkiFile(keyPath, 'key');
  let certPem = await readPkiFile(certPath, 'cert');
  if (keyPem === undefined) {
    if (certPem !== undefined) {
      throw caProblem(
        certPath,
        `has no key beside it (${keyPath} is missing): no certificate can be issued under it`,
        `${RESTORE}; to start a new CA instead, move ${dir} aside (every member then needs new certificates)`,
      );
    }
    ({ keyPem, certPem } = await createCa(dir, now));
    result.changes.push({ file: CA_FILES.cert, action: 'created', reason: 'no CA yet' });
  } else if (certPem === undefined) {
    // A first run stopped between the two files: the key is kept, its certificate made again.
    certPem = await issueCaCert(readCaKey(keyPath, keyPem).keys, now);
    await writePkiFile(certPath, certPem, 'cert');
    result.changes.push({
      file: CA_FILES.cert,
      action: 'created',
      reason: `${CA_FILES.key} had no certificate`,
    });
  }
  return checkedCa(certPath, certPem, keyPath, keyPem, now, result);
}

async function createCa(dir: string, now: Date): Promise<IssuedPair> {
  const ca = await issueCa(now);
  const keyPath = join(dir, CA_FILES.key);
  if (!(await createPkiFileExclusive(keyPath, ca.keyPem, 'key'))) {
    throw caProblem(keyPath, 'appeared while tskv was creating the CA', 'run the command again');
  }
  await writePkiFile(join(dir, CA_FILES.cert), ca.certPem, 'cert');
  return ca;
}

function readCaKey(keyPath: string, keyPem: string): Pick<Authority, 'keys'> {
  try {
    return { keys: keyPairFromPem(keyPem) };
  } catch (err) {
    throw caProblem(keyPath, `cannot be used as the CA key: ${(err as Error).message}`, RESTORE);
  }
}

function checkedCa(
  certPath: string,
  certPem: string,
  keyPath: string,
  keyPem: string,
  now: Date,
  result: PkiResult,
): Authority {
  let cert: x509.X509Certificate;
  try {
    cert = parseCertPem(certPem);
  } catch (err) {
    throw caProblem(certPath, (err as Error).message, RESTORE);
  }
  const { keys } = readCaKey(keyPath, keyPem);
  if (!isCaCert(cert))
    throw caProblem(certPath, 'is not a CA certificate (basicConstraints CA:FALSE)', RESTORE);
  if (!keyMatchesCert(keyPem, cert)) {
    throw caProblem(keyPath, `does not match ${certPath}: it is not the key of that CA certificate`, RESTORE);
  }
  const left = daysLeft(cert, now);
  if (left < 0) {
    throw caProblem(
      certPath,
      `expired on ${cert.notAfter.toISOString()}`,
      'the CA must be rotated (tskv certs rotate --ca)',
    );
  }
  if (left < RENEW_WITHIN_DAYS) {
    result.warnings.push(`${certPath} expires in ${left} days: rotate the CA (tskv certs rotate --ca)`);
  }
  return { cert, keys };
}

/** Why the pair on disk must be issued again, or undefined when it is current. */
async function renewalReason(
  certPem: string,
  keyPem: string,
  ca: Authority,
  spec: LeafSpec,
  now: Date,
): Promise<string | undefined> {
  let cert: x509.X509Certificate;
  try {
    cert = parseCertPem(certPem);
  } catch (err) {
    return `the certificate ${(err as Error).message}`;
  }
  const [problem] = await leafProblems(cert, keyPem, ca.cert, now, spec.usages);
  if (problem) return problem.message;
  const sans = spec.sanMismatch?.(cert);
  if (sans) return sans;
  const left = daysLeft(cert, now);
  return left < RENEW_WITHIN_DAYS ? `it expires in ${left} days` : undefined;
}

/** What `options.replace` says of the certificate, when it can be read. */
function replaceReason(certPem: string, spec: LeafSpec, options: SettleOptions): string | undefined {
  if (!options.replace) return undefined;
  try {
    return options.replace(parseCertPem(certPem), spec.files);
  } catch {
    return undefined; // unreadable: renewalReason says so
  }
}

async function ensureLeaf(
  dir: string,
  ca: Authority,
  spec: LeafSpec,
  now: Date,
  result: PkiResult,
  options: SettleOptions,
): Promise<void> {
  const [certPath, keyPath] = [join(dir, spec.files.cert), join(dir, spec.files.key)];
  const certPem = await readPkiFile(certPath, 'cert');
  const keyPem = await readPkiFile(keyPath, 'key');
  let reason: string | undefined;
  if (certPem === undefined) reason = 'missing';
  else if (keyPem === undefined) reason = `${spec.files.key} is missing`;
  else
    reason = replaceReason(certPem, spec, options) ?? (await renewalReason(certPem, keyPem, ca, spec, now));
  if (reason === undefined) return;
  const issued = await spec.issue(ca, now);
  // The key first: a crash between the two leaves a pair that does not match, which the next run renews.
  await writePkiFile(keyPath, issued.keyPem, 'key');
  await writePkiFile(certPath, issued.certPem, 'cert');
  result.changes.push({
    file: spec.files.cert,
    action: certPem === undefined ? 'created' : 'renewed',
    reason,
  });
}
