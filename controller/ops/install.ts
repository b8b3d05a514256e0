/** Is the inventory's etcd installed where deploy puts it? Pure. */
import type { FactsResponse } from '../../agent/api/index.ts';
import { TskvError } from '../errors.ts';
import type { EtcdSpec } from '../inventory/model.ts';
import { ETCD_BINARY } from '../render/settings.ts';

function minorOf(version: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)\./.exec(version);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/**
 * etcd upgrades one minor version at a time and never downgrades a minor over existing data
 * (its storage format and cluster version only move forward): anything else is refused.
 */
export function checkVersionChange(host: string, from: string, to: string): void {
  const a = minorOf(from);
  const b = minorOf(to);
  if (!a || !b || (a[0] === b[0] && a[1] === b[1])) return;
  const downgrade = b[0] < a[0] || (b[0] === a[0] && b[1] < a[1]);
  const skip = b[0] !== a[0] || b[1] > a[1] + 1;
  if (!downgrade && !skip) return;
  throw new TskvError(
    'E_VERSION_CHANGE',
    `${host} runs etcd ${from} over existing data; ${to} would be a ${downgrade ? 'minor-version downgrade' : 'skip of a minor version'}, which etcd does not support`,
    {
      host,
      step: 'plan',
      fix: downgrade
        ? `keep etcd.version at ${a[0]}.${a[1]}.x (restore a snapshot to go back)`
        : `upgrade one minor version at a time: etcd.version ${a[0]}.${a[1] + 1}.x first`,
    },
  );
}

/**
 * The install step's title, or undefined when the inventory's etcd is in place. `staged`: a running
 * member's new version is unpacked beside the one it runs, and linked only at its own restart.
 */
export function planInstall(facts: FactsResponse, etcd: EtcdSpec, staged = false): string | undefined {
  const have = facts.etcd.installed;
  if (have && have.path === ETCD_BINARY && have.version === etcd.version) return undefined;
  if (have && facts.etcd.dataDir.hasData) checkVersionChange(facts.hostname, have.version, etcd.version);
  if (staged && have)
    return `stage etcd ${etcd.version} beside ${have.version} (linked at this member's restart)${etcd.fetch === 'host' ? `, downloaded by the host from ${etcd.source}` : ''}`;
  const was = have
    ? have.path === ETCD_BINARY
      ? ` (replacing ${have.version})`
      : ` (${have.version} at ${have.path} is left alone)`
    : '';
  const from = etcd.fetch === 'host' ? `, downloaded by the host from ${etcd.source}` : '';
  return `install etcd ${etcd.version} at ${ETCD_BINARY}${was}${from}`;
}
