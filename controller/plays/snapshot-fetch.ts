/**
 * Copying a host's snapshot to the controller: streamed (`cat` as root over SSH, as uploads are)
 * into `<out>.part`, hashed on the way, compared with the sha256 recorded beside it on the host,
 * then renamed into place. Never held in memory; nothing is left at `out` unless it is whole.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, stat, statfs, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { SNAPSHOT_SPARE_BYTES } from '../../agent/api/index.ts';
import { sha256Tap } from '../artifacts/sha256-tap.ts';
import { describeCause, TskvError } from '../errors.ts';
import { shellQuote } from '../render/shell-quote.ts';
import type { HostChannel } from './session.ts';

export interface RemoteSnapshot {
  path: string;
  size: number;
  sha256: string;
}

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

/** Refuses (before anything is written) when `out`'s folder lacks room for `size` bytes and a margin. */
export async function checkControllerRoom(out: string, size: number): Promise<void> {
  const dir = dirname(out);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const s = await statfs(dir);
  const free = s.bavail * s.bsize;
  const needed = size + Math.ceil(size / 10) + SNAPSHOT_SPARE_BYTES;
  if (free < needed) {
    throw new TskvError(
      'E_SNAPSHOT_NO_ROOM',
      `no room for the snapshot in ${dir} on this machine: ${mib(free)} free, it needs ${mib(needed)}`,
      { step: 'check room on the controller', fix: 'free space there, or give another place with --out' },
    );
  }
}

/** Refuses an `out` that already exists: a snapshot is never overwritten. */
export async function refuseExisting(out: string): Promise<void> {
  const there = await stat(out).catch(() => null);
  if (there) {
    throw new TskvError('E_SNAPSHOT', `${out} already exists: tskv never overwrites a snapshot`, {
      step: 'check the output file',
      fix: 'give another path with --out, or move that file away',
    });
  }
}

/** Copies `remote` from `ch`'s host to `out` (checked first: no such file, room), verified by sha256. */
export async function fetchSnapshot(ch: HostChannel, remote: RemoteSnapshot, out: string): Promise<void> {
  const step = `copy ${remote.path} to this machine`;
  await refuseExisting(out);
  await checkControllerRoom(out, remote.size);
  const part = `${out}.part`;
  const proc = await ch.conn.spawn(`cat -- ${shellQuote(remote.path)}`, {
    root: true,
    step,
    stopOnDisconnect: true,
  });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => {
    stderr += d.toString('utf8').slice(0, 2000);
  });
  const { tap, result } = sha256Tap();
  try {
    await pipeline(proc.stdout, tap, createWriteStream(part, { mode: 0o600, flush: true }));
    const code = await proc.exited;
    if (code !== 0) throw new Error(`cat exited ${code}: ${stderr.trim()}`);
    const got = result();
    if (got.sha256 !== remote.sha256 || got.size !== remote.size) {
      throw new Error(
        `the copy (${got.size} bytes, sha256 ${got.sha256}) differs from the host's file (${remote.size} bytes, sha256 ${remote.sha256})`,
      );
    }
    await rename(part, out);
  } catch (err) {
    proc.kill();
    await unlink(part).catch(() => undefined);
    throw new TskvError('E_SNAPSHOT', `copying ${remote.path} failed: ${describeCause(err)}`, {
      host: ch.spec.name,
      step,
      fix: 'run the command again (nothing was left at the output path)',
    });
  }
}
