/**
 * A rolling restart's one member (deploy, certs rotate), and a rolling upgrade's: the member's
 * links switched to the new version at its restart, and back to the old one if it does not come up.
 */
import { routes } from '../../agent/api/index.ts';
import { describeCause, TskvError } from '../errors.ts';
import { EtcdClient } from '../etcd/index.ts';
import { memberAt } from '../ops/membership.ts';
import { minorOfVersion, type Upgrade } from '../ops/upgrade-plan.ts';
import type { Progress } from '../run/progress.ts';
import { serviceCall } from './host-etcd.ts';
import type { LiveCluster } from './live-cluster.ts';
import { checkOthersHealthy, waitCaughtUp, waitMemberHealthy } from './member-health.ts';
import { moveLeaderAway } from './replace-steps.ts';
import type { HostChannel } from './session.ts';

/**
 * Only while every other member is healthy; a leader hands leadership to another member first;
 * back healthy and caught up with the leader before the step ends. `beforeRestart` runs once the
 * checks pass, just before the restart (a rolling upgrade's switch of versions).
 */
export async function restartMember(
  live: LiveCluster,
  ch: HostChannel,
  progress: Progress,
  /** Once it restarted, before it is asked whether it is healthy (deploy: the scheme it serves now). */
  restartedHook?: () => void,
  beforeRestart?: () => Promise<string[]>,
): Promise<string[]> {
  progress('checking the other members');
  const members = (await live.memberList()).members;
  const self = memberAt(live.session.inventory, members, ch.spec);
  await checkOthersHealthy(live, self?.id, `restarting ${ch.spec.name}`);
  const otherVoters = members.some((m) => m.id !== self?.id && !m.isLearner);
  const moved = self && otherVoters ? ((await moveLeaderAway(live, self.id, ch.spec.name)) ?? []) : [];
  const before = beforeRestart ? await beforeRestart() : [];
  const restarted = await serviceCall(ch, 'restart');
  restartedHook?.();
  progress(`restarted (pid ${restarted.pid ?? '?'}), waiting until healthy`);
  await waitMemberHealthy(ch, live.tunnels.endpoint(ch.conn), restarted, 'restart etcd');
  await waitCaughtUp(live, ch, progress, { started: restarted, step: 'restart etcd' });
  return [...moved, ...before, ...restarted.actions];
}

function linkVersion(ch: HostChannel, version: string): Promise<string[]> {
  return ch.agent.call(routes.etcdLink, { version }, { step: `link etcd ${version}` }).then((r) => r.actions);
}

/**
 * A rolling upgrade's member: its links switched to `u.to` just before its restart, then healthy and
 * caught up. A member that does not come up on it is switched back to `u.from`, restarted and
 * waited on, and the step fails naming why (with its log lines): the roll stops there, the members
 * after it untouched. A re-run resumes with this member.
 */
export async function upgradeMember(
  live: LiveCluster,
  ch: HostChannel,
  u: Upgrade,
  progress: Progress,
  restartedHook?: () => void,
): Promise<string[]> {
  let switched = false;
  try {
    return await restartMember(live, ch, progress, restartedHook, async () => {
      progress(`switching to etcd ${u.to}`);
      const actions = await linkVersion(ch, u.to);
      switched = true;
      return actions;
    });
  } catch (err) {
    if (!switched) throw err;
    const stay = await whyNotRollBack(live, ch, u);
    if (stay) {
      throw new TskvError(
        'E_UPGRADE_FAILED',
        `${ch.spec.name} runs etcd ${u.to} but its step failed; not switched back (${stay}); the roll stopped there:\n  ${err instanceof Error ? err.message : String(err)}`,
        {
          host: ch.spec.name,
          step: `switch to etcd ${u.to} and restart`,
          fix: 'fix the cause, then re-run deploy: it resumes with the members not on the new version yet',
          cause: err,
        },
      );
    }
    progress(`etcd ${u.to} did not come up: back to ${u.from}`);
    const back = await rollBack(live, ch, u.from, restartedHook).then(
      () => `it runs etcd ${u.from} again and is healthy`,
      (again: unknown) => `switching it back to etcd ${u.from} failed too: ${describeCause(again)}`,
    );
    throw new TskvError(
      'E_UPGRADE_FAILED',
      `${ch.spec.name} did not come up on etcd ${u.to}; ${back}; the roll stopped there, the members after it were not touched:\n  ${err instanceof Error ? err.message : String(err)}`,
      {
        host: ch.spec.name,
        step: `switch to etcd ${u.to} and restart`,
        fix: `fix the cause (the log lines above; a broken release: another etcd.version), then re-run deploy: members already on ${u.to} are not restarted again`,
        cause: err,
      },
    );
  }
}

/**
 * Why a member whose step failed after its switch stays on the new version, if it should: it is
 * healthy there (the step failed later: it caught up too slowly, or tskv lost the cluster), or the
 * cluster version has reached the new minor already (the old release refuses that cluster's data).
 */
async function whyNotRollBack(live: LiveCluster, ch: HostChannel, u: Upgrade): Promise<string | undefined> {
  const healthy = await new EtcdClient(live.tunnels.endpoint(ch.conn), { timeoutMs: 2000 })
    .health()
    .then((h) => h.healthy)
    .catch(() => false);
  if (healthy) return `it is healthy on ${u.to}`;
  const cluster = await live.clusterVersion().catch(() => undefined);
  const newMinor = minorOfVersion(u.to);
  if (minorOfVersion(u.from) !== newMinor && cluster !== undefined && minorOfVersion(cluster) === newMinor) {
    return `the cluster version is ${cluster} already, which etcd ${u.from} refuses to run`;
  }
  return undefined;
}

async function rollBack(
  live: LiveCluster,
  ch: HostChannel,
  version: string,
  restartedHook?: () => void,
): Promise<void> {
  await linkVersion(ch, version);
  const restarted = await serviceCall(ch, 'restart');
  restartedHook?.();
  await waitMemberHealthy(ch, live.tunnels.endpoint(ch.conn), restarted, 'roll back');
  await waitCaughtUp(live, ch, undefined, { started: restarted, step: 'roll back' });
}
