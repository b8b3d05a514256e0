/**
 * Waiting for a member: until it is healthy (deploy's starts and restarts), caught up as a learner,
 * or healthy with every other member (membership changes). One deadline for all of them, and one
 * crash check: its service is asked, by the clock, whether etcd still runs as the process that
 * was started, so a member that exits or crash-loops fails the wait at once, with its log.
 */
import { TskvError } from '../errors.ts';
import { EtcdClient, type EtcdEndpoint, type EtcdId, type EtcdMember } from '../etcd/index.ts';
import { unhealthyOthers } from '../ops/cluster-view.ts';
import type { Progress } from '../run/progress.ts';
import { waitFor } from '../wait.ts';
import { type ServiceStatus, serviceCall, startFailure } from './host-etcd.ts';
import type { LiveCluster, LiveView } from './live-cluster.ts';
import type { HostChannel } from './session.ts';

/** How long a member may take to become healthy (or a learner to catch up): a large one replays its WAL. */
export const HEALTHY_DEADLINE_MS = 60_000;
/**
 * /health answers at once until a leader is elected (etcd fast-forwards its first election to
 * 0.2-1.2 s after the peers connect): polled often, it adds little on top of the election itself.
 */
const HEALTH_POLL_MS = 25;
const VIEW_POLL_MS = 200;
/** How often the service (the supervisor or systemd) is asked whether etcd still runs, by the clock. */
const SERVICE_EVERY_MS = 200;

/** etcd exited, or its supervisor restarted it: waiting longer will not help. */
class MemberDown extends Error {}

/**
 * A check that throws MemberDown once etcd on `ch` is not running, or runs as another process than
 * `started` (crashed and restarted); it asks the service at most every SERVICE_EVERY_MS.
 */
function crashCheck(ch: HostChannel, started: ServiceStatus | undefined): () => Promise<void> {
  let askedAt = Number.NEGATIVE_INFINITY;
  return async () => {
    // By the clock, not every Nth poll: a poll that hangs to its timeout must not delay this.
    if (Date.now() - askedAt < SERVICE_EVERY_MS) return;
    askedAt = Date.now();
    const st = await serviceCall(ch, 'status');
    const exit = st.lastExit ? ` (${st.lastExit})` : '';
    if (!st.running) throw new MemberDown(`etcd exited${exit}`);
    const restarted =
      (started?.restarts !== undefined && (st.restarts ?? 0) > started.restarts) ||
      // The pid, not startedAtMs: systemd's start time is recomputed (±1 ms) on every status.
      (started?.pid != null && st.pid !== null && st.pid !== started.pid);
    if (restarted) throw new MemberDown(`etcd crashed${exit} and was restarted by its supervisor`);
  };
}

/**
 * Polls `healthy` until it holds, watching the member's service meanwhile. A member that goes down
 * or does not get there in time fails with its last log lines; `stopOnFailure` then stops it, so
 * it is not left crash-looping (the next run sees it stopped and starts it again).
 */
async function waitWatched(
  ch: HostChannel,
  started: ServiceStatus | undefined,
  healthy: () => Promise<boolean>,
  options: { step: string; describe: string; intervalMs: number; stopOnFailure: boolean },
): Promise<void> {
  const check = crashCheck(ch, started);
  try {
    await waitFor(
      async () => {
        if (await healthy()) return true;
        await check();
        return false;
      },
      {
        deadlineMs: HEALTHY_DEADLINE_MS,
        intervalMs: options.intervalMs,
        describe: options.describe,
        isFatal: (err) => err instanceof MemberDown || (err instanceof TskvError && err.code !== 'E_TIMEOUT'),
        host: ch.spec.name,
      },
    );
  } catch (err) {
    // The host itself went away (SSH/agent), or the member left the cluster: that is the error, not etcd.
    if (err instanceof TskvError && err.code !== 'E_TIMEOUT') throw err;
    const what =
      err instanceof MemberDown
        ? `${err.message} after it was started`
        : `etcd did not become healthy within ${HEALTHY_DEADLINE_MS / 1000}s`;
    const failure = await startFailure(ch, options.step, what, err instanceof MemberDown ? undefined : err);
    if (options.stopOnFailure) await serviceCall(ch, 'stop').catch(() => undefined);
    throw failure;
  }
}

/** deploy: the member started (or restarted) as `started` answers /health (through the tunnel). */
export async function waitMemberHealthy(
  ch: HostChannel,
  endpoint: EtcdEndpoint,
  started: ServiceStatus,
  step: string,
): Promise<void> {
  const client = new EtcdClient(endpoint, { timeoutMs: 2000 });
  await waitWatched(
    ch,
    started,
    () =>
      client.health().then(
        (h) => h.healthy,
        () => false,
      ),
    { step, describe: `${ch.spec.name} to become healthy`, intervalMs: HEALTH_POLL_MS, stopOnFailure: true },
  );
}

/** The live view and the member on `host`; that member gone from the cluster ends the wait. */
async function viewWithMember(live: LiveCluster, host: string): Promise<{ view: LiveView; m: EtcdMember }> {
  const view = await live.view();
  const m = live.memberOnHost(view.members, host);
  if (!m) throw new TskvError('E_MEMBER_GONE', `${host} is no longer a member`, { host });
  return { view, m };
}

/**
 * The member on `host` (a learner, or a member just restarted) has started and applied the leader's
 * raft index as it was when first seen: a fixed target, so a cluster taking writes cannot keep it
 * out of reach. Not caught up in time fails the wait but leaves the member running: it is healthy,
 * only slow. `started`: the member's service status when it (re)started (default: asked now).
 */
export async function waitCaughtUp(
  live: LiveCluster,
  ch: HostChannel,
  progress: Progress = () => {},
  how: { started?: ServiceStatus; step?: string } = {},
): Promise<void> {
  const host = ch.spec.name;
  let target: number | undefined;
  await waitWatched(
    ch,
    how.started ?? (await serviceCall(ch, 'status')),
    async () => {
      const { view, m } = await viewWithMember(live, host);
      const leader = view.probes.find((p) => p.member.id === view.leaderId);
      const mine = view.probes.find((p) => p.member.id === m.id);
      // 3.4.23 promotes a learner that never started: it must have published its name first.
      if (!m.started || !mine?.status || !leader?.status) return false;
      target ??= leader.status.raftIndex;
      progress(`${host} has applied raft index ${mine.status.raftAppliedIndex} of ${target}`);
      return mine.status.raftAppliedIndex >= target;
    },
    {
      step: how.step ?? 'wait for the learner',
      describe: `${host} to start and catch up with the leader`,
      intervalMs: VIEW_POLL_MS,
      stopOnFailure: false,
    },
  );
}

/** The member on `host` is a started voter under its name, and every member is healthy. */
export async function waitAllHealthy(
  live: LiveCluster,
  ch: HostChannel,
  progress: Progress = () => {},
): Promise<void> {
  const host = ch.spec.name;
  await waitWatched(
    ch,
    await serviceCall(ch, 'status'),
    async () => {
      const { view, m } = await viewWithMember(live, host);
      const sick = unhealthyOthers(view, undefined, live.leaving);
      progress(
        `${view.members.length - sick.length} of ${view.members.length} members healthy${sick.length > 0 ? `; waiting for ${sick.join(', ')}` : ''}`,
      );
      return m.started && !m.isLearner && m.name === host && sick.length === 0;
    },
    {
      step: 'wait until healthy',
      describe: `${host} and every member to be healthy`,
      intervalMs: VIEW_POLL_MS,
      stopOnFailure: false,
    },
  );
}

/** Every member but `except` is healthy now; otherwise a refusal naming them. */
export async function checkOthersHealthy(
  live: LiveCluster,
  except: EtcdId | undefined,
  doing: string,
): Promise<void> {
  const sick = unhealthyOthers(await live.view(), except);
  if (sick.length > 0) {
    throw new TskvError(
      'E_UNHEALTHY',
      `not ${doing}: ${sick.join(', ')} ${sick.length > 1 ? 'are' : 'is'} not healthy, and a change now could lose quorum`,
      { fix: 'bring them back first (tskv status), then re-run: it resumes' },
    );
  }
}
