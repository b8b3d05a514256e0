/**
 * `tskv restore`'s plan, from what was found (pure): stop every member, move every data dir aside
 * (never deleted), restore each member from the one uploaded snapshot with the inventory's names
 * and peer URLs and a new initial-cluster-token (the restored cluster cannot talk to a stray old
 * member), start them all together, verify. And the room a restore needs on each host.
 */
import { snapshotStamp } from '../../agent/api/index.ts';
import { TskvError } from '../errors.ts';
import type { Plan } from '../plan/plan.ts';

/** etcd preallocates its first WAL segment (64 MiB) in the restored data dir. */
export const WAL_SEGMENT_BYTES = 64 * 1024 * 1024;
const TOKEN_MAX = 128;

export interface RestoreHost {
  name: string;
  dataDir: string;
  running: boolean;
  hasData: boolean;
}

export interface SnapshotFacts {
  /** The file on the controller, and where it was uploaded on every host. */
  file: string;
  remote: string;
  size: number;
  sha256: string;
  revision: number;
  totalKey: number;
}

export interface RestoreInput {
  hosts: RestoreHost[];
  /** Every inventory member as name=peer URL, in inventory order. */
  members: { name: string; peerUrl: string }[];
  snapshot: SnapshotFacts;
  /** The live cluster's revision, when a member answered. */
  currentRevision: number | undefined;
  /** Some member answered healthy (a snapshot of the current data can be taken). */
  healthy: boolean;
  token: string;
  /** Take a snapshot of the current data first when a member answers (--no-snapshot: false). */
  snapshotFirst: boolean;
}

export type RestoreStep =
  | { kind: 'snapshot-current'; title: string }
  | { kind: 'stop'; host: string; title: string; together: string }
  | { kind: 'move-aside'; host: string; dataDir: string; title: string; together: string }
  | {
      kind: 'restore';
      host: string;
      title: string;
      together: string;
      request: {
        file: string;
        dataDir: string;
        name: string;
        initialCluster: { name: string; peerUrl: string }[];
        initialClusterToken: string;
      };
    }
  | { kind: 'start'; host: string; title: string; together: string; allAtOnce: true }
  | { kind: 'verify'; title: string; revision: number };

export interface RestorePlan extends Plan<RestoreStep> {
  /** What the restore rolls back, in words. */
  rollback: string;
  warnings: string[];
  token: string;
  snapshot: SnapshotFacts;
}

/** A new initial-cluster-token: the inventory's, then when (UTC), at most 128 bytes (whole characters). */
export function restoreToken(base: string, now: Date): string {
  const stamp = `-restored-${snapshotStamp(now)}`;
  let kept = '';
  for (const ch of base) {
    if (Buffer.byteLength(kept + ch) + stamp.length > TOKEN_MAX) break;
    kept += ch;
  }
  return `${kept}${stamp}`;
}

export function rollbackText(current: number | undefined, snapshot: number): string {
  if (current === undefined) {
    return `no member answered, so the current revision is unknown; the cluster goes back to the snapshot's revision ${snapshot} (the current data dirs are moved aside, not deleted)`;
  }
  if (current <= snapshot) {
    return `the cluster is at revision ${current}, the snapshot at ${snapshot}: the cluster's data is replaced by the snapshot's`;
  }
  return `the cluster is at revision ${current}, the snapshot at ${snapshot}: ${current - snapshot} revisions of writes since the snapshot are rolled back (the current data dirs are moved aside, not deleted)`;
}

export function planRestore(input: RestoreInput): RestorePlan {
  const { snapshot, token } = input;
  const steps: RestoreStep[] = [];
  const warnings: string[] = [];
  if (input.snapshotFirst && input.currentRevision !== undefined && !input.healthy) {
    // A restore stopped half way, or quorum lost: no snapshot can be taken, the data dirs still are kept.
    warnings.push(
      'no member is healthy, so the current data is not snapshotted first (its data dirs are moved aside, not deleted)',
    );
  }
  if (input.snapshotFirst && input.currentRevision !== undefined && input.healthy) {
    steps.push({
      kind: 'snapshot-current',
      title: `snapshot the current data (revision ${input.currentRevision}) on a healthy member, kept in its host's snapshot folder`,
    });
  }
  const running = input.hosts.filter((h) => h.running);
  for (const h of running) {
    steps.push({ kind: 'stop', host: h.name, title: 'stop etcd', together: 'stop every member' });
  }
  for (const h of input.hosts.filter((x) => x.hasData)) {
    steps.push({
      kind: 'move-aside',
      host: h.name,
      dataDir: h.dataDir,
      title: `move ${h.dataDir} aside (kept as ${h.dataDir}.removed-<time>)`,
      together: 'move every data dir aside',
    });
  }
  for (const h of input.hosts) {
    steps.push({
      kind: 'restore',
      host: h.name,
      title: `restore ${h.name} into ${h.dataDir} from ${snapshot.remote} (revision ${snapshot.revision}, token ${token})`,
      together: 'restore every member from the snapshot',
      request: {
        file: snapshot.remote,
        dataDir: h.dataDir,
        name: h.name,
        initialCluster: input.members,
        initialClusterToken: token,
      },
    });
  }
  for (const h of input.hosts) {
    steps.push({
      kind: 'start',
      host: h.name,
      title: 'start etcd',
      together: 'start every member together',
      allAtOnce: true,
    });
  }
  steps.push({
    kind: 'verify',
    title: `verify: every member healthy, the members the inventory's, revision ${snapshot.revision} readable`,
    revision: snapshot.revision,
  });
  return {
    steps,
    rollback: rollbackText(input.currentRevision, snapshot.revision),
    warnings,
    token,
    snapshot,
  };
}

export interface HostSpace {
  host: string;
  /** Where the snapshot goes, and the data dir. */
  snapshotDir: { freeBytes: number; device: number; measuredAt: string };
  dataDir: { freeBytes: number; device: number; measuredAt: string };
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;

/**
 * Hosts without room: the snapshot's copy in the snapshot folder, and the restored database and
 * its first WAL segment in the data dir (both on one file system: the sum). [] when all have room.
 */
export function roomProblems(spaces: HostSpace[], size: number): string[] {
  const restored = size + WAL_SEGMENT_BYTES;
  return spaces.flatMap((s) => {
    if (s.snapshotDir.device === s.dataDir.device) {
      const need = size + restored;
      return s.dataDir.freeBytes >= need
        ? []
        : [
            `${s.host}: ${s.dataDir.measuredAt} has ${mb(s.dataDir.freeBytes)} free; the snapshot's copy and the restored data dir need ${mb(need)}`,
          ];
    }
    const out: string[] = [];
    if (s.snapshotDir.freeBytes < size)
      out.push(
        `${s.host}: ${s.snapshotDir.measuredAt} has ${mb(s.snapshotDir.freeBytes)} free; the snapshot's copy needs ${mb(size)}`,
      );
    if (s.dataDir.freeBytes < restored)
      out.push(
        `${s.host}: ${s.dataDir.measuredAt} has ${mb(s.dataDir.freeBytes)} free; the restored data dir needs ${mb(restored)}`,
      );
    return out;
  });
}

/** Every host's `snapshot status` must agree (the same bytes went to each): the first one's, else a refusal. */
export function agreeingStatus<T extends { revision: number; totalKey: number; hash: number }>(
  statuses: { host: string; status: T }[],
): T {
  const first = statuses[0]!;
  const odd = statuses.find(
    (s) => s.status.hash !== first.status.hash || s.status.revision !== first.status.revision,
  );
  if (odd) {
    throw new TskvError(
      'E_SNAPSHOT_CORRUPT',
      `the snapshot reads differently on ${first.host} (revision ${first.status.revision}, hash ${first.status.hash}) and ${odd.host} (revision ${odd.status.revision}, hash ${odd.status.hash})`,
      { step: 'check the snapshot', fix: 're-run restore: the file is uploaded again' },
    );
  }
  return first.status;
}
