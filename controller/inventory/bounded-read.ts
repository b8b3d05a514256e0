/**
 * Reading a file the operator named (the inventory, an ssh.identityFile): only a regular file, only up to
 * a size, only within a deadline. A FIFO would hang the read, /dev/zero would fill memory, a hung network
 * mount would stall the run. A leaf module: inventory/ and connect/ share it.
 */
import { constants, type Stats } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';

export const MIB = 1024 * 1024;
export const READ_DEADLINE_MS = 10_000;
const CHUNK = 256 * 1024;

/** Why a file could not be read, in words for "cannot read X PATH: REASON". */
export class BoundedReadError extends Error {
  readonly path: string;
  readonly reason: string;

  constructor(path: string, reason: string, options?: ErrorOptions) {
    super(`${path}: ${reason}`, options);
    this.name = 'BoundedReadError';
    this.path = path;
    this.reason = reason;
  }
}

export interface BoundedReadOptions {
  maxBytes: number;
  timeoutMs?: number;
}

function notRegular(stats: Stats): string | undefined {
  if (stats.isFile()) return undefined;
  if (stats.isDirectory()) return 'it is a folder, not a file';
  if (stats.isFIFO()) return 'it is a named pipe (FIFO), not a regular file';
  if (stats.isCharacterDevice()) return 'it is a character device (like /dev/zero), not a regular file';
  if (stats.isBlockDevice()) return 'it is a block device, not a regular file';
  if (stats.isSocket()) return 'it is a socket, not a regular file';
  return 'it is not a regular file';
}

function size(bytes: number): string {
  return bytes % MIB === 0 ? `${bytes / MIB} MiB` : `${bytes} bytes`;
}

function errnoReason(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ELOOP':
      return 'too many symbolic links';
    default:
      return err.message;
  }
}

/** `work`'s result, or a rejection with `onTimeout()` if it takes longer than `ms`. */
export async function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The bytes of the regular file at `path`, at most `maxBytes` of them, read within `timeoutMs` (default
 * 10 s). Throws BoundedReadError for anything else: no such file, a folder, a FIFO or device, too large
 * (also when it grows while being read, or is a /proc file that reports size 0), too slow.
 */
export async function readBoundedFile(path: string, options: BoundedReadOptions): Promise<Buffer> {
  const { maxBytes, timeoutMs = READ_DEADLINE_MS } = options;
  let handle: FileHandle | undefined;
  let late = false;
  const tooLarge = () => new BoundedReadError(path, `it is larger than ${size(maxBytes)}, the most allowed`);

  const read = async (): Promise<Buffer> => {
    try {
      // O_NONBLOCK: opening a FIFO for reading must not wait for a writer (regular files ignore it).
      handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    } catch (err) {
      throw new BoundedReadError(path, errnoReason(err as NodeJS.ErrnoException), { cause: err });
    }
    if (late) throw new BoundedReadError(path, 'too late');
    const stats = await handle.stat();
    const why = notRegular(stats);
    if (why !== undefined) throw new BoundedReadError(path, why);
    if (stats.size > maxBytes) throw tooLarge();
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.alloc(Math.min(CHUNK, maxBytes + 1 - total));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) return Buffer.concat(chunks, total);
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > maxBytes) throw tooLarge();
      if (late) throw new BoundedReadError(path, 'too late');
    }
  };

  const work = read();
  try {
    return await withDeadline(work, timeoutMs, () => {
      late = true;
      return new BoundedReadError(path, `reading it took longer than ${timeoutMs / 1000} s`);
    });
  } finally {
    // Close once the read settles, whether it won the race or not (an open may finish after the deadline).
    work.catch(() => undefined).finally(() => handle?.close().catch(() => undefined));
  }
}
