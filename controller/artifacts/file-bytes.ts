/**
 * A file pushed to every host is read from disk once and its bytes shared by every push under way:
 * reading it again for each host (64 KB at a time) cost the controller more CPU than encrypting it.
 * The bytes are held only while some push holds a lease on them: once the last one releases, they
 * are dropped (a later push reads the file again), so a run's memory does not keep every artefact
 * for its whole life, and never holds more than one copy of each, however many hosts.
 * Only for files that do not change while tskv runs: the agent build and the etcd tarballs.
 */
import { readFile } from 'node:fs/promises';

interface Entry {
  bytes: Promise<Buffer>;
  holders: number;
}

const cache = new Map<string, Entry>();

export interface FileLease {
  bytes: Buffer;
  /** This holder is done with the bytes (once; later calls do nothing). */
  release(): void;
}

/** The file's bytes, shared with every other holder until the last one releases them. */
export async function leaseFileBytes(path: string): Promise<FileLease> {
  let entry = cache.get(path);
  if (!entry) {
    entry = { bytes: readFile(path), holders: 0 };
    cache.set(path, entry);
  }
  const held = entry;
  held.holders++;
  const drop = (): void => {
    if (--held.holders === 0 && cache.get(path) === held) cache.delete(path);
  };
  let bytes: Buffer;
  try {
    bytes = await held.bytes;
  } catch (err) {
    drop(); // a failed read is not remembered: the next caller gets the error afresh
    throw err;
  }
  let released = false;
  return {
    bytes,
    release() {
      if (released) return;
      released = true;
      drop();
    },
  };
}

/** Paths whose bytes are held now (tests, diagnostics). */
export function heldFiles(): string[] {
  return [...cache.keys()];
}
