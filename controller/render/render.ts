import { InputError } from '../errors.ts';
import type { HostSpec, Inventory } from '../inventory/model.ts';
import {
  commandArg,
  ETCD_BINARY,
  ETCD_ENV_FILE,
  ETCD_GROUP,
  ETCD_USER,
  envName,
  envQuote,
  etcdSettings,
  findHost,
  type Setting,
  type SettingsOptions,
} from './settings.ts';
import { unitPaths } from './systemd-quote.ts';
import { renderTemplate } from './templates.ts';

const HOME_DIRS = ['/home', '/root', '/run/user'];

export type RenderFormat = 'flags' | 'env' | 'systemd';
export const RENDER_FORMATS: readonly RenderFormat[] = ['flags', 'env', 'systemd'];

const TEMPLATE: Record<RenderFormat, string> = {
  flags: 'etcd.flags.hbs',
  env: 'etcd.env.hbs',
  systemd: 'etcd.service.hbs',
};

/** One host's static etcd configuration: its command line, its ETCD_* environment file, or its systemd unit. */
export function renderHost(
  inv: Inventory,
  hostName: string,
  format: RenderFormat,
  opts: SettingsOptions = {},
): string {
  const host = findHost(inv, hostName);
  if (!host) {
    throw new InputError(
      `no host '${hostName}' in ${inv.file}; its hosts are: ${inv.hosts.map((h) => h.name).join(', ')}`,
    );
  }
  return renderSettings(inv, host, format, etcdSettings(inv, host, opts));
}

/** Settings through a template, in their order: each as its command-line argument and as its ETCD_* variable. */
export function renderSettings(
  inv: Inventory,
  host: HostSpec,
  format: RenderFormat,
  settings: readonly Setting[],
): string {
  // The folders etcd writes: its data dir and, when the inventory sets one, its WAL dir.
  const writes = settings
    .filter((s) => s.flag === 'data-dir' || s.flag === 'wal-dir')
    .map((s) => s.value)
    .filter((v) => v !== '');
  return renderTemplate(inv.templatesDir, TEMPLATE[format], {
    host,
    cluster: inv.cluster,
    settings: settings.map((s) => ({
      ...s,
      arg: commandArg(s),
      env: envName(s.flag),
      envValue: envQuote(s.value, envName(s.flag)),
    })),
    binary: ETCD_BINARY,
    envFile: ETCD_ENV_FILE,
    user: ETCD_USER,
    group: ETCD_GROUP,
    /** ReadWritePaths=: quoted for systemd, % doubled. */
    readWritePaths: unitPaths(writes),
    /** ProtectHome=yes hides /home, /root and /run/user: only when etcd keeps nothing there. */
    protectHome: !writes.some((w) => HOME_DIRS.some((h) => w === h || w.startsWith(`${h}/`))),
    /** A port below 1024 needs CAP_NET_BIND_SERVICE, which the etcd user lacks. */
    bindLowPorts: Math.min(inv.cluster.clientPort, inv.cluster.peerPort) < 1024,
  });
}
