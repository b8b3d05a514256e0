import { ETCD_GROUP, ETCD_USER } from '../api/index.ts';
import type { GroupEntry, UserEntry } from '../system/accounts.ts';

/**
 * Why an existing account cannot be the one etcd runs as, or undefined: it must be a system
 * account (uid above 0 and below UID_MIN, where ordinary users begin) and its group not root's.
 * An ordinary user's account (a person's, or `nobody`) is never taken over.
 */
export function etcdAccountProblem(
  user: UserEntry,
  group: GroupEntry | null,
  uidMin: number,
): string | undefined {
  const fix = `remove or rename it (userdel ${ETCD_USER}) and let tskv create a system account, or make it one`;
  if (user.uid === 0) return `the ${ETCD_USER} account has uid 0: it is root; ${fix}`;
  if (user.uid >= uidMin) {
    return `the ${ETCD_USER} account (uid ${user.uid}) is not a system account (uids from ${uidMin}, UID_MIN in /etc/login.defs, are ordinary users'); ${fix}`;
  }
  if (group?.gid === 0) return `the ${ETCD_GROUP} group has gid 0: it is root's group; ${fix}`;
  return undefined;
}
