import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import {
  type Authority,
  type IssuedPair,
  issueCa,
  keyPairFromPem,
  type MemberIdentity,
  parseCertPem,
} from '../../../../controller/pki/index.ts';

export const H1: MemberIdentity = { name: 'h1', address: '192.0.2.11' };
export const H2: MemberIdentity = { name: 'h2', address: '192.0.2.12' };

export const HOUR_MS = 60 * 60 * 1000;
export const DAY_MS = 24 * HOUR_MS;

/** A fresh directory under the system's temp dir, removed when the test file ends. */
export async function tempDir(prefix = 'tskv-pki-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export function authorityOf(ca: IssuedPair): Authority {
  return { cert: parseCertPem(ca.certPem), keys: keyPairFromPem(ca.keyPem) };
}

export async function newAuthority(now?: Date): Promise<{ pair: IssuedPair; authority: Authority }> {
  const pair = await issueCa(now);
  return { pair, authority: authorityOf(pair) };
}
