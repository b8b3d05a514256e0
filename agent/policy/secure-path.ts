import type { Stats } from 'node:fs';
import { lstat, realpath } from 'node:fs/promises';
import { dirname, posix } from 'node:path';
import { refused } from '../errors.ts';

/** lstat, or null when nothing is there. */
export async function lstatOrNull(path: string): Promise<Stats | null> {
  try {
    return await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** `path` itself, or its nearest parent that exists. */
async function nearestExisting(path: string): Promise<string> {
  let at = path;
  while (at !== '/' && (await lstatOrNull(at)) === null) at = dirname(at);
  return at;
}

/**
 * Refuses `path` (inside the allowed folder `top`) unless no one but the agent's own user can
 * make it name another file: normalised; `top` and the folders above it resolve to themselves
 * (no symlink on the way); every existing folder from `top` down to the file's is a real
 * directory, owned by the agent's user and writable by no one else; the file itself, when
 * there, is not a symlink. What `what` does with it goes in the message ("the file routes read").
 */
export async function checkSecurePath(top: string, path: string, what: string): Promise<void> {
  if (posix.normalize(path) !== path || !path.startsWith('/')) {
    throw refused(`${what} only normalised absolute paths, not ${path}`);
  }
  const existing = await nearestExisting(top);
  const real = await realpath(existing);
  if (real !== existing) {
    throw refused(`${what} nothing through symlinks: ${existing} resolves to ${real}`);
  }
  const uid = process.geteuid?.() ?? 0;
  const rel = path.slice(top.length + 1).split('/');
  let dir = top;
  for (const part of ['', ...rel.slice(0, -1)]) {
    dir = part === '' ? dir : `${dir}/${part}`;
    const info = await lstatOrNull(dir);
    if (info === null) break;
    if (info.isSymbolicLink()) throw refused(`${what} nothing through symlinks: ${dir} is one`);
    if (!info.isDirectory()) throw refused(`${what} nothing under ${dir}: it is not a directory`);
    if (info.uid !== uid) {
      throw refused(
        `${what} nothing under ${dir}: it belongs to uid ${info.uid}, not to the agent's (${uid})`,
      );
    }
    if ((info.mode & 0o022) !== 0) {
      throw refused(
        `${what} nothing under ${dir}: others can write it (mode 0${(info.mode & 0o7777).toString(8)})`,
      );
    }
  }
  if ((await lstatOrNull(path))?.isSymbolicLink()) {
    throw refused(`${what} nothing through symlinks: ${path} is one`);
  }
}
