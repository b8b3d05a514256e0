/**
 * `tskv snapshot save|fetch|list`'s work: a snapshot taken on a healthy member's host and copied to
 * the controller, a host's snapshot copied, and every snapshot on the hosts and the controller.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';
import { routes, type SnapshotList, TSKV_SNAPSHOT_DIR } from '../../agent/api/index.ts';
import { describeCause, InputError, TskvError } from '../errors.ts';
import type { Inventory } from '../inventory/model.ts';
import type { Session } from './session.ts';
import { checkControllerRoom, fetchSnapshot, refuseExisting } from './snapshot-fetch.ts';
import { type SnapshotTaken, takeSnapshot } from './snapshot-take.ts';

/** Where snapshots go on the controller by default: `<inventory dir>/snapshots/`. */
export function controllerSnapshotDir(inv: Inventory): string {
  return join(dirname(inv.file), 'snapshots');
}

export interface Saved extends SnapshotTaken {
  /** On the controller. */
  file: string;
}

function connected(session: Session) {
  const channels = [...session.hosts.values()];
  if (channels.length === 0) {
    const why = session.unreachable.map((c) => `  ${c.host}: ${c.observed}`).join('\n');
    throw new TskvError('E_SNAPSHOT', `no host could be reached:\n${why}`, { step: 'connect' });
  }
  return channels;
}

/** A snapshot from the first healthy member, kept on its host (within snapshots.keep) and copied to `out`. */
export async function saveSnapshot(session: Session, out: string | undefined): Promise<Saved> {
  const inv = session.inventory;
  const channels = connected(session);
  if (out !== undefined) await refuseExisting(out);
  // Room on this machine, before anything is taken: the database's size is the snapshot's.
  const sizes = await Promise.all(
    channels.map((ch) => ch.agent.call(routes.snapshotList, {}, { step: 'snapshots' }).catch(() => null)),
  );
  const db = Math.max(0, ...sizes.map((s) => s?.dbBytes ?? 0));
  await checkControllerRoom(out ?? join(controllerSnapshotDir(inv), 'x.db'), db);
  const taken = await takeSnapshot(channels, { keep: inv.snapshots.keep });
  const file = out ?? join(controllerSnapshotDir(inv), basename(taken.path));
  await fetchSnapshot(session.hosts.get(taken.host)!, taken, file);
  return { ...taken, file };
}

/** `HOST:PATH` as the operator gives it: an inventory host and a snapshot in its snapshot folder. */
export function parseHostPath(inv: Inventory, arg: string): { host: string; path: string } {
  const at = arg.indexOf(':');
  const host = arg.slice(0, at);
  const path = arg.slice(at + 1);
  if (at <= 0 || !inv.hosts.some((h) => h.name === host)) {
    throw new InputError(
      `'${arg}' is not HOST:PATH with one of ${inv.file}'s hosts (${inv.hosts.map((h) => h.name).join(', ')})`,
    );
  }
  const full = path.startsWith('/') ? path : `${TSKV_SNAPSHOT_DIR}/${path}`;
  if (posix.dirname(full) !== TSKV_SNAPSHOT_DIR || !full.endsWith('.db') || basename(full).startsWith('.')) {
    throw new InputError(
      `'${path}' is not a snapshot in ${TSKV_SNAPSHOT_DIR} (tskv snapshot list shows them)`,
    );
  }
  return { host, path: full };
}

/** Copies `HOST:PATH` to `out` (default: the controller's snapshot folder), checked against its sha256. */
export async function fetchHostSnapshot(
  session: Session,
  arg: string,
  out: string | undefined,
): Promise<string> {
  const { host, path } = parseHostPath(session.inventory, arg);
  const ch = session.hosts.get(host);
  if (!ch) {
    const why = session.unreachable.find((c) => c.host === host)?.observed ?? 'not reachable';
    throw new TskvError('E_SNAPSHOT', `${host} cannot be reached: ${why}`, { host, step: 'connect' });
  }
  const list = await ch.agent.call(routes.snapshotList, {}, { step: 'snapshots' });
  const found = list.snapshots.find((s) => s.path === path);
  if (!found) throw new InputError(`${host} has no snapshot ${path} (tskv snapshot list shows them)`);
  if (!found.sha256) {
    throw new TskvError(
      'E_SNAPSHOT',
      `${host}:${path} has no recorded sha256 beside it: it cannot be verified`,
      {
        host,
        step: 'fetch',
      },
    );
  }
  const file = out ?? join(controllerSnapshotDir(session.inventory), basename(path));
  await fetchSnapshot(ch, { path, size: found.size, sha256: found.sha256 }, file);
  return file;
}

export interface ListedSnapshot {
  /** A host's name, or "controller". */
  where: string;
  path: string;
  takenAt: string;
  revision: number | null;
  size: number;
}

export interface SnapshotListing {
  snapshots: ListedSnapshot[];
  /** Hosts that could not be asked, with why. */
  problems: string[];
}

/** Every snapshot on the hosts (inventory order, newest first) and in the controller's folder. */
export async function listAllSnapshots(session: Session): Promise<SnapshotListing> {
  const inv = session.inventory;
  const problems = session.unreachable.map((c) => `${c.host}: ${c.observed}`);
  const snapshots: ListedSnapshot[] = [];
  const lists = await Promise.all(
    inv.hosts.map(async (h): Promise<SnapshotList | null> => {
      const ch = session.hosts.get(h.name);
      if (!ch) return null;
      try {
        return await ch.agent.call(routes.snapshotList, {}, { step: 'snapshots' });
      } catch (err) {
        problems.push(`${h.name}: ${describeCause(err)}`);
        return null;
      }
    }),
  );
  inv.hosts.forEach((h, i) => {
    for (const s of lists[i]?.snapshots ?? []) snapshots.push({ where: h.name, ...pick(s) });
  });
  const dir = controllerSnapshotDir(inv);
  const names = (await readdir(dir).catch(() => [] as string[]))
    .filter((n) => n.endsWith('.db'))
    .sort()
    .reverse();
  for (const name of names) {
    const s = await stat(join(dir, name)).catch(() => null);
    if (!s?.isFile()) continue;
    const rev = /-rev(\d+)\.db$/.exec(name)?.[1];
    snapshots.push({
      where: 'controller',
      path: join(dir, name),
      takenAt: s.mtime.toISOString(),
      revision: rev === undefined ? null : Number(rev),
      size: s.size,
    });
  }
  return { snapshots, problems };
}

function pick(s: SnapshotList['snapshots'][number]) {
  return { path: s.path, takenAt: s.takenAt, revision: s.revision, size: s.size };
}
