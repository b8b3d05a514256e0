import { readdir, readFile, readlink } from 'node:fs/promises';
import { basename } from 'node:path';

export interface ProcessInfo {
  pid: number;
  command: string;
}

async function pids(): Promise<number[]> {
  const entries = await readdir('/proc');
  return entries.filter((e) => /^\d+$/.test(e)).map(Number);
}

/**
 * The program a process runs: the base name of its argv[0] (what the operator started: "etcd",
 * "node"), else its comm (which a program may rename, as Node does to "MainThread").
 */
export async function processCommand(pid: number): Promise<string | null> {
  try {
    const argv0 = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0')[0] ?? '';
    if (argv0) return basename(argv0.split(' ')[0] ?? argv0);
  } catch {
    return null;
  }
  return processComm(pid);
}

/** The kernel's name for a process (/proc/PID/comm). */
export async function processComm(pid: number): Promise<string | null> {
  try {
    return (await readFile(`/proc/${pid}/comm`, 'utf8')).trim();
  } catch {
    return null;
  }
}

/** The processes holding each of the given socket inodes (walks /proc/<pid>/fd; root sees every process). */
export async function socketOwners(inodes: Set<number>): Promise<Map<number, ProcessInfo>> {
  const owners = new Map<number, ProcessInfo>();
  if (inodes.size === 0) return owners;
  for (const pid of await pids()) {
    let fds: string[];
    try {
      fds = await readdir(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to read
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = await readlink(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      const inode = m ? Number(m[1]) : Number.NaN;
      if (!inodes.has(inode) || owners.has(inode)) continue;
      owners.set(inode, { pid, command: (await processCommand(pid)) ?? '?' });
      if (owners.size === inodes.size) return owners;
    }
  }
  return owners;
}

/** Processes whose program (see processCommand) is exactly `command`. */
export async function findProcesses(command: string): Promise<ProcessInfo[]> {
  const found: ProcessInfo[] = [];
  for (const pid of await pids()) {
    if ((await processCommand(pid)) === command) found.push({ pid, command });
  }
  return found;
}
