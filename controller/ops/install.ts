/** Is the inventory's etcd installed where deploy puts it? Pure. */
import type { FactsResponse } from '../../agent/api/index.ts';
import type { EtcdSpec } from '../inventory/model.ts';
import type { PlanStep } from '../plan/types.ts';
import { ETCD_BINARY } from '../render/settings.ts';

export function planInstall(facts: FactsResponse, etcd: EtcdSpec): PlanStep | undefined {
  const have = facts.etcd.installed;
  if (have && have.path === ETCD_BINARY && have.version === etcd.version) return undefined;
  const was = have
    ? have.path === ETCD_BINARY
      ? ` (replacing ${have.version})`
      : ` (${have.version} at ${have.path} is left alone)`
    : '';
  return { kind: 'install', title: `install etcd ${etcd.version} at ${ETCD_BINARY}${was}` };
}
