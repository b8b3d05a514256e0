/**
 * The environment an etcdctl needs to reach the cluster as tskv does: API v3, the members' client
 * URLs, and with TLS on the CA and the client identity (the controller's PKI, or the operator's own
 * files with tls.mode files). `tskv env` prints it for the operator's own etcdctl; `tskv etcdctl`
 * gives it to the etcdctl it runs on a member.
 */
import { InputError } from '../errors.ts';
import type { Inventory } from '../inventory/model.ts';
import { tlsOn } from '../inventory/tls.ts';
import { CA_FILES, CLIENT_FILES } from '../pki/layout.ts';
import { clientTlsSources } from '../pki/sources.ts';
import { findHost } from './settings.ts';
import { shellQuote } from './shell-quote.ts';
import { clientUrl } from './urls.ts';

/**
 * etcdctl's variables for the TLS identity: the file each names (as the PKI folder calls it, and
 * tskv etcdctl on a host), and which of the inventory's client sources it is.
 */
export const ETCDCTL_IDENTITY_FILES = [
  { name: 'ETCDCTL_CACERT', file: CA_FILES.cert, source: 'ca' },
  { name: 'ETCDCTL_CERT', file: CLIENT_FILES.cert, source: 'cert' },
  { name: 'ETCDCTL_KEY', file: CLIENT_FILES.key, source: 'key' },
] as const;

/** ETCDCTL_API and ETCDCTL_ENDPOINTS: every member's client URL in inventory order, or only `host`'s. */
export function etcdctlEndpointVars(inv: Inventory, host?: string): [string, string][] {
  const hosts = host === undefined ? inv.hosts : [findHost(inv, host)];
  if (hosts.some((h) => h === undefined)) {
    throw new InputError(
      `no host '${host}' in ${inv.file}; its hosts are: ${inv.hosts.map((h) => h.name).join(', ')}`,
    );
  }
  return [
    ['ETCDCTL_API', '3'],
    ['ETCDCTL_ENDPOINTS', hosts.map((h) => clientUrl(h!, inv)).join(',')],
  ];
}

/** `export NAME=value` lines for sh; `host`: only that member's endpoint. */
export function etcdctlEnv(inv: Inventory, host?: string): string {
  const vars = etcdctlEndpointVars(inv, host);
  if (tlsOn(inv)) {
    const files = clientTlsSources(inv);
    for (const v of ETCDCTL_IDENTITY_FILES) vars.push([v.name, files[v.source]]);
  }
  return vars.map(([name, value]) => `export ${name}=${shellQuote(value)}\n`).join('');
}
