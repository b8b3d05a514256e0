import { InputError } from '../errors.ts';
import type { Inventory } from '../inventory/model.ts';
import {
  commandArg,
  ETCD_BINARY,
  ETCD_ENV_FILE,
  envName,
  envQuote,
  etcdSettings,
  findHost,
  type SettingsOptions,
  TSKV_FLAG_COUNT,
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
  const settings = etcdSettings(inv, host, opts).map(([flag, value], i) => ({
    flag,
    value,
    arg: commandArg(flag, value, i < TSKV_FLAG_COUNT),
    env: envName(flag),
    envValue: envQuote(value),
  }));
  return renderTemplate(inv.templatesDir, TEMPLATE[format], {
    host,
    cluster: inv.cluster,
    settings,
    binary: ETCD_BINARY,
    envFile: ETCD_ENV_FILE,
  });
}
