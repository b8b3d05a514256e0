import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { KERNEL_DIRS, SYSTEM_DIRS, SYSTEM_TREES } from '../api/index.ts';
import { refused } from '../errors.ts';
import { type HostLayout, isWithin } from './layout.ts';
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

/** etcd's own folders: its data dir, or a WAL dir given apart from it (--wal-dir). */
export type EtcdDirKind = 'data' | 'wal';

/** What is at a data or WAL dir etcd is about to run with; `real` is where it resolves. */
export type EtcdDirFinding = { kind: 'missing'; real: string } | { kind: 'empty' | 'etcd'; real: string };

/** tskv's own folders: etcd's data never goes in them, nor they in it. */
function tskvDirs(layout: HostLayout): string[] {
  return [
    layout.configDir,
    layout.installRoot,
    layout.binDir,
    layout.libDir,
    layout.runDir,
    dirname(layout.logFile),
  ];
}

/**
 * Why `path` (by its name alone) cannot be a folder the etcd user owns, or undefined: `/`, a system
 * folder, anything in SYSTEM_TREES, /proc, /sys or /dev, in tskv's own folders or holding them.
 */
export function ownedDirProblem(path: string, layout: HostLayout): string | undefined {
  const system = systemDirProblem(path);
  if (system) return system;
  const tree = SYSTEM_TREES.find((dir) => isWithin(path, dir));
  if (tree) return `${path} is in ${tree}`;
  const own = tskvDirs(layout).find((dir) => isWithin(path, dir) || isWithin(dir, path));
  if (own) return `${path} ${isWithin(path, own) ? 'is in' : 'holds'} tskv's ${own}`;
  return undefined;
}

/** `path` resolved as far as it exists, the rest appended (a missing dir's future real path). */
async function resolveExisting(path: string): Promise<string> {
  const missing: string[] = [];
  let at = path;
  while (at !== '/' && (await lstatOrNull(at)) === null) {
    missing.unshift(at.slice(dirname(at).length).replace(/^\//, ''));
    at = dirname(at);
  }
  const real = await realpath(at).catch(() => at);
  return missing.length ? join(real, ...missing) : real;
}

/** What mkfs leaves at the top of a file system: never etcd's. */
export const LOST_FOUND = 'lost+found';

/** A WAL dir's own files: segments (0000000000000000-0000000000000000.wal) and the preallocated 0.tmp. */
const WAL_FILE = /^([0-9a-f]{16}-[0-9a-f]{16}\.wal|\d+\.tmp)$/;

/**
 * Which folders the agent creates or hands to the etcd user (chown etcd:etcd, mode 0700) before
 * etcd starts: the data dir and WAL dir its env file names, and only when they are etcd's. Never
 * `/`, a system folder (SYSTEM_DIRS), anything in SYSTEM_TREES (/etc, /usr, ...), /proc, /sys or
 * /dev, in tskv's own folders or holding them, by its path or by where it resolves; a directory
 * (or a symlink to one: the directory is what changes hands) that is missing (then created),
 * empty, or etcd's: a data dir holding `member/`, a WAL dir holding only WAL files.
 */
export async function checkEtcdDir(
  path: string,
  kind: EtcdDirKind,
  layout: HostLayout,
): Promise<EtcdDirFinding> {
  const what = kind === 'data' ? 'data dir' : 'WAL dir';
  const refuse = (why: string) => refused(`the agent hands to the etcd user only etcd's own ${what}: ${why}`);
  const byPath = ownedDirProblem(path, layout);
  if (byPath) throw refuse(byPath);
  const real = await resolveExisting(path);
  const byTarget = real === path ? undefined : ownedDirProblem(real, layout);
  if (byTarget) throw refuse(`${path} resolves to ${real}, and ${byTarget}`);
  const info = await stat(real).catch(() => null);
  if (info === null) return { kind: 'missing', real };
  if (!info.isDirectory()) throw refuse(`${path} is not a directory`);
  // A file system's own lost+found (a data dir on its own disk) is not etcd's, and stays root's.
  const entries = (await readdir(real, { withFileTypes: true })).filter((e) => e.name !== LOST_FOUND);
  if (entries.length === 0) return { kind: 'empty', real };
  if (kind === 'data') {
    if (!entries.some((e) => e.name === 'member' && e.isDirectory())) {
      throw refuse(`${path} holds no member/ folder, and is not empty`);
    }
  } else {
    const other = entries.find((e) => !e.isFile() || !WAL_FILE.test(e.name));
    if (other) throw refuse(`${path} holds ${other.name}, which is not a WAL file`);
  }
  return { kind: 'etcd', real };
}
