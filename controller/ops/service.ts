/** Start, restart, or leave etcd alone on a host; and the order of rolling restarts. Pure. */

export interface ServiceInput {
  running: boolean;
  /** The env file or unit changes. */
  configChanged: boolean;
  /** A different etcd version is installed. */
  installChanged: boolean;
  /** Why the running etcd does not run what is installed and written (an interrupted run left it so). */
  stale?: string | undefined;
  bootstrapping: boolean;
}

export function planService(s: ServiceInput): { kind: 'start' | 'restart'; title: string } | undefined {
  if (!s.running) {
    return {
      kind: 'start',
      title: s.bootstrapping
        ? 'start etcd (all members together, --initial-cluster-state new)'
        : 'start etcd',
    };
  }
  const why = [
    ...(s.installChanged ? ['new etcd version'] : []),
    ...(s.configChanged ? ['configuration changed'] : []),
    ...(s.stale && !s.installChanged && !s.configChanged ? [s.stale] : []),
  ];
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
