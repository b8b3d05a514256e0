import type { routes } from '../api/index.ts';
import { HOST_LAYOUT, type HostLayout } from '../policy/layout.ts';
import { listSnapshots, takeSnapshot } from '../system/snapshot.ts';
import type { Handler } from './types.ts';

/** A snapshot of this host's member into the snapshot folder, then the newest `keep` kept. `layout` is for tests. */
export function makeSnapshotTake(
  layout: HostLayout = HOST_LAYOUT,
  now: () => Date = () => new Date(),
): Handler<typeof routes.snapshotTake> {
  return ({ keep, requireHealthy }) =>
    takeSnapshot(layout, { requireHealthy, now, ...(keep === undefined ? {} : { keep }) });
}

/** The snapshots on this host and the room for another. */
export function makeSnapshotList(layout: HostLayout = HOST_LAYOUT): Handler<typeof routes.snapshotList> {
  return () => listSnapshots(layout);
}

export const snapshotTake = makeSnapshotTake();
export const snapshotList = makeSnapshotList();
