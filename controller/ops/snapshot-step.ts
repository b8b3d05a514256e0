/**
 * The automatic snapshot a changing plan takes before it restarts or removes a member: one step,
 * on a member the plan names, kept on that host (the newest `keep` stay). Pure: the plays decide
 * where it goes in their plans with these.
 */
import { TSKV_SNAPSHOT_DIR } from '../../agent/api/index.ts';
import type { EtcdId } from '../etcd/index.ts';
import type { Inventory } from '../inventory/model.ts';
import type { Step } from '../plan/plan.ts';
import { type ClusterView, isHealthy, voters } from './cluster-view.ts';
import { hostAt } from './membership.ts';

export type SnapshotStep = Step & { kind: 'snapshot'; host: string; keep: number };

/** What `--no-snapshot` warns. */
export const NO_SNAPSHOT_WARNING =
  '--no-snapshot: no snapshot is taken before this change; it cannot be undone from one';

export function snapshotStep(host: string, keep: number): SnapshotStep {
  return {
    kind: 'snapshot',
    host,
    keep,
    title: `take a snapshot of the cluster's data into ${TSKV_SNAPSHOT_DIR}/ (the newest ${keep} are kept there)`,
  };
}

/**
 * The host to take the snapshot on: the first in inventory order whose member is a healthy voter,
 * never one of `exclude` (a member about to leave), so that snapshots gather on one host and
 * `keep` counts them there; undefined when no such member has an inventory host.
 */
export function snapshotHost(inv: Inventory, view: ClusterView, exclude: EtcdId[] = []): string | undefined {
  const candidates = voters(view.members).filter((m) => !exclude.includes(m.id) && isHealthy(view, m));
  return inv.hosts.find((h) => candidates.some((m) => hostAt(inv, m)?.name === h.name))?.name;
}

/** `steps` with `snap` inserted before the first step `first` picks (none picked, or no snap: unchanged). */
export function snapshotBefore<S extends Step>(
  steps: S[],
  snap: SnapshotStep | undefined,
  first: (s: S) => boolean,
): (S | SnapshotStep)[] {
  const at = steps.findIndex(first);
  if (!snap || at < 0) return steps;
  return [...steps.slice(0, at), snap, ...steps.slice(at)];
}
