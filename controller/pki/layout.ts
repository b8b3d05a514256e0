/**
 * Where the controller's PKI keeps its files, and the modes they must have: the directory and
 * each member's folder 0700, private keys 0600, certificates 0644.
 */
import { join } from 'node:path';
import { InputError } from '../errors.ts';
import type { MemberCertRole } from './issue.ts';

export const DIR_MODE = 0o700;
export const KEY_MODE = 0o600;
export const CERT_MODE = 0o644;

export type PairRole = 'ca' | 'client' | MemberCertRole;

/** A certificate and its key, as paths relative to the PKI directory. */
export interface PairFiles {
  role: PairRole;
  member?: string;
  cert: string;
  key: string;
}

export const CA_FILES: PairFiles = { role: 'ca', cert: 'ca.crt', key: 'ca.key' };
export const CLIENT_FILES: PairFiles = { role: 'client', cert: 'client.crt', key: 'client.key' };
export const LOCK_FILE = '.lock';
/** The list of certificates the CA revoked (PEM, "X509 CRL"): the serials of replaced ones. */
export const CRL_FILE = 'ca.crl';
/**
 * During a CA rotation (`tskv certs rotate --ca`), the CA being replaced and its list, kept until
 * no member trusts it any more: ca.crt/ca.key are the new CA from the start of the rotation.
 */
export const RETIRING_CA_FILES: PairFiles = { role: 'ca', cert: 'retiring-ca.crt', key: 'retiring-ca.key' };
export const RETIRING_CRL_FILE = 'retiring-ca.crl';
/** A rotation in progress (rotation.ts): what a re-run must finish. */
export const ROTATION_FILE = 'rotation.json';

export function memberDir(name: string): string {
  // The inventory refuses such names already; this keeps a member's files inside its folder regardless.
  if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw new InputError(`the member name ${JSON.stringify(name)} cannot name a folder of the PKI directory`);
  }
  return join('members', name);
}

export function memberFiles(name: string, role: MemberCertRole): PairFiles {
  const dir = memberDir(name);
  return { role, member: name, cert: join(dir, `${role}.crt`), key: join(dir, `${role}.key`) };
}
