import { mkdir, readlink, rename, symlink, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { tempSibling } from './atomic-file.ts';

/** Where the symlink at `path` points; null when `path` is missing or not a symlink. */
export async function linkTarget(path: string): Promise<string | null> {
  try {
    return await readlink(path);
  } catch {
    return null;
  }
}

/** Point `path` at `target` atomically: a new link beside it renamed over the old one (link or file). */
export async function swapSymlink(path: string, target: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  const temp = tempSibling(path);
  await symlink(target, temp);
  try {
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw err;
  }
}

export async function removeLink(path: string): Promise<void> {
  await unlink(path);
}
