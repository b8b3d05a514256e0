/**
 * The environment a user's own etcdctl needs to reach the cluster as tskv does: API v3, the
 * members' client URLs, and with TLS on the CA and the client identity (the controller's PKI, or
 * the operator's own files with tls.mode files).
 */
import { InputError } from '../errors.ts';
import type { Inventory } from '../inventory/model.ts';
import { tlsOn } from '../inventory/tls.ts';
import { clientTlsSources } from '../pki/sources.ts';
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
  if (tlsOn(inv)) {
    const files = clientTlsSources(inv);
    vars.push(['ETCDCTL_CACERT', files.ca], ['ETCDCTL_CERT', files.cert], ['ETCDCTL_KEY', files.key]);
  }
  return vars.map(([name, value]) => `export ${name}=${shellQuote(value)}\n`).join('');
}
