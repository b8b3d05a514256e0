import { execFile } from 'node:child_process';

export interface CommandResult {
  /** Exit code; null when the command could not run or was killed. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** The executable does not exist (ENOENT). */
  notFound: boolean;
  timedOut: boolean;
}

/**
 * Run one host command without a shell (as the agent's user, or `as` another uid and gid). Never throws: every outcome is in the result, so callers
 * decide what a failure means (a missing `ufw` is a fact, not an error).
 */
export function runCommand(
  file: string,
  args: string[],
  timeoutMs = 10_000,
  as?: { uid: number; gid: number },
): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        timeout: timeoutMs,
        maxBuffer: 16 * 1024 * 1024,
        env: { ...process.env, LC_ALL: 'C' },
        // As another user: setgid, setuid, and no supplementary groups (libuv drops them).
        ...(as ? { uid: as.uid, gid: as.gid } : {}),
      },
      (err, stdout, stderr) => {
        if (!err) {
          resolve({ code: 0, stdout, stderr, notFound: false, timedOut: false });
          return;
        }
        const e = err as NodeJS.ErrnoException & { code?: unknown; killed?: boolean; signal?: string | null };
        resolve({
          code: typeof e.code === 'number' ? e.code : null,
          stdout: String(stdout ?? ''),
          stderr: String(stderr ?? '') || e.message,
          notFound: e.code === 'ENOENT',
          timedOut: e.killed === true && e.signal === 'SIGTERM',
        });
      },
    );
  });
}
