/** Start, restart, or leave etcd alone on a host; and the order of rolling restarts. Pure. */
import { ETCD_DATA_MODE, ETCD_GROUP, ETCD_USER } from '../../agent/api/index.ts';

export interface ServiceInput {
  running: boolean;
  /** The env file or unit changes. */
  configChanged: boolean;
  /** A different etcd version is installed. */
  installChanged: boolean;
  /** Why the running etcd does not run what is installed and written (an interrupted run left it so). */
  stale?: string | undefined;
  bootstrapping: boolean;
  /** The user the running etcd runs as (an older tskv ran it as root). */
  runsAs?: string | undefined;
  /** The member's data dir as the host has it, when it exists. */
  dataDir?: { path: string; owner: string | null; mode: number | null } | undefined;
}

const ETCD_OWNER = `${ETCD_USER}:${ETCD_GROUP}`;

/** "hand /var/lib/etcd/h1.etcd to etcd:etcd 0700 (was root:root 0700)" when the data dir is not etcd's, else undefined. */
export function dataDirHandover(dataDir: ServiceInput['dataDir']): string | undefined {
  if (!dataDir || dataDir.owner === null) return undefined;
  if (dataDir.owner === ETCD_OWNER && dataDir.mode === ETCD_DATA_MODE) return undefined;
  const mode = dataDir.mode === null ? '' : ` 0${dataDir.mode.toString(8)}`;
  return `hand ${dataDir.path} to ${ETCD_OWNER} 0${ETCD_DATA_MODE.toString(8)} (was ${dataDir.owner}${mode})`;
}

export function planService(s: ServiceInput): { kind: 'start' | 'restart'; title: string } | undefined {
  const handover = dataDirHandover(s.dataDir);
  if (!s.running) {
    const title = s.bootstrapping
      ? 'start etcd (all members together, --initial-cluster-state new)'
      : 'start etcd';
    return { kind: 'start', title: handover ? `${title}; ${handover}` : title };
  }
  const why = [
    ...(s.runsAs !== undefined && s.runsAs !== ETCD_USER
      ? [`run etcd as user ${ETCD_USER}, not ${s.runsAs}`]
      : []),
    ...(s.installChanged ? ['new etcd version'] : []),
    ...(s.configChanged ? ['configuration changed'] : []),
    ...(handover ? [handover] : []),
  ];
  // A stale etcd's reason is worth saying only when nothing else explains the restart.
  if (why.length === 0 && s.stale) why.push(s.stale);
  if (why.length === 0) return undefined;
  return {
    kind: 'restart',
    title: `restart etcd (${why.join(', ')}; one member at a time, healthy before the next)`,
  };
}

/** Followers first, the leader last: one leader election instead of several. */
export function restartOrder(hosts: string[], leader: string | undefined): string[] {
  return [...hosts.filter((h) => h !== leader), ...hosts.filter((h) => h === leader)];
}
