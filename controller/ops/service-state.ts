/** etcd's service on a host in a few words, as `tskv status` shows it. */
import type { ResponseOf, routes } from '../../agent/api/index.ts';

type ServiceStatus = ResponseOf<typeof routes.etcdService>;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * "running (systemd, pid 812, user etcd, since 2026-12-04T10:40:01Z, 0 restarts)" or
 * "stopped (systemd: failed (failed), last exit-code, status 1; 5 restarts)".
 */
export function describeService(s: ServiceStatus): string {
  const restarts = s.restarts === undefined ? [] : [plural(s.restarts, 'restart')];
  if (s.running) {
    const since =
      s.startedAtMs === null ? [] : [`since ${new Date(s.startedAtMs).toISOString().slice(0, 19)}Z`];
    const user = s.user === undefined ? [] : [`user ${s.user}`];
    return `running (${[s.manager, `pid ${s.pid ?? '?'}`, ...user, ...since, ...restarts].join(', ')})`;
  }
  const how = [s.unitState ? `${s.manager}: ${s.unitState}` : s.manager];
  if (s.lastExit) how.push(`last ${s.lastExit}`);
  return `stopped (${[how.join(', '), ...restarts].join('; ')})`;
}
