/** The survivor's data, saved on its host before --force-new-cluster rewrites its member list. */
import type { LiveCluster } from './live-cluster.ts';

export async function snapshotSurvivor(_live: LiveCluster, host: string): Promise<string[]> {
  return [`warning: no snapshot taken of ${host} (snapshots are not available yet)`];
}
