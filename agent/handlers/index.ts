import { clock } from './clock-read.ts';
import { clockSync } from './clock-sync.ts';
import { dataDirMoveAside } from './datadir.ts';
import { etcdFetch } from './etcd-fetch.ts';
import { etcdInstall, etcdLink } from './etcd-install.ts';
import { etcdLogs } from './etcd-logs.ts';
import { etcdService } from './etcd-service.ts';
import { facts } from './facts.ts';
import { fileRead, fileWrite } from './files.ts';
import { firewallOpen } from './firewall-open.ts';
import { firewallState } from './firewall-state.ts';
import { ports } from './ports.ts';
import { probeConnectMany, probeListenFree, probeListenResults } from './probe.ts';
import { relayOffer } from './relay-offer.ts';
import { snapshotList, snapshotTake } from './snapshot.ts';
import { snapshotRestore, snapshotStatus, tskvDiskSpace } from './snapshot-restore.ts';
import type { HandlerTable } from './types.ts';
import { exitWhenIdle, version } from './version.ts';

export const handlers: HandlerTable = {
  version,
  exitWhenIdle,
  facts,
  clock,
  probeListenFree,
  probeListenResults,
  probeConnectMany,
  ports,
  firewallState,
  firewallOpen,
  fileRead,
  fileWrite,
  etcdInstall,
  etcdFetch,
  relayOffer,
  etcdLink,
  etcdService,
  etcdLogs,
  dataDirMoveAside,
  clockSync,
  diskSpace: tskvDiskSpace,
  snapshotStatus,
  snapshotRestore,
  snapshotTake,
  snapshotList,
};
