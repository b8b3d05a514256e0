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
