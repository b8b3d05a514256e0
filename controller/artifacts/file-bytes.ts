/**
 * A file pushed to every host is read from disk once per process and its bytes shared: reading
 * it again for each host (64 KB at a time) cost the controller more CPU than encrypting it.
 * Only for files that do not change while tskv runs: the agent build and the etcd tarballs.
 */
import { readFile } from 'node:fs/promises';

const cache = new Map<string, Promise<Buffer>>();

export function fileBytes(path: string): Promise<Buffer> {
  let bytes = cache.get(path);
  if (!bytes) {
    bytes = readFile(path);
    cache.set(path, bytes);
    // A failed read is not remembered: the next caller gets the error afresh.
    bytes.catch(() => cache.delete(path));
  }
  return bytes;
}
