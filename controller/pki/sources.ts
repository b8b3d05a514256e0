/**
 * Where the TLS material tskv places on hosts and presents to etcd lives on the controller: the
 * PKI folder tskv keeps (tls.mode auto) or the operator's own files (tls.mode files). Paths only:
 * callers read them with readPkiFile.
 */
import { join } from 'node:path';
import { InputError } from '../errors.ts';
import type { CertKeyPaths, Inventory } from '../inventory/model.ts';
import { CA_FILES, CLIENT_FILES, memberFiles } from './layout.ts';

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
