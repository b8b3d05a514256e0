/** The system account etcd runs as: looked up, checked, and created where it is missing. */
import { ETCD_GROUP, ETCD_HOME, ETCD_USER } from '../api/index.ts';
import { AgentError } from '../errors.ts';
import { etcdAccountProblem } from '../policy/etcd-account.ts';
import {
  addSystemGroup,
  addSystemUser,
  type GroupEntry,
  lookupGroup,
  lookupUser,
  type UserEntry,
  uidMin,
} from '../system/accounts.ts';

/** Who etcd runs as: the ETCD_USER account's uid and the ETCD_GROUP group's gid. */
export interface EtcdAccount {
  user: string;
  uid: number;
  gid: number;
}

export interface AccountResult {
  /** null only when `create` was false and something is missing. */
  account: EtcdAccount | null;
  /** What was done (or, without `create`, what would be): "create system user etcd ...". */
  actions: string[];
}

/** Looks up the etcd account; with `create`, makes what is missing. Refuses an unusable one. */
export type EnsureEtcdAccount = (create: boolean) => Promise<AccountResult>;

/** The host operations it takes (tests give fakes). */
export interface AccountOps {
  lookupUser(name: string): Promise<UserEntry | null>;
  lookupGroup(name: string): Promise<GroupEntry | null>;
  uidMin(): Promise<number>;
  addSystemGroup(name: string): Promise<void>;
  addSystemUser(name: string, group: string, home: string, comment: string): Promise<void>;
}

export const HOST_ACCOUNT_OPS: AccountOps = {
  lookupUser,
  lookupGroup,
  uidMin,
  addSystemGroup,
  addSystemUser,
};

export function accountError(message: string): AgentError {
  return new AgentError('E_AGENT_ACCOUNT', `cannot run etcd as user ${ETCD_USER}: ${message}`, 409);
}

async function failing<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw accountError(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * The etcd account as ensureEtcdAccount sees it: one at a time (two requests of one deploy may
 * both find it missing; the second then finds it made).
 */
export function makeEnsureEtcdAccount(ops: AccountOps = HOST_ACCOUNT_OPS): EnsureEtcdAccount {
  let queue: Promise<unknown> = Promise.resolve();
  const ensure = async (create: boolean): Promise<AccountResult> => {
    const actions: string[] = [];
    let user = await ops.lookupUser(ETCD_USER);
    let group = await ops.lookupGroup(ETCD_GROUP);
    if (user) {
      const problem = etcdAccountProblem(user, group, await ops.uidMin());
      if (problem) throw accountError(problem);
    }
    if (!group) {
      actions.push(`create system group ${ETCD_GROUP}`);
      if (create) {
        await failing(`creating group ${ETCD_GROUP}`, () => ops.addSystemGroup(ETCD_GROUP));
        group = await ops.lookupGroup(ETCD_GROUP);
        if (!group) throw accountError(`group ${ETCD_GROUP} is still missing after groupadd`);
      }
    }
    if (!user) {
      actions.push(
        `create system user ${ETCD_USER} (group ${ETCD_GROUP}, no login shell, home ${ETCD_HOME} not created)`,
      );
      if (create) {
        await failing(`creating user ${ETCD_USER}`, () =>
          ops.addSystemUser(ETCD_USER, ETCD_GROUP, ETCD_HOME, 'etcd (tskv)'),
        );
        user = await ops.lookupUser(ETCD_USER);
        if (!user) throw accountError(`user ${ETCD_USER} is still missing after useradd`);
        const problem = etcdAccountProblem(user, group, await ops.uidMin());
        if (problem) throw accountError(problem);
      }
    }
    if (!user || !group) return { account: null, actions };
    return { account: { user: user.name, uid: user.uid, gid: group.gid }, actions };
  };
  return (create) => {
    const next = queue.then(
      () => ensure(create),
      () => ensure(create),
    );
    queue = next.catch(() => undefined);
    return next;
  };
}

export const ensureEtcdAccount = makeEnsureEtcdAccount();
