import { stat, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface DiskSpace {
  measuredAt: string;
  freeBytes: number;
  totalBytes: number;
}

/** The nearest existing directory at or above `path`. */
export async function nearestExistingDir(path: string): Promise<string> {
  let cur = path;
  for (;;) {
    try {
      if ((await stat(cur)).isDirectory()) return cur;
    } catch {
      // does not exist: go up
    }
    const parent = dirname(cur);
    if (parent === cur) return cur;
    cur = parent;
  }
}

/** Free space (for unprivileged writers, as `df` shows it) on the filesystem that holds `path` or would hold it. */
export async function diskSpace(path: string): Promise<DiskSpace> {
  const measuredAt = await nearestExistingDir(path);
  const s = await statfs(measuredAt);
  return { measuredAt, freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
}
