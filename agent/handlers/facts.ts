import { existsSync } from 'node:fs';
import { hostname, release } from 'node:os';
import type { FactsResponse, routes } from '../api/index.ts';
import { ETCD_GROUP, ETCD_USER } from '../api/index.ts';
import { etcdAccountProblem } from '../policy/etcd-account.ts';
import { lookupGroup, lookupUser, processUser, uidMin } from '../system/accounts.ts';
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
    running = await Promise.all(
      procs.map(async (p) => ({
        ...p,
        listenPorts: [
          ...new Set(listeners.filter((l) => owners.get(l.inode)?.pid === p.pid).map((l) => l.port)),
        ].sort((a, b) => a - b),
        user: (await processUser(p.pid)) ?? '?',
      })),
    );
  }
  return {
    installed: binary ? { path: binary, version: await etcdVersion(binary) } : null,
    running,
    dataDir: { path: dataDir, ...(await dataDirState(dataDir)) },
    account: await accountFacts(),
  };
}

/** The etcd account as it is (nothing is created here), with why it cannot run etcd if so. */
async function accountFacts(): Promise<FactsResponse['etcd']['account']> {
  // A name service that fails here is no reason to fail the facts: the start says it in full.
  const [user, group] = await Promise.all([
    lookupUser(ETCD_USER).catch(() => null),
    lookupGroup(ETCD_GROUP).catch(() => null),
  ]);
  if (!user) return null;
  const problem = etcdAccountProblem(user, group, await uidMin());
  return { uid: user.uid, gid: group?.gid ?? null, ...(problem ? { problem } : {}) };
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
