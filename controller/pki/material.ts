/**
 * What the PKI folder hands out now: to each member's host, the CA certificates it trusts, the
 * revocation list it checks, and its own pairs; to tskv's own connections, the same trust. Both
 * follow a CA rotation in progress (rotation.ts): while members may present certificates of
 * either CA they trust both, and the list of the retiring CA (whose certificates are the ones that
 * may be revoked) until it is dropped.
 */
import { join } from 'node:path';
import { readPkiFile } from './files.ts';
import type { MemberCertRole } from './issue.ts';
import { CA_FILES, CRL_FILE, memberFiles, RETIRING_CA_FILES, RETIRING_CRL_FILE } from './layout.ts';
import { type Rotation, readRotation } from './rotation.ts';

/** undefined: the PKI has not issued it yet (a dry run before the first deploy). */
export interface MemberMaterial {
  /** The CA certificates the member trusts (PEM; two during a CA rotation). */
  trust: string | undefined;
  /** The revocation list it checks clients and peers against (PEM). */
  crl: string | undefined;
  server: { cert: string | undefined; key: string | undefined };
  peer: { cert: string | undefined; key: string | undefined };
}

export interface Trust {
  trust: string | undefined;
  crl: string | undefined;
  rotation: Rotation | undefined;
}

/** Several PEM certificates as one file, each on its own lines. */
export function bundle(...pems: string[]): string {
  return [...new Set(pems.map((p) => `${p.trimEnd()}\n`))].join('');
}

interface CaFiles {
  ca: string | undefined;
  crl: string | undefined;
  retiring: string | undefined;
  retiringCrl: string | undefined;
}

async function caFiles(dir: string, rotation: Rotation | undefined): Promise<CaFiles> {
  const read = (name: string, kind: 'cert' | 'crl') => readPkiFile(join(dir, name), kind);
  const rotating = rotation?.kind === 'ca';
  const [ca, crl, retiring, retiringCrl] = await Promise.all([
    read(CA_FILES.cert, 'cert'),
    read(CRL_FILE, 'crl'),
    rotating ? read(RETIRING_CA_FILES.cert, 'cert') : undefined,
    rotating ? read(RETIRING_CRL_FILE, 'crl') : undefined,
  ]);
  return { ca, crl, retiring, retiringCrl };
}

/** The trust and revocation list every member (and tskv's client) uses now. */
export async function currentTrust(dir: string): Promise<Trust> {
  const rotation = await readRotation(dir);
  const f = await caFiles(dir, rotation);
  if (rotation?.kind === 'ca' && rotation.phase !== 'drop' && f.retiring !== undefined) {
    return {
      trust: f.ca === undefined ? f.retiring : bundle(f.retiring, f.ca),
      crl: f.retiringCrl,
      rotation,
    };
  }
  return { trust: f.ca, crl: f.crl, rotation };
}

/**
 * The CA files a host of this PKI may hold: the CA's; during a CA rotation also the retiring
 * CA's and the two together (a run stopped in the middle of a pass leaves hosts of each).
 * Anything else is another CA's.
 */
export async function acceptedTrust(dir: string): Promise<string[]> {
  const rotation = await readRotation(dir);
  const f = await caFiles(dir, rotation);
  const accepted = [f.ca];
  if (rotation?.kind === 'ca' && f.retiring !== undefined) {
    accepted.push(f.retiring, f.ca === undefined ? undefined : bundle(f.retiring, f.ca));
  }
  return accepted.filter((c): c is string => c !== undefined);
}

async function pair(dir: string, member: string, role: MemberCertRole) {
  const files = memberFiles(member, role);
  const [cert, key] = await Promise.all([
    readPkiFile(join(dir, files.cert), 'cert'),
    readPkiFile(join(dir, files.key), 'key'),
  ]);
  return { cert, key };
}

/** What the member's host should hold now. */
export async function memberMaterial(dir: string, member: string): Promise<MemberMaterial> {
  const [{ trust, crl }, server, peer] = await Promise.all([
    currentTrust(dir),
    pair(dir, member, 'server'),
    pair(dir, member, 'peer'),
  ]);
  return { trust, crl, server, peer };
}
