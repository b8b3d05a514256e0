/**
 * Taking a snapshot of the cluster's data on a member's host (the agent's snapshotTake route): the
 * file stays on that host under TSKV_SNAPSHOT_DIR, checked there (etcd's sha256 trailer and
 * `snapshot status`), and the newest `keep` are kept.
 */
import { routes } from '../../agent/api/index.ts';
import { describeCause, TskvError } from '../errors.ts';
import type { HostChannel } from './session.ts';

/** A streamed snapshot of a large database takes minutes; the agent stops a hung etcdctl itself. */
const TAKE_TIMEOUT_MS = 20 * 60_000;

export interface SnapshotTaken {
  host: string;
  /** On that host. */
  path: string;
  revision: number;
  keys: number;
  /** Bytes. */
  size: number;
  sha256: string;
  /** ISO. */
  takenAt: string;
  /** Older snapshots removed on that host to keep `keep`. */
  removed: string[];
}

export interface TakeOptions {
  /** Keep only the newest this many on the host afterwards (absent: remove none). */
  keep?: number;
  /** Refuse a member that is not healthy (default true; false for a survivor without quorum). */
  requireHealthy?: boolean;
}

/** A snapshot taken on `ch`'s host from its own member. */
export async function takeSnapshotOn(ch: HostChannel, options: TakeOptions = {}): Promise<SnapshotTaken> {
  const r = await ch.agent.call(
    routes.snapshotTake,
    {
      requireHealthy: options.requireHealthy ?? true,
      ...(options.keep === undefined ? {} : { keep: options.keep }),
    },
    { step: 'take a snapshot', timeoutMs: TAKE_TIMEOUT_MS },
  );
  const s = r.snapshot;
  return {
    host: ch.spec.name,
    path: s.path,
    revision: s.revision,
    keys: s.keys,
    size: s.size,
    sha256: s.sha256,
    takenAt: s.takenAt,
    removed: r.removed,
  };
}

/**
 * A snapshot from the first of `channels` (in their order) whose member is healthy and whose host has
 * room: the next is asked only when one fails. All failing: every host's reason.
 */
export async function takeSnapshot(
  channels: HostChannel[],
  options: TakeOptions = {},
): Promise<SnapshotTaken> {
  const problems: string[] = [];
  let allNoRoom = channels.length > 0;
  for (const ch of channels) {
    try {
      return await takeSnapshotOn(ch, options);
    } catch (err) {
      if (!(err instanceof TskvError && err.code === 'E_AGENT_NO_ROOM')) allNoRoom = false;
      problems.push(`  ${ch.spec.name}: ${describeCause(err)}`);
    }
  }
  throw new TskvError(
    allNoRoom ? 'E_SNAPSHOT_NO_ROOM' : 'E_SNAPSHOT',
    `no member could take a snapshot:\n${problems.join('\n') || '  (no host reachable)'}`,
    {
      step: 'take a snapshot',
      fix: allNoRoom
        ? 'free space on a host (tskv snapshot list shows the snapshots there), or lower snapshots.keep'
        : 'tskv status shows each member; a snapshot needs a running member',
    },
  );
}
