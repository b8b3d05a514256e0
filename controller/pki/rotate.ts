/**
 * The PKI side of `tskv certs rotate` (the plays roll each step out to the members in between):
 * - certificates: record the serials in use, issue every member's and the client's pairs again,
 *   and once every member uses the new ones, revoke the old (the CA's revocation list);
 * - the CA: keep the current one as the retiring CA and make a new one (members then trust both),
 *   issue everything again under the new one, and at the end drop the retiring CA.
 * Each step is recorded (rotation.ts) before it acts, and each is safe to run again, so a run
 * stopped anywhere is finished by the next.
 */
import { join } from 'node:path';
import { TskvError } from '../errors.ts';
import { inspectCrl, issueCrl } from './crl.ts';
import { caProblem, ensureCrl, type PkiResult, readCa, settlePki } from './ensure.ts';
import { ensurePrivateDir, readPkiFile, removePkiFile, writePkiFile } from './files.ts';
import { fingerprintSha256, parseCertPem } from './inspect.ts';
import { issueCa, type MemberIdentity } from './issue.ts';
import { keyPairFromPem } from './keys.ts';
import {
  CA_FILES,
  CLIENT_FILES,
  CRL_FILE,
  memberFiles,
  RETIRING_CA_FILES,
  RETIRING_CRL_FILE,
} from './layout.ts';
import { withPkiLock } from './lock.ts';
import {
  type CaPhase,
  type CaRotation,
  clearRotation,
  finishCommand,
  type Rotation,
  reached,
  readRotation,
  writeRotation,
} from './rotation.ts';

const newResult = (dir: string): PkiResult => ({ dir, changes: [], warnings: [] });

async function locked<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  await ensurePrivateDir(dir);
  return withPkiLock(dir, fn);
}

/** Another kind of rotation is in progress: it is finished first. */
function otherRotation(dir: string, rotation: Rotation, wanted: string): TskvError {
  const what = rotation.kind === 'ca' ? 'a CA rotation' : 'a certificate rotation';
  return new TskvError(
    'E_REFUSED',
    `${wanted} refused: ${what} is in progress in ${dir}; nothing was changed`,
    {
      step: 'pki',
      fix: `finish it first: ${finishCommand(rotation, 'INVENTORY')}`,
    },
  );
}

/** The leaf certificates a rotation replaces: the client's and each member's server and peer. */
function leafCerts(members: readonly MemberIdentity[]): string[] {
  return [
    CLIENT_FILES.cert,
    ...members.flatMap((m) => (['server', 'peer'] as const).map((role) => memberFiles(m.name, role).cert)),
  ];
}

async function serialAt(path: string): Promise<string | undefined> {
  const pem = await readPkiFile(path, 'cert');
  if (pem === undefined) return undefined;
  try {
    return parseCertPem(pem).serialNumber.toLowerCase();
  } catch {
    return undefined; // unreadable: ensurePki issues it again, there is nothing to revoke
  }
}

/**
 * Starts (or, recorded already, resumes) a rotation of the certificates: the serials in use are
 * recorded first, then every pair still carrying one of them is issued again.
 */
export async function startCertRotation(
  dir: string,
  members: readonly MemberIdentity[],
  now: Date = new Date(),
): Promise<PkiResult> {
  return locked(dir, async () => {
    let rotation = await readRotation(dir);
    if (rotation?.kind === 'ca') throw otherRotation(dir, rotation, 'rotating the certificates');
    if (!rotation) {
      const serials = await Promise.all(leafCerts(members).map((c) => serialAt(join(dir, c))));
      rotation = {
        kind: 'certs',
        started: now.toISOString(),
        revoke: serials.filter((s): s is string => s !== undefined),
      };
      await writeRotation(dir, rotation);
    }
    const replaced = new Set(rotation.revoke);
    return settlePki(dir, members, now, {
      replace: (cert) =>
        replaced.has(cert.serialNumber.toLowerCase()) ? 'rotated (tskv certs rotate)' : undefined,
    });
  });
}

/**
 * Adds the serials the certificate rotation replaced to the CA's revocation list (again: no
 * change). The record stays until the list is on every member (endRotation).
 */
export async function revokeReplaced(dir: string, now: Date = new Date()): Promise<PkiResult> {
  return locked(dir, async () => {
    const result = newResult(dir);
    const rotation = await readRotation(dir);
    if (rotation?.kind !== 'certs') return result;
    const ca = await readCa(dir, CA_FILES, now, result);
    await ensureCrl(dir, CRL_FILE, ca, now, result);
    const path = join(dir, CRL_FILE);
    const previous = await readPkiFile(path, 'crl');
    const listed = new Set((previous ? inspectCrl(previous).revoked : []).map((r) => r.serial));
    const missing = rotation.revoke.filter((s) => !listed.has(s));
    if (missing.length === 0) return result;
    await writePkiFile(path, await issueCrl(ca, missing, previous, now), 'crl');
    result.changes.push({
      file: CRL_FILE,
      action: 'updated',
      reason: `revoked the ${missing.length} certificates the rotation replaced`,
    });
    return result;
  });
}

/** The leaves of the retiring CA: issued again under the new one from the second pass on. */
async function settleCaRotation(
  dir: string,
  rotation: CaRotation,
  members: readonly MemberIdentity[],
  now: Date,
): Promise<PkiResult> {
  const retiring = await readPkiFile(join(dir, RETIRING_CA_FILES.cert), 'cert');
  const retiringName = retiring === undefined ? undefined : parseCertPem(retiring).subject;
  return settlePki(dir, members, now, {
    replace: (cert) =>
      reached(rotation, 'reissue') && cert.issuer === retiringName
        ? 'issued by the retiring CA (tskv certs rotate --ca)'
        : undefined,
  });
}

/** A new CA in ca.crt/ca.key with an empty list, the list first and the certificate last. */
async function makeNewCa(dir: string, now: Date, result: PkiResult): Promise<void> {
  const ca = await issueCa(now);
  const authority = { cert: parseCertPem(ca.certPem), keys: keyPairFromPem(ca.keyPem) };
  // Until ca.crt is written it is still the retiring CA's: a run stopped here makes a new one again.
  await writePkiFile(join(dir, CRL_FILE), await issueCrl(authority, [], undefined, now), 'crl');
  await writePkiFile(join(dir, CA_FILES.key), ca.keyPem, 'key');
  await writePkiFile(join(dir, CA_FILES.cert), ca.certPem, 'cert');
  result.changes.push({ file: CA_FILES.cert, action: 'created', reason: 'the new CA of the rotation' });
}

/** Copies the current CA, its key and its list to the retiring CA's files. */
async function keepAsRetiring(dir: string, now: Date, result: PkiResult): Promise<string> {
  const ca = await readCa(dir, CA_FILES, now, result);
  await ensureCrl(dir, CRL_FILE, ca, now, result);
  const copy = async (from: string, to: string, kind: 'cert' | 'key' | 'crl') => {
    const content = await readPkiFile(join(dir, from), kind);
    if (content === undefined) throw caProblem(join(dir, from), 'disappeared', 'run the command again');
    await writePkiFile(join(dir, to), content, kind);
  };
  await copy(CA_FILES.cert, RETIRING_CA_FILES.cert, 'cert');
  await copy(CA_FILES.key, RETIRING_CA_FILES.key, 'key');
  await copy(CRL_FILE, RETIRING_CRL_FILE, 'crl');
  result.changes.push({ file: RETIRING_CA_FILES.cert, action: 'created', reason: 'the CA being replaced' });
  return fingerprintSha256(ca.cert);
}

export interface CaRotationStep {
  rotation: CaRotation;
  pki: PkiResult;
}

/**
 * Starts a CA rotation, or resumes the one recorded: the current CA is kept as the retiring one
 * and a new CA made (members are to trust both), and whatever the recorded phase needs issued is.
 */
export async function startCaRotation(
  dir: string,
  members: readonly MemberIdentity[],
  now: Date = new Date(),
): Promise<CaRotationStep> {
  return locked(dir, async () => {
    const result = newResult(dir);
    let rotation = await readRotation(dir);
    if (rotation?.kind === 'certs') throw otherRotation(dir, rotation, 'rotating the CA');
    if (!rotation) {
      const retiring = await keepAsRetiring(dir, now, result);
      rotation = { kind: 'ca', started: now.toISOString(), phase: 'trust', retiring };
      await writeRotation(dir, rotation);
    }
    const current = await readPkiFile(join(dir, CA_FILES.cert), 'cert');
    if (current === undefined || fingerprintSha256(parseCertPem(current)) === rotation.retiring) {
      if (reached(rotation, 'reissue')) {
        throw caProblem(join(dir, CA_FILES.cert), 'is the retiring CA again', `restore ${dir} from a backup`);
      }
      await makeNewCa(dir, now, result);
    }
    const settled = await settleCaRotation(dir, rotation, members, now);
    return {
      rotation,
      pki: { ...result, changes: [...result.changes, ...settled.changes], warnings: settled.warnings },
    };
  });
}

/**
 * Moves the CA rotation on to `phase` (once every member is through the pass before it): from
 * `reissue` on, every certificate is issued again under the new CA.
 */
export async function advanceCaRotation(
  dir: string,
  phase: Exclude<CaPhase, 'trust'>,
  members: readonly MemberIdentity[],
  now: Date = new Date(),
): Promise<PkiResult> {
  return locked(dir, async () => {
    const rotation = await readRotation(dir);
    if (rotation?.kind !== 'ca') {
      throw new TskvError('E_REFUSED', `no CA rotation is in progress in ${dir}`, {
        step: 'pki',
        fix: 'start one with tskv certs rotate INVENTORY --ca',
      });
    }
    const next: CaRotation = reached(rotation, phase) ? rotation : { ...rotation, phase };
    if (next !== rotation) await writeRotation(dir, next);
    return settleCaRotation(dir, next, members, now);
  });
}

/**
 * Ends the rotation in progress: a CA rotation's retiring CA is removed (its key first), then
 * the record. Again: nothing to do.
 */
export async function endRotation(dir: string): Promise<PkiResult> {
  return locked(dir, async () => {
    const result = newResult(dir);
    const rotation = await readRotation(dir);
    if (!rotation) return result;
    if (rotation.kind === 'ca') {
      for (const file of [RETIRING_CA_FILES.key, RETIRING_CA_FILES.cert, RETIRING_CRL_FILE]) {
        await removePkiFile(join(dir, file));
      }
      result.changes.push({
        file: RETIRING_CA_FILES.cert,
        action: 'removed',
        reason: 'no member trusts it any more',
      });
    }
    await clearRotation(dir);
    return result;
  });
}
