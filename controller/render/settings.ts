import { ETCD_PKI_FILES } from '../../agent/api/index.ts';
import { InputError } from '../errors.ts';
import type { HostSpec, Inventory } from '../inventory/model.ts';
import type { OwnedFlag, TlsFlag } from '../inventory/owned-flags.ts';
import { describeCharacter, unsafeCharacter } from '../inventory/text.ts';
import { tlsOn } from '../inventory/tls.ts';
import { PEER_COMMON_NAME } from '../pki/issue.ts';
import { shellQuote } from './shell-quote.ts';
import { clientUrl, loopbackClientUrl, peerUrl, type Scheme, scheme } from './urls.ts';

export type ClusterState = 'new' | 'existing';

export interface SettingsOptions {
  /** --initial-cluster-state (default new). */
  state?: ClusterState;
  /** The members --initial-cluster lists (default: every inventory host, in inventory order). */
  initialCluster?: { name: string; peerUrl: string }[];
  /**
   * A member half way to TLS (see ops/tls-migration.ts): it has its certificates and dials TLS
   * peers, serves clients over https and http on the same port, and its peers over http still.
   */
  tlsStage?: 'dual';
}

/**
 * One etcd setting: its flag name without dashes, its value as etcd reads it, and who sets it: tskv
 * itself (one of the owned flags the inventory may not set) or the inventory's etcd.flags.
 */
export type Setting =
  | { flag: OwnedFlag | TlsFlag; value: string; source: 'tskv' }
  | { flag: string; value: string; source: 'inventory' };

/** Where deploy installs etcd and its settings (the systemd unit reads the env file). */
export { ETCD_BINARY, ETCD_ENV_FILE, ETCD_GROUP, ETCD_USER } from '../../agent/api/index.ts';

export function findHost(inv: Inventory, hostName: string): HostSpec | undefined {
  return inv.hosts.find((h) => h.name === hostName);
}

/** A member's etcd settings: tskv's own in the seed's order, then --data-dir, then the inventory's extra flags. */
export function etcdSettings(inv: Inventory, host: HostSpec, opts: SettingsOptions = {}): Setting[] {
  // Half way to TLS, peers still speak plain HTTP, and clients may use either.
  const peers = opts.tlsStage === 'dual' ? 'http' : scheme(inv);
  const clients: Scheme[] = opts.tlsStage === 'dual' ? ['https', 'http'] : [scheme(inv)];
  const members =
    opts.initialCluster ?? inv.hosts.map((h) => ({ name: h.name, peerUrl: peerUrl(h, inv, peers) }));
  // Every owned flag, and only those: the type refuses a missing or an unknown one.
  const own: Record<OwnedFlag, string> = {
    name: host.name,
    'initial-advertise-peer-urls': peerUrl(host, inv, peers),
    'listen-peer-urls': peerUrl(host, inv, peers),
    'listen-client-urls': [
      ...new Set(clients.flatMap((s) => [clientUrl(host, inv, s), loopbackClientUrl(inv, s)])),
    ].join(','),
    'advertise-client-urls': clients.map((s) => clientUrl(host, inv, s)).join(','),
    'initial-cluster-token': inv.cluster.token,
    'initial-cluster': members.map((m) => `${m.name}=${m.peerUrl}`).join(','),
    'initial-cluster-state': opts.state ?? 'new',
    'data-dir': host.dataDir,
  };
  return [
    ...(Object.entries(own) as [OwnedFlag, string][]).map(([flag, value]) => ({
      flag,
      value,
      source: 'tskv' as const,
    })),
    ...tlsSettings(inv),
    ...Object.entries(inv.etcd.flags).map(([flag, value]) => ({
      flag,
      value: String(value),
      source: 'inventory' as const,
    })),
  ];
}

/**
 * With TLS on, a member serves clients and peers only over TLS with certificates of the cluster's
 * CA, and asks every client and peer for one (the files are the agent's to place:
 * agent/api/paths.ts).
 */
function tlsSettings(inv: Inventory): Setting[] {
  if (!tlsOn(inv)) return [];
  const tls: Partial<Record<TlsFlag, string>> = {
    'cert-file': ETCD_PKI_FILES.serverCert,
    'key-file': ETCD_PKI_FILES.serverKey,
    'client-cert-auth': 'true',
    'trusted-ca-file': ETCD_PKI_FILES.ca,
    'peer-cert-file': ETCD_PKI_FILES.peerCert,
    'peer-key-file': ETCD_PKI_FILES.peerKey,
    'peer-client-cert-auth': 'true',
    'peer-trusted-ca-file': ETCD_PKI_FILES.ca,
  };
  // Only members' peer certificates speak raft, not the client certificate of the same CA. tskv
  // names its own peer certificates so; the operator's (tls.mode files) are theirs to name, and
  // every certificate of their CA is taken on the peer port.
  if (inv.tls.mode === 'auto') {
    tls['peer-cert-allowed-cn'] = PEER_COMMON_NAME;
    // Certificates replaced by tskv certs rotate are refused, though their CA is trusted.
    tls['client-crl-file'] = ETCD_PKI_FILES.crl;
    tls['peer-crl-file'] = ETCD_PKI_FILES.crl;
  }
  return (Object.entries(tls) as [TlsFlag, string][]).map(([flag, value]) => ({
    flag,
    value,
    source: 'tskv',
  }));
}

/** The environment variable etcd reads for a flag: ETCD_ + upper case, '-' → '_'. */
export function envName(flag: string): string {
  return `ETCD_${flag.toUpperCase().replaceAll('-', '_')}`;
}

/**
 * A value in double quotes, as systemd's EnvironmentFile and POSIX shells both read it: `\`, `"`, `$` and
 * `` ` `` escaped, everything else as is. Refuses what would not come back unchanged on one line (control
 * characters, lone surrogates, noncharacters): the inventory refuses them first, this is the last guard.
 */
export function envQuote(value: string, name = 'a setting'): string {
  const ch = unsafeCharacter(value);
  if (ch !== undefined) {
    throw new InputError(
      `cannot write ${name} to the environment file: its value ${JSON.stringify(value)} has ${describeCharacter(ch)}`,
      { fix: 'settings must be one line of text without control characters' },
    );
  }
  return `"${value.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`;
}

/**
 * A setting as one command-line argument. tskv's own flags take the seed's `--flag value` shape; the inventory's
 * are written `--flag=value`, the only form Go's flag package accepts for boolean flags (`--enable-v2 true` is refused).
 */
export function commandArg(setting: Setting): string {
  const { flag, value } = setting;
  const boolean = value === 'true' || value === 'false';
  return setting.source === 'tskv' && !boolean
    ? `--${flag} ${shellQuote(value)}`
    : shellQuote(`--${flag}=${value}`);
}
