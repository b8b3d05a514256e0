import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface CurrentFile {
  exists: boolean;
  content: string;
  /** Permission bits (0o777 mask); null when the file does not exist. */
  mode: number | null;
  /** Owner and group ids; null when the file does not exist. */
  uid: number | null;
  gid: number | null;
}

const MISSING: CurrentFile = { exists: false, content: '', mode: null, uid: null, gid: null };

/** A regular file's text and mode; `exists: false` when there is nothing at `path`. */
export async function readCurrentFile(path: string): Promise<CurrentFile> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return MISSING;
    throw err;
  }
  if (!info.isFile()) throw new Error(`${path} exists and is not a regular file`);
  return {
    exists: true,
    content: await readFile(path, 'utf8'),
    mode: info.mode & 0o7777,
    uid: info.uid,
    gid: info.gid,
  };
}

/**
 * As readCurrentFile, but never through a symlink at `path` (O_NOFOLLOW: an error, not followed)
 * and at most `maxBytes`: the file is judged by the handle it is read from. `encoding` base64
 * gives a binary file's bytes.
 */
export async function readFileNoFollow(
  path: string,
  maxBytes: number,
  encoding: 'utf8' | 'base64' = 'utf8',
): Promise<CurrentFile> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return MISSING;
    if (code === 'ELOOP') throw new Error(`${path} is a symlink`);
    throw err;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new Error(`${path} exists and is not a regular file`);
    if (info.size > maxBytes) throw new Error(`${path} is over ${maxBytes} bytes`);
    return {
      exists: true,
      content: await handle.readFile(encoding),
      mode: info.mode & 0o7777,
      uid: info.uid,
      gid: info.gid,
    };
  } finally {
    await handle.close();
  }
}

/** Flush a directory entry (a rename or a new file) to disk; best effort where directories cannot be opened. */
export async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // some filesystems refuse fsync on directories: the rename is still atomic
  }
}

/** A name beside `path` for a temporary file or link that a crash may leave behind, recognisably tskv's. */
export function tempSibling(path: string): string {
  return join(dirname(path), `.${basename(path)}.tskv-${randomBytes(4).toString('hex')}`);
}

/**
 * Replace `path` atomically: parents created (0755), a temporary file in the same directory
 * written, given `mode` (and the group `gid`, when given), fsynced, then renamed over `path`.
 * Readers see the old or the new file, never a partial one, nor one with the new group's
 * readers before its mode.
 */
export async function writeFileAtomic(
  path: string,
  content: string | Buffer,
  mode: number,
  gid?: number,
): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const temp = tempSibling(path);
  const handle = await open(temp, 'wx', mode);
  try {
    try {
      await handle.writeFile(content);
      if (gid !== undefined) await handle.chown(process.geteuid?.() ?? 0, gid);
      await handle.chmod(mode); // the umask narrowed the mode given to open()
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw err;
  }
  await syncDir(dir);
}

/**
 * Give the file at `path` (never through a symlink there) `mode` and, when given, the group `gid`,
 * in place: its content and modification time stay (the time is how a running etcd is known to
 * predate its settings).
 */
export async function setFileAccess(path: string, mode: number, gid?: number): Promise<void> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    if (!(await handle.stat()).isFile()) throw new Error(`${path} is not a regular file`);
    // The group first: a mode that opens the file to the group never reaches the old group.
    if (gid !== undefined) await handle.chown(process.geteuid?.() ?? 0, gid);
    await handle.chmod(mode);
  } finally {
    await handle.close();
  }
}

/** Whether anything (a file, folder or even a dangling symlink) is at `path`. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}
