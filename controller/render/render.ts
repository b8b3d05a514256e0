import { InputError } from '../errors.ts';
import type { HostSpec, Inventory } from '../inventory/model.ts';
import {
  commandArg,
  ETCD_BINARY,
  ETCD_ENV_FILE,
  envName,
  envQuote,
  etcdSettings,
  findHost,
  type Setting,
  type SettingsOptions,
} from './settings.ts';
import { renderTemplate } from './templates.ts';

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
  });
}
