import type { HostSpec, Inventory } from '../inventory/model.ts';
import { clientUrl, loopbackClientUrl, peerUrl } from './urls.ts';

export type ClusterState = 'new' | 'existing';

export interface SettingsOptions {
  /** --initial-cluster-state (default new). */
  state?: ClusterState;
  /** The members --initial-cluster lists (default: every inventory host, in inventory order). */
  initialCluster?: { name: string; peerUrl: string }[];
}

/** One etcd setting: flag name without dashes and its value as etcd reads it. */
export type Setting = [flag: string, value: string];

/** Where deploy installs etcd and its settings (the systemd unit reads the env file). */
export { ETCD_BINARY, ETCD_ENV_FILE } from '../../agent/api/index.ts';

export function findHost(inv: Inventory, hostName: string): HostSpec | undefined {
  return inv.hosts.find((h) => h.name === hostName);
}

/** How many of etcdSettings' entries tskv sets itself (the seed's eight and --data-dir); extra flags follow. */
export const TSKV_FLAG_COUNT = 9;

/** A member's etcd settings in the seed's order, then --data-dir, then the inventory's extra flags. */
export function etcdSettings(inv: Inventory, host: HostSpec, opts: SettingsOptions = {}): Setting[] {
  const members = opts.initialCluster ?? inv.hosts.map((h) => ({ name: h.name, peerUrl: peerUrl(h, inv) }));
  const settings: Setting[] = [
    ['name', host.name],
    ['initial-advertise-peer-urls', peerUrl(host, inv)],
    ['listen-peer-urls', peerUrl(host, inv)],
    ['listen-client-urls', [...new Set([clientUrl(host, inv), loopbackClientUrl(inv)])].join(',')],
    ['advertise-client-urls', clientUrl(host, inv)],
    ['initial-cluster-token', inv.cluster.token],
    ['initial-cluster', members.map((m) => `${m.name}=${m.peerUrl}`).join(',')],
    ['initial-cluster-state', opts.state ?? 'new'],
    ['data-dir', host.dataDir],
  ];
  for (const [flag, value] of Object.entries(inv.etcd.flags)) settings.push([flag, String(value)]);
  return settings;
}

/** The environment variable etcd reads for a flag: ETCD_ + upper case, '-' → '_'. */
export function envName(flag: string): string {
  return `ETCD_${flag.toUpperCase().replaceAll('-', '_')}`;
}

/** A value in double quotes, as systemd's EnvironmentFile and POSIX shells both read it. */
export function envQuote(value: string): string {
  return `"${value.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`;
}

/** A shell word: bare when it is plainly safe, else single-quoted. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * One command-line argument. tskv's own flags take the seed's `--flag value` shape; extra flags are
 * written `--flag=value`, the only form Go's flag package accepts for boolean flags (`--enable-v2 true` is refused).
 */
export function commandArg(flag: string, value: string, ownFlag: boolean): string {
  return ownFlag ? `--${flag} ${shellQuote(value)}` : shellQuote(`--${flag}=${value}`);
}
