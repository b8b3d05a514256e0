/**
 * One tskv at a time in a PKI directory: a lock file created exclusively, so that two runs
 * started together never make two CAs. A lock left by a process of this machine that is gone
 * (a crash, a kill) is taken over; one of another machine (a shared directory) is waited for.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { InputError, TskvError } from '../errors.ts';
import { KEY_MODE, LOCK_FILE } from './layout.ts';

interface LockOwner {
  pid: number;
  host: string;
  nonce: string;
  /** The holder's start time (clock ticks since boot, /proc/PID/stat): a reused pid is another process. */
  startTime?: number;
}

/** A process's start time from /proc (field 22 of its stat line), undefined when it is gone. */
function startTimeOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    return Number.isFinite(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

function processAlive(pid: number, startTime: number | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false; // EPERM: alive, another user's
  }
  // The same pid, started at another time: the holder is gone and its pid reused.
  return startTime === undefined || startTimeOf(pid) === startTime;
}

export interface PkiLockOptions {
  timeoutMs?: number;
  pollMs?: number;
}

async function readOwner(path: string): Promise<LockOwner | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LockOwner;
  } catch {
    return undefined; // gone meanwhile, or still being written
  }
}

const isStale = (owner: LockOwner) => owner.host === hostname() && !processAlive(owner.pid, owner.startTime);

async function tryCreate(path: string, me: LockOwner): Promise<boolean> {
  try {
    await writeFile(path, JSON.stringify(me), { flag: 'wx', mode: KEY_MODE });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/**
 * Moves a stale lock aside. The rename lets only one of several waiters take it; whoever moved a
 * lock that is not the stale one it read (a fresh one, taken meanwhile) puts it back.
 */
async function breakStale(path: string, stale: LockOwner): Promise<void> {
  const aside = `${path}.stale-${randomBytes(4).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch {
    return; // another waiter moved it first
  }
  const moved = await readOwner(aside);
  // link, not rename: a lock taken in the meantime is never replaced.
  if (moved?.nonce !== stale.nonce) await link(aside, path).catch(() => {});
  await unlink(aside).catch(() => {});
}

/** Runs `fn` holding the PKI directory's lock. */
export async function withPkiLock<T>(
  dir: string,
  fn: () => Promise<T>,
  options: PkiLockOptions = {},
): Promise<T> {
  const { timeoutMs = 60_000, pollMs = 50 } = options;
  const path = join(dir, LOCK_FILE);
  const me: LockOwner = {
    pid: process.pid,
    host: hostname(),
    nonce: randomBytes(8).toString('hex'),
    ...(startTimeOf(process.pid) === undefined ? {} : { startTime: startTimeOf(process.pid)! }),
  };
  const deadline = Date.now() + timeoutMs;
  let holder: LockOwner | undefined;
  try {
    while (!(await tryCreate(path, me))) {
      holder = await readOwner(path);
      if (holder && isStale(holder)) {
        await breakStale(path, holder);
        continue;
      }
      if (Date.now() > deadline) throw lockTimeout(path, holder);
      await sleep(pollMs);
    }
  } catch (err) {
    if (err instanceof TskvError) throw err;
    throw new InputError(`cannot lock the PKI directory: cannot create ${path}: ${(err as Error).message}`, {
      step: 'pki',
      fix: `make ${dir} writable by the user running tskv`,
      cause: err,
    });
  }
  try {
    return await fn();
  } finally {
    if ((await readOwner(path))?.nonce === me.nonce) await unlink(path).catch(() => {});
  }
}

function lockTimeout(path: string, holder: LockOwner | undefined): TskvError {
  const who = holder ? `process ${holder.pid} on ${holder.host}` : 'another process';
  return new TskvError('E_LOCKED', `the PKI directory is locked by ${who} (${path})`, {
    step: 'pki',
    fix: `wait for that tskv to finish; if none runs, remove ${path}`,
  });
}
