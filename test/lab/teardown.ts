/**
 * Removing a lab: every process inside any of its network namespaces (each host's init, and with
 * it the host's whole PID namespace; proxy processes on the bridge), then the namespaces
 * themselves. Mounts live only in the hosts' own mount namespaces and vanish with them.
 * Works from what is on the machine, so it also cleans up after a crashed `up` without state.
 */
import { readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { TskvError } from '../../controller/errors.ts';
import { type LabLayout, netnsPrefix } from './names.ts';
import { deleteNetns, listNetns } from './network.ts';
import { pollUntil } from './run.ts';

/** The lab's network namespaces (by name) on this machine. */
export function labNamespaces(name: string): string[] {
  return listNetns().filter((ns) => ns.startsWith(netnsPrefix(name)));
}

function netnsInode(ns: string): number | undefined {
  try {
    return statSync(`/run/netns/${ns}`).ino;
  } catch {
    return undefined;
  }
}

/** PIDs of processes whose network namespace is one of `inodes`. */
function processesIn(inodes: Set<number>): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const m = /^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${entry}/ns/net`));
      if (m && inodes.has(Number(m[1]))) pids.push(Number(entry));
    } catch {
      // exited meanwhile, or a kernel thread
    }
  }
  return pids;
}

/** Processes still running inside the lab's namespaces (empty once it is down). */
export function labProcesses(name: string): number[] {
  const inodes = new Set(
    labNamespaces(name)
      .map(netnsInode)
      .filter((i): i is number => i !== undefined),
  );
  return inodes.size === 0 ? [] : processesIn(inodes);
}

export async function teardown(layout: LabLayout): Promise<{ namespaces: string[]; processes: number }> {
  const namespaces = labNamespaces(layout.name);
  let killed = 0;
  await pollUntil(
    `the processes of lab '${layout.name}' to exit`,
    () => {
      const pids = labProcesses(layout.name);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
          killed++;
        } catch {
          // already gone
        }
      }
      return pids.length === 0 ? true : undefined;
    },
    { timeoutMs: 15_000 },
  );
  // The bridge last: host veths are removed with their host namespaces.
  const ordered = [
    ...namespaces.filter((ns) => ns !== layout.netns),
    ...namespaces.filter((ns) => ns === layout.netns),
  ];
  for (const ns of ordered) await deleteNetns(ns);
  const left = labNamespaces(layout.name);
  if (left.length > 0) throw new TskvError('E_LAB_DOWN', `namespaces left behind: ${left.join(', ')}`);
  for (const file of [layout.statePath, layout.knownHostsPath]) rmSync(file, { force: true });
  for (const file of safeList(layout.dir)) {
    if (/^inventory.*\.yaml$/.test(file)) rmSync(`${layout.dir}/${file}`, { force: true });
  }
  return { namespaces, processes: killed };
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
