/**
 * Handing a folder tree to a user: what is not theirs yet, found without following symlinks, then
 * changed with lchown (a symlink itself changes hands, never what it points at).
 */
import type { Stats } from 'node:fs';
import { chmod, lchown, lstat, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface OwnershipScan {
  /** Everything under (and including) the folder not owned uid:gid, in walk order. */
  paths: string[];
  /** The owners found on them, as "uid:gid", most frequent first. */
  owners: string[];
}

/**
 * What under `dir` (itself included, not followed if a symlink: pass the resolved folder) is not
 * owned `uid:gid`. `skipTop` names entries directly in `dir` that are left alone (lost+found).
 * Refuses a regular file with other hard links that is not `uid:gid` already: it may be another
 * file's (a link to /etc/shadow planted in the folder), and handing it over would hand that file.
 */
export async function scanOwnership(
  dir: string,
  uid: number,
  gid: number,
  skipTop: readonly string[] = [],
): Promise<OwnershipScan> {
  const paths: string[] = [];
  const counts = new Map<string, number>();
  const visit = async (path: string, info: Stats) => {
    if (info.uid !== uid || info.gid !== gid) {
      if (info.isFile() && info.nlink > 1) {
        throw new Error(
          `${path} has ${info.nlink} hard links (it may be another file's): not handing it over`,
        );
      }
      paths.push(path);
      const owner = `${info.uid}:${info.gid}`;
      counts.set(owner, (counts.get(owner) ?? 0) + 1);
    }
    if (!info.isDirectory()) return;
    // A running etcd renames and purges files (snapshots, *.tmp) while this walks: gone is fine.
    const names = await readdir(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' && path !== dir) return [];
      throw err;
    });
    for (const name of names) {
      if (path === dir && skipTop.includes(name)) continue;
      const child = join(path, name);
      const childInfo = await lstat(child).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      });
      if (childInfo) await visit(child, childInfo);
    }
  };
  await visit(dir, await lstat(dir));
  const owners = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([o]) => o);
  return { paths, owners };
}

/** lchown each path to uid:gid. */
export async function applyOwnership(paths: readonly string[], uid: number, gid: number): Promise<void> {
  for (const path of paths) await lchown(path, uid, gid);
}

/** Creates `dir` (parents 0755, root's), then gives it `mode` and hands it to uid:gid. */
export async function makeOwnedDir(dir: string, uid: number, gid: number, mode: number): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  await chmod(dir, mode);
  await lchown(dir, uid, gid);
}

/** Whether uid:gid may pass through a folder with these stats (by its mode bits; ACLs aside). */
export function searchable(info: Pick<Stats, 'uid' | 'gid' | 'mode'>, uid: number, gid: number): boolean {
  if (info.uid === uid) return (info.mode & 0o100) !== 0;
  if (info.gid === gid) return (info.mode & 0o010) !== 0;
  return (info.mode & 0o001) !== 0;
}
