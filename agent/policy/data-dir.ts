import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { KERNEL_DIRS, SYSTEM_DIRS } from '../api/index.ts';
import { refused } from '../errors.ts';
import { isWithin } from './layout.ts';
import { lstatOrNull } from './secure-path.ts';

/** What is at a data dir path the move-aside route was given. */
export type DataDirFinding = { kind: 'missing' } | { kind: 'empty' } | { kind: 'etcd' };

export interface DataDirChecks {
  /** The mount points (default: /proc/self/mountinfo's). For tests. */
  mountPoints: () => Promise<Set<string>>;
}

function systemDirProblem(path: string): string | undefined {
  const kernel = KERNEL_DIRS.find((dir) => isWithin(path, dir));
  if (kernel) return `${path} is in ${kernel}`;
  if (path === '/' || (SYSTEM_DIRS as readonly string[]).includes(path)) return `${path} is a system folder`;
  return undefined;
}

/**
 * Which data dirs the move-aside route takes, since the agent cannot know the inventory's: not `/`,
 * a system folder (SYSTEM_DIRS) or anything in /proc, /sys or /dev, by its path or by where it
 * resolves; a directory (or a symlink to one: the link is what moves), not a mount point; either
 * empty (then nothing needs to move) or holding etcd's `member/` folder. Anything else is refused.
 */
export async function checkDataDir(path: string, checks: DataDirChecks): Promise<DataDirFinding> {
  const refuse = (why: string) => refused(`the data dir route moves only etcd data dirs: ${why}`);
  const byPath = systemDirProblem(path);
  if (byPath) throw refuse(byPath);
  const info = await lstatOrNull(path);
  if (info === null) return { kind: 'missing' };
  const real = await realpath(path).catch(() => path);
  const byTarget = real === path ? undefined : systemDirProblem(real);
  if (byTarget) throw refuse(`${path} resolves to ${real}, and ${byTarget}`);
  if (info.isSymbolicLink()) {
    if (!(await stat(path).catch(() => null))?.isDirectory()) {
      throw refuse(`${path} is a symlink to no directory`);
    }
  } else if (!info.isDirectory()) {
    throw refuse(`${path} is not a directory`);
  } else {
    const parent = await lstat(dirname(path));
    if ((await checks.mountPoints()).has(path) || parent.dev !== info.dev) {
      throw refuse(`${path} is a mount point`);
    }
  }
  const entries = await readdir(path);
  if (entries.length === 0) return { kind: 'empty' };
  const member = await stat(`${path}/member`).catch(() => null);
  if (!member?.isDirectory()) throw refuse(`${path} holds no member/ folder, and is not empty`);
  return { kind: 'etcd' };
}
