/**
 * Removing a lab: every process inside any of its network namespaces (each host's init, and with
 * it the host's whole PID namespace; proxy processes on the bridge), then the namespaces
 * themselves, the cgroups of its systemd hosts and the hosts' disks. Mounts live only in the
 * hosts' own mount namespaces and vanish with them. Works from what is on the machine, so it also
 * cleans up after a crashed `up` without state.
 */
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { TskvError } from '../controller/errors.ts';
import { removeLabCgroups } from './cgroup.ts';
import { type LabLayout, netnsPrefix } from './names.ts';
import { deleteNetns, listNetns } from './network.ts';
import { pollUntil } from './run.ts';
import { processesIn } from './state.ts';

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

/** Processes still running inside the lab's namespaces (empty once it is down). */
export function labProcesses(name: string): number[] {
  const inodes = new Set(
    labNamespaces(name)
      .map(netnsInode)
      .filter((i): i is number => i !== undefined),
  );
  return inodes.size === 0 ? [] : processesIn(inodes);
}

/** True for the init (PID 1) of a nested PID namespace: a lab host's init. */
function isNamespaceInit(pid: number): boolean {
  try {
    const nspid =
      /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]?.split(/\s+/) ?? [];
    return nspid.length > 1 && nspid.at(-1) === '1';
  } catch {
    return false;
  }
}

function killAll(pids: number[]): number {
  let killed = 0;
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
      killed++;
    } catch {
      // already gone
    }
  }
  return killed;
}

/**
 * SIGKILLs the processes `list` finds until it finds none: each host's init first (the kernel then
 * ends its whole PID namespace, and the launcher that waits for it reaps it and exits by itself),
 * whatever remains after a grace period too. Returns how many processes there were.
 */
export async function killProcesses(what: string, list: () => number[]): Promise<number> {
  const found = list();
  let killed = killAll(found.filter(isNamespaceInit));
  const graceEnd = Date.now() + 1000;
  await pollUntil(
    `the processes of ${what} to exit`,
    () => {
      const pids = list();
      if (Date.now() > graceEnd) killed += killAll(pids);
      return pids.length === 0 ? true : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 20 },
  );
  return Math.max(killed, found.length);
}

export async function teardown(layout: LabLayout): Promise<{ namespaces: string[]; processes: number }> {
  const namespaces = labNamespaces(layout.name);
  const killed = await killProcesses(`lab '${layout.name}'`, () => labProcesses(layout.name));
  // The bridge last: host veths are removed with their host namespaces.
  const ordered = [
    ...namespaces.filter((ns) => ns !== layout.netns),
    ...namespaces.filter((ns) => ns === layout.netns),
  ];
  for (const ns of ordered) await deleteNetns(ns);
  const left = labNamespaces(layout.name);
  if (left.length > 0) throw new TskvError('E_LAB_DOWN', `namespaces left behind: ${left.join(', ')}`);
  await removeLabCgroups(layout.name);
  rmSync(layout.disksDir, { recursive: true, force: true });
  for (const file of [layout.statePath, layout.knownHostsPath]) rmSync(file, { force: true });
  for (const file of safeList(layout.dir)) {
    if (/^inventory.*\.yaml$/.test(file)) rmSync(`${layout.dir}/${file}`, { force: true });
    // The PKI of hosts that are gone: a new lab of the same name is a new cluster.
    if (/\.pki$/.test(file)) rmSync(`${layout.dir}/${file}`, { recursive: true, force: true });
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
