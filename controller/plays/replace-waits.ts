/** Waiting on the live cluster: a learner catching up, every member healthy. */
import { describeCause, TskvError } from '../errors.ts';
import type { EtcdId } from '../etcd/index.ts';
import { waitFor } from '../etcd/index.ts';
import { unhealthyOthers } from '../ops/cluster-view.ts';
import { type ServiceStatus, serviceCall, startFailure } from './deploy-service.ts';
import {
  CATCH_UP_DEADLINE_MS,
  channel,
  HEALTHY_DEADLINE_MS,
  memberAt,
  type StepContext,
} from './replace-context.ts';
import type { HostChannel } from './session.ts';

/** etcd on the host is not running, or was restarted by its supervisor: it will not catch up by waiting. */
async function serviceTrouble(
  ch: HostChannel,
  first: ServiceStatus | undefined,
): Promise<string | undefined> {
  const st = await serviceCall(ch, 'status');
  if (!st.running) return `etcd is not running on ${ch.spec.name}${st.lastExit ? ` (${st.lastExit})` : ''}`;
  // The pid, not startedAtMs: systemd's start time is recomputed (±1 ms) on every status.
  if (first?.pid != null && st.pid !== null && st.pid !== first.pid) {
    return `etcd on ${ch.spec.name} crashed and was restarted${st.lastExit ? ` (${st.lastExit})` : ''}`;
  }
  return undefined;
}

export async function waitCaughtUp(ctx: StepContext, host: string): Promise<void> {
  const ch = channel(ctx, host);
  const first = await serviceCall(ch, 'status');
  let target: number | undefined;
  let polls = 0;
  try {
    await waitFor(
      async () => {
        const view = await ctx.live.view();
        const m = memberAt(ctx, view.members, host);
        if (!m) throw new TskvError('E_LEARNER_GONE', `${host} is no longer a member`, { host });
        const leader = view.probes.find((p) => p.member.id === view.leaderId);
        const mine = view.probes.find((p) => p.member.id === m.id);
        // 3.4.23 promotes a learner that never started: it must have published its name first.
        if (m.started && mine?.status && leader?.status) {
          target ??= leader.status.raftIndex;
          if (mine.status.raftAppliedIndex >= target) return true;
        }
        if (polls++ % 5 === 4) {
          const trouble = await serviceTrouble(ch, first);
          if (trouble) throw new TskvError('E_LEARNER_DOWN', trouble, { host });
        }
        return false;
      },
      {
        deadlineMs: CATCH_UP_DEADLINE_MS,
        intervalMs: 200,
        describe: `${host} to start and catch up with the leader`,
        isFatal: (err) => err instanceof TskvError && ['E_LEARNER_GONE', 'E_LEARNER_DOWN'].includes(err.code),
        host,
      },
    );
  } catch (err) {
    if (err instanceof TskvError && err.code === 'E_LEARNER_GONE') throw err;
    throw await startFailure(ch, 'wait for the learner', describeCause(err));
  }
}

export async function checkOthersHealthy(ctx: StepContext, exceptId: EtcdId): Promise<void> {
  const sick = unhealthyOthers(await ctx.live.view(), exceptId);
  if (sick.length > 0) {
    throw new TskvError('E_UNHEALTHY', `not every other member is healthy: ${sick.join(', ')}`, {
      step: 'check members',
      fix: 'bring them back first (tskv status), then re-run: the replacement resumes',
    });
  }
}

export async function waitHealthy(ctx: StepContext, host: string): Promise<void> {
  await waitFor(
    async () => {
      const view = await ctx.live.view();
      const m = memberAt(ctx, view.members, host);
      return m?.started && !m.isLearner && m.name === host && unhealthyOthers(view, undefined).length === 0;
    },
    {
      deadlineMs: HEALTHY_DEADLINE_MS,
      intervalMs: 200,
      describe: `${host} and every member to be healthy`,
      host,
    },
  );
}
