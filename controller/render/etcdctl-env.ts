/**
 * The environment a user's own etcdctl needs to reach the cluster as tskv does: API v3, the
 * members' client URLs, and with TLS on the CA and the client identity of the controller's PKI.
 */
import { join } from 'node:path';
import { InputError } from '../errors.ts';
import type { Inventory } from '../inventory/model.ts';
import { CA_FILES, CLIENT_FILES } from '../pki/layout.ts';
import { findHost } from './settings.ts';
import { shellQuote } from './shell-quote.ts';
import { clientUrl } from './urls.ts';

/** `export NAME=value` lines for sh; `host`: only that member's endpoint. */
export function etcdctlEnv(inv: Inventory, host?: string): string {
  const hosts = host === undefined ? inv.hosts : [findHost(inv, host)];
  if (hosts.some((h) => h === undefined)) {
    throw new InputError(
      `no host '${host}' in ${inv.file}; its hosts are: ${inv.hosts.map((h) => h.name).join(', ')}`,
    );
  }
  const vars: [string, string][] = [
    ['ETCDCTL_API', '3'],
    ['ETCDCTL_ENDPOINTS', hosts.map((h) => clientUrl(h!, inv)).join(',')],
  ];
  if (inv.tls.mode === 'auto') {
    vars.push(
      ['ETCDCTL_CACERT', join(inv.tls.dir, CA_FILES.cert)],
      ['ETCDCTL_CERT', join(inv.tls.dir, CLIENT_FILES.cert)],
      ['ETCDCTL_KEY', join(inv.tls.dir, CLIENT_FILES.key)],
    );
  }
  return vars.map(([name, value]) => `export ${name}=${shellQuote(value)}\n`).join('');
}
