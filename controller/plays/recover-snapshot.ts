/**
 * The survivor's data, saved on its host before --force-new-cluster rewrites its member list: its
 * member has no quorum, so it is not asked to be healthy (a snapshot is served from its own data).
 */
import type { LiveCluster } from './live-cluster.ts';
import { takeSnapshotOn } from './snapshot-take.ts';

export async function snapshotSurvivor(live: LiveCluster, host: string): Promise<string[]> {
  const s = await takeSnapshotOn(live.channel(host), {
    requireHealthy: false,
    keep: live.session.inventory.snapshots.keep,
  });
  return [
    `snapshot ${s.path} (revision ${s.revision}, ${s.keys} keys, ${s.size} bytes, sha256 ${s.sha256})`,
    ...s.removed.map((r) => `removed the older snapshot ${r}`),
  ];
}
