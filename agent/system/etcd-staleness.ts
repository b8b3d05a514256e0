/**
 * Whether the etcd that runs still runs what tskv last installed and wrote: a process started
 * before its env file (or unit) changed, or from a binary the link no longer points at, needs a
 * restart even though the files on disk are right (a run interrupted between writing a member's
 * config and restarting it, or a version installed everywhere before the rolling restarts).
 */
import { readlinkSync, realpathSync, statSync } from 'node:fs';

/** Written this long after the start counts as after it (systemd's start time is ±1 ms). */
const MARGIN_MS = 5;

function changedSince(path: string, startedAtMs: number): boolean {
  try {
    return statSync(path).mtimeMs > startedAtMs + MARGIN_MS;
  } catch {
    return false;
  }
}

/** The program a process runs, as the kernel says (etcd is a Go binary: its own file). */
export function runningProgram(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}

/**
 * Why the running etcd is stale, or undefined when it runs what is installed and written.
 * `running`: the program it was started from (resolved then); `startedAtMs`: when.
 */
export function staleness(
  running: string | undefined,
  startedAtMs: number,
  files: { envFile: string; binary: string; unitFile?: string },
): string | undefined {
  if (changedSince(files.envFile, startedAtMs)) return `${files.envFile} changed after etcd started`;
  if (files.unitFile && changedSince(files.unitFile, startedAtMs)) {
    return `${files.unitFile} changed after etcd started`;
  }
  let installed: string;
  try {
    installed = realpathSync(files.binary);
  } catch {
    return undefined;
  }
  if (running !== undefined && running !== installed) {
    return `etcd runs ${running}, ${files.binary} is now ${installed}`;
  }
  return undefined;
}
