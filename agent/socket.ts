import { chmodSync, chownSync, mkdirSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import type { Server } from 'node:http';
import { dirname } from 'node:path';

export interface SocketOptions {
  path: string;
  /** Give the socket and its directory to this uid (a non-root SSH user who reaches the agent via sudo). */
  ownerUid?: number;
}

/**
 * Listen on a Unix socket only its owner can reach: the socket's directory is created 0700 (its
 * parents 0711, searchable but not listable), the socket is 0600, and a stale socket is replaced.
 * Returns a function that removes the socket and its directory.
 */
export async function listenPrivate(server: Server, options: SocketOptions): Promise<() => void> {
  const dir = dirname(options.path);
  mkdirSync(dirname(dir), { recursive: true, mode: 0o711 });
  let createdDir = false;
  try {
    statSync(dir);
  } catch {
    mkdirSync(dir, { mode: 0o700 });
    createdDir = true;
  }
  if (options.ownerUid !== undefined) chmodSync(dirname(dir), 0o711);
  try {
    unlinkSync(options.path);
  } catch {
    // no stale socket
  }
  const oldMask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(oldMask);
  }
  chmodSync(options.path, 0o600);
  if (options.ownerUid !== undefined) {
    if (createdDir) chownSync(dir, options.ownerUid, -1);
    chownSync(options.path, options.ownerUid, -1);
  }
  return () => {
    try {
      unlinkSync(options.path);
    } catch {
      // already gone
    }
    if (createdDir) {
      try {
        rmdirSync(dir);
      } catch {
        // not empty or gone
      }
    }
  };
}
