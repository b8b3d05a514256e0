import { chmodSync, chownSync, lchownSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { dirname } from 'node:path';

export interface SocketOptions {
  path: string;
  /** Give the socket and its directory to this uid (a non-root SSH user who reaches the agent via sudo). */
  ownerUid?: number;
}

/** The socket this process listens on. */
export interface PrivateSocket {
  path: string;
  /** False once the path was removed or now names another socket: nobody can reach this server any more. */
  stillOurs(): boolean;
  /** Removes the socket, unless the path now belongs to another server. */
  remove(): void;
}

/** How long a socket may take to accept before it counts as live anyway (never steal a slow agent's socket). */
const LIVE_CHECK_MS = 2_000;

/** Whether a server accepts connections on `path` (a socket left by a dead process refuses them). */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (live: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(live);
    };
    const timer = setTimeout(() => done(true), LIVE_CHECK_MS);
    socket.once('connect', () => done(true));
    socket.once('error', (err: NodeJS.ErrnoException) =>
      done(err.code !== 'ECONNREFUSED' && err.code !== 'ENOENT'),
    );
  });
}

function inode(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
}

/**
 * Listen on a Unix socket only its owner can reach: the socket's directory is 0700 (its parents
 * 0711, searchable but not listable), the socket 0600. A stale socket (no server behind it) is
 * replaced; a live one is left alone and null returned: callers serialise starts (the start script
 * holds a lock), so a live socket means another agent already serves this path. The directory is
 * kept when the server stops, so a start racing a stop never loses it.
 */
export async function listenPrivate(server: Server, options: SocketOptions): Promise<PrivateSocket | null> {
  const { path, ownerUid } = options;
  const dir = dirname(path);
  mkdirSync(dirname(dir), { recursive: true, mode: 0o711 });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  if (ownerUid !== undefined) {
    chmodSync(dirname(dir), 0o711);
    chownSync(dir, ownerUid, -1);
  }
  if (inode(path) !== undefined) {
    if (await answers(path)) return null;
    unlinkSync(path);
  }
  const oldMask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(oldMask);
  }
  // The umask made it 0600. lchown: should the owner's directory hold a symlink there by now, that
  // link is what changes hands, never what it points to.
  if (ownerUid !== undefined) lchownSync(path, ownerUid, -1);
  const ours = inode(path);
  const stillOurs = () => inode(path) === ours;
  return {
    path,
    stillOurs,
    remove: () => {
      if (!stillOurs()) return;
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    },
  };
}
