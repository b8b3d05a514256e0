/**
 * An exclusive lock on a file that lives exactly as long as whoever holds it: util-linux `flock`
 * takes it without waiting and runs a command that reads our pipe, so releasing it (closing the
 * pipe), our process dying, or the holder being broken (its process group killed) all free it.
 * Node has no flock of its own; every agent (any build, any SSH user) uses the same file.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';

const CONFLICT = 75;

export interface FileLock {
  /** The flock process's pid (its process group's too): what breaking the lock kills. */
  pid: number;
  /** Resolves when the lock is gone (released, broken, or its process died). */
  gone: Promise<void>;
  release(): void;
}

/** Takes the lock, or resolves undefined at once when someone else holds it. */
export function tryFileLock(file: string): Promise<FileLock | undefined> {
  mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
  const child = spawn(
    'flock',
    [
      '--nonblock',
      '--conflict-exit-code',
      String(CONFLICT),
      file,
      'sh',
      '-c',
      'echo held; exec cat >/dev/null',
    ],
    { stdio: ['pipe', 'pipe', 'pipe'], detached: true },
  );
  const gone = new Promise<void>((resolve) => child.once('close', () => resolve()));
  // Its pipes may break at any time (it was broken, or it exits as we release): never an error here.
  for (const stream of [child.stdin, child.stdout, child.stderr]) stream.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d;
    });
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      if (out.includes('held\n') && child.pid !== undefined) {
        const pid = child.pid;
        resolve({
          pid,
          gone,
          release: () => {
            child.stdin.end();
            breakFileLock(pid);
          },
        });
      }
    });
    child.once('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(e.code === 'ENOENT' ? 'flock (util-linux) is not installed' : e.message)),
    );
    child.once('exit', (code) => {
      if (code === CONFLICT) resolve(undefined);
      else if (!out.includes('held\n')) reject(new Error(`flock ${file} exited ${code}: ${err.trim()}`));
    });
  });
}

/** Whether `pid` is the flock process holding `file` (checked before breaking it). */
export function isFileLockHolder(pid: number, file: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return basename(argv[0] ?? '') === 'flock' && argv.includes(file);
  } catch {
    return false;
  }
}

/** Ends the hold of the flock process `pid` (and what it runs): its lock is free once they exit. */
export function breakFileLock(pid: number): void {
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    // already gone
  }
}
