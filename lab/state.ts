/** What `lab up` records in `.lab/<name>/state.json`, and whether that lab is still running. */
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import type { EtcdTarball } from './etcd-tarball.ts';
import type { LabInit, LabLayout } from './names.ts';

export interface LabHostState {
  name: string;
  address: string;
  /** The host's init (PID 1 inside it), in the machine's PID namespace. */
  pid: number;
  launcherPid: number;
  /** Its init when a reboot changed it from the lab's (see Lab.reboot). */
  init?: LabInit;
}

export interface LabState {
  name: string;
  /** How the hosts start their services, unless a host says otherwise (state files written before it existed: 'none'). */
  init: LabInit;
  hosts: LabHostState[];
  etcd: EtcdTarball;
  createdAt: string;
  upMs: number;
}

export function readState(layout: LabLayout): LabState | undefined {
  if (!existsSync(layout.statePath)) return undefined;
  try {
    const state = JSON.parse(readFileSync(layout.statePath, 'utf8')) as LabState;
    return { ...state, init: state.init ?? 'none' };
  } catch {
    return undefined;
  }
}

export function writeState(layout: LabLayout, state: LabState): void {
  writeFileSync(layout.statePath, `${JSON.stringify(state, null, 2)}\n`);
}

/** True when `pid` is alive and runs in the network namespace `netns` (so the PID was not reused). */
export function runsIn(pid: number, netns: string): boolean {
  try {
    const link = readlinkSync(`/proc/${pid}/ns/net`);
    return link === `net:[${statSync(`/run/netns/${netns}`).ino}]`;
  } catch {
    return false;
  }
}

/** The hosts of `state` that are not running any more (empty: the lab is up). */
export function deadHosts(layout: LabLayout, state: LabState): string[] {
  const byName = new Map(layout.hosts.map((h) => [h.name, h.netns]));
  return state.hosts.filter((h) => !runsIn(h.pid, byName.get(h.name) ?? '')).map((h) => h.name);
}

/** PIDs of processes whose network namespace is one of `inodes`. */
export function processesIn(inodes: Set<number>): number[] {
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

/** Processes running in the network namespace `netns` (empty when it is missing). */
export function netnsProcesses(netns: string): number[] {
  try {
    return processesIn(new Set([statSync(`/run/netns/${netns}`).ino]));
  } catch {
    return [];
  }
}
