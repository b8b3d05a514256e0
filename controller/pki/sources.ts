/**
 * Where the TLS material tskv places on hosts and presents to etcd lives on the controller: the
 * PKI folder tskv keeps (tls.mode auto) or the operator's own files (tls.mode files). Paths only:
 * callers read them with readPkiFile.
 */
import { join } from 'node:path';
import { InputError } from '../errors.ts';
import type { CertKeyPaths, Inventory } from '../inventory/model.ts';
import { readPkiFile } from './files.ts';
import { CA_FILES, CLIENT_FILES, memberFiles } from './layout.ts';
import { type MemberMaterial, memberMaterial } from './material.ts';

export interface MemberTlsSources {
  ca: string;
  server: CertKeyPaths;
  peer: CertKeyPaths;
}

export interface ClientTlsSources extends CertKeyPaths {
  /** The CA certificate the members' certificates are checked against. */
  ca: string;
}

function userFiles(inv: Inventory): NonNullable<Inventory['tls']['files']> {
  // The inventory refuses tls.mode files without them (cross-checks.ts).
  if (!inv.tls.files) throw new InputError(`${inv.file}: tls.mode files needs tls.ca and tls.client`);
  return inv.tls.files;
}

export function clientTlsSources(inv: Inventory): ClientTlsSources {
  if (inv.tls.mode === 'files') {
    const { ca, client } = userFiles(inv);
    return { ca, ...client };
  }
  const at = (name: string) => join(inv.tls.dir, name);
  return { ca: at(CA_FILES.cert), cert: at(CLIENT_FILES.cert), key: at(CLIENT_FILES.key) };
}

export function memberTlsSources(inv: Inventory, member: string): MemberTlsSources {
  if (inv.tls.mode === 'files') {
    const own = inv.hosts.find((h) => h.name === member)?.tls;
    if (!own) {
      throw new InputError(`${member} has no tls certificate in ${inv.file}`, {
        fix: `add tls: { cert: ..., key: ... } to hosts.${member} (tls.mode files)`,
      });
    }
    return { ca: userFiles(inv).ca, ...own };
  }
  const at = (pair: CertKeyPaths) => ({
    cert: join(inv.tls.dir, pair.cert),
    key: join(inv.tls.dir, pair.key),
  });
  return {
    ca: join(inv.tls.dir, CA_FILES.cert),
    server: at(memberFiles(member, 'server')),
    peer: at(memberFiles(member, 'peer')),
  };
}

/**
 * What a member's host gets, as the PKI folder hands it out (pki/material.ts: following a rotation
 * in progress), or read from the operator's own files (no revocation list).
 */
export async function memberTlsMaterial(inv: Inventory, member: string): Promise<MemberMaterial> {
  if (inv.tls.mode !== 'files') return memberMaterial(inv.tls.dir, member);
  const s = memberTlsSources(inv, member);
  const [trust, serverCert, serverKey, peerCert, peerKey] = await Promise.all([
    readPkiFile(s.ca, 'cert'),
    readPkiFile(s.server.cert, 'cert'),
    readPkiFile(s.server.key, 'key'),
    readPkiFile(s.peer.cert, 'cert'),
    readPkiFile(s.peer.key, 'key'),
  ]);
  return {
    trust,
    crl: undefined,
    server: { cert: serverCert, key: serverKey },
    peer: { cert: peerCert, key: peerKey },
  };
}
