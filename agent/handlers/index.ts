import { clock } from './clock.ts';
import { facts } from './facts.ts';
import { firewallState } from './firewall.ts';
import { notYet } from './not-yet.ts';
import { ports } from './ports.ts';
import { probeConnect, probeListen, probeListenResult } from './probe.ts';
import type { HandlerTable } from './types.ts';
import { version } from './version.ts';

export const handlers: HandlerTable = {
  version,
  facts,
  clock,
  probeListen,
  probeListenResult,
  probeConnect,
  ports,
  firewallState,
  firewallOpen: notYet('firewallOpen'),
  fileRead: notYet('fileRead'),
  fileWrite: notYet('fileWrite'),
  etcdInstall: notYet('etcdInstall'),
  etcdService: notYet('etcdService'),
  etcdLogs: notYet('etcdLogs'),
  dataDirMoveAside: notYet('dataDirMoveAside'),
  clockSync: notYet('clockSync'),
};
