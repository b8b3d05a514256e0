import { existsSync } from 'node:fs';
import { hostname, release } from 'node:os';
import type { FactsResponse, routes } from '../api/index.ts';
import { diskSpace } from '../system/disk.ts';
import { dataDirState, etcdVersion, findEtcdBinary } from '../system/etcd.ts';
import { detectFirewall } from '../system/firewall-detect.ts';
import { readOsRelease } from '../system/os-release.ts';
import { readTcpListeners } from '../system/proc-net.ts';
import { findProcesses, processComm, socketOwners } from '../system/processes.ts';
import { wallClockMs } from '../system/wall-clock.ts';
import type { Handler } from './types.ts';

async function initFacts(): Promise<FactsResponse['init']> {
  return { systemd: existsSync('/run/systemd/system'), pid1: (await processComm(1)) ?? 'unknown' };
}

async function firewallFacts(): Promise<FactsResponse['firewall']> {
  const fw = await detectFirewall();
  return { backend: fw.backend, state: fw.state, ...(fw.defaultZone ? { defaultZone: fw.defaultZone } : {}) };
}

async function etcdFacts(dataDir: string): Promise<FactsResponse['etcd']> {
  const binary = await findEtcdBinary();
  const procs = await findProcesses('etcd');
  let running: FactsResponse['etcd']['running'] = [];
  if (procs.length > 0) {
    const listeners = await readTcpListeners();
    const owners = await socketOwners(new Set(listeners.map((l) => l.inode)));
    running = procs.map((p) => ({
      ...p,
      listenPorts: [
        ...new Set(listeners.filter((l) => owners.get(l.inode)?.pid === p.pid).map((l) => l.port)),
      ].sort((a, b) => a - b),
    }));
  }
  return {
    installed: binary ? { path: binary, version: await etcdVersion(binary) } : null,
    running,
    dataDir: { path: dataDir, ...(await dataDirState(dataDir)) },
  };
}

export const facts: Handler<typeof routes.facts> = async (request) => {
  const clockMs = wallClockMs();
  const [os, init, disk, firewall, etcd] = await Promise.all([
    readOsRelease(),
    initFacts(),
    diskSpace(request.dataDir),
    firewallFacts(),
    etcdFacts(request.dataDir),
  ]);
  return {
    hostname: hostname(),
    os,
    arch: process.arch,
    kernel: release(),
    init,
    disk: { path: request.dataDir, ...disk },
    firewall,
    etcd,
    isRoot: process.getuid?.() === 0,
    clockMs,
  };
};
