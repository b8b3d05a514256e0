/** Each replacement step against the live cluster and the hosts' agents (see ops/replace-plan.ts for the order). */
import type { FactsResponse } from '../../agent/api/index.ts';
import { TskvError } from '../errors.ts';
import {
  EtcdClient,
  type EtcdEndpoint,
  type EtcdId,
  type EtcdMember,
  isEtcdError,
  retryWhile,
  waitFor,
} from '../etcd/index.ts';
import type { ReplaceStep } from '../ops/replace-plan.ts';
import { prepareHost, retireHost, startJoiningMember } from './member-host.ts';
import {
  CHANGE_DEADLINE_MS,
  channel,
  memberAt,
  type StepContext,
  temporaryRefusal,
  votersCluster,
} from './replace-context.ts';
import { checkOthersHealthy, waitCaughtUp, waitHealthy } from './replace-waits.ts';

export { type StepContext, stepContext } from './replace-context.ts';

async function addMember(ctx: StepContext, step: Extract<ReplaceStep, { op: 'add-member' }>): Promise<void> {
  const view = await ctx.live.view();
  if (memberAt(ctx, view.members, step.host)) return; // an earlier attempt got through
  const voters = votersCluster(ctx, view);
  try {
    await retryWhile(() => voters.memberAdd(step.peerURLs, step.learner), temporaryRefusal, {
      deadlineMs: CHANGE_DEADLINE_MS,
      intervalMs: 250,
      describe: `etcd to accept ${step.host} as a ${step.learner ? 'learner' : 'member'}`,
    });
  } catch (err) {
    // A timed-out add may still have been applied: the member list decides.
    const again = await ctx.live.memberList();
    if (!memberAt(ctx, again.members, step.host)) throw err;
  }
}

/**
 * A started member at `host`, as the other hosts' members see the cluster. The member running on
 * `host` itself answers a member list from its own view, and right after its removal it does not
 * know yet; any other witness may be behind too (or be a stray member of an earlier attempt), so
 * every other host that answers must see no started member there. They apply a removal within
 * moments: they are asked until they agree, or the deadline passes.
 */
export async function startedMemberAt(
  ctx: StepContext,
  host: string,
  deadlineMs = 5000,
): Promise<EtcdMember | undefined> {
  const witnesses = [...ctx.live.session.hosts.keys()]
    .filter((h) => h !== host)
    .map((h) => ctx.live.endpoint(h))
    .filter((e): e is EtcdEndpoint => e !== undefined)
    .map((e) => new EtcdClient(e, { timeoutMs: 3000 }));
  const look = async (): Promise<EtcdMember | undefined> => {
    const views =
      witnesses.length === 0
        ? [await ctx.live.memberList()]
        : (await Promise.allSettled(witnesses.map((w) => w.memberList())))
            .filter((r) => r.status === 'fulfilled')
            .map((r) => r.value);
    if (views.length === 0) {
      throw new TskvError('E_NO_CLUSTER', `no member other than ${host}'s answered the member list`, {
        host,
        step: 'clear host',
        fix: 'tskv status shows which members are down; re-run the same command once they are back',
      });
    }
    return views.map((v) => memberAt(ctx, v.members, host)).find((m) => m?.started);
  };
  let seen: EtcdMember | undefined;
  try {
    await waitFor(
      async () => {
        seen = await look();
        return seen === undefined;
      },
      {
        deadlineMs,
        intervalMs: 100,
        describe: `the member on ${host} to leave the member list`,
        isFatal: (err) => err instanceof TskvError && err.code === 'E_NO_CLUSTER',
      },
    );
    return undefined;
  } catch (err) {
    if (err instanceof TskvError && err.code === 'E_NO_CLUSTER') throw err;
    return seen; // what the last look saw: no need to ask everyone once more
  }
}

async function clearHost(ctx: StepContext, step: Extract<ReplaceStep, { op: 'clear-host' }>): Promise<void> {
  const there = await startedMemberAt(ctx, step.host);
  if (there) {
    throw new TskvError(
      'E_LIVE_MEMBER',
      `not touching ${step.host}: member ${there.name} (${there.idHex}) still runs there`,
      { host: step.host, step: 'clear host' },
    );
  }
  const ch = ctx.live.session.hosts.get(step.host);
  if (!ch) {
    ctx.note(
      `warning: ${step.host} is not reachable: stop etcd there and move ${step.dataDirs.join(', ')} aside by hand`,
    );
    return;
  }
  for (const to of await retireHost(ch, step.dataDirs))
    ctx.note(`${step.host}: data dir moved aside to ${to}`);
}

async function prepare(ctx: StepContext, host: string): Promise<FactsResponse> {
  const known = ctx.prepared.get(host);
  if (known) return known;
  const facts = await prepareHost(channel(ctx, host), ctx.live.session.inventory);
  ctx.prepared.set(host, facts);
  return facts;
}

async function startMember(ctx: StepContext, host: string): Promise<void> {
  const facts = await prepare(ctx, host);
  const list = await ctx.live.memberList();
  await startJoiningMember(channel(ctx, host), ctx.live.session.inventory, list.members, facts);
}

async function promote(ctx: StepContext, host: string): Promise<void> {
  const view = await ctx.live.view();
  const m = memberAt(ctx, view.members, host);
  if (!m) throw new TskvError('E_LEARNER_GONE', `${host} is no longer a member`, { host });
  if (!m.isLearner) return;
  if (!m.started) throw new TskvError('E_NOT_STARTED', `${host} has not started: not promoting it`, { host });
  const voters = votersCluster(ctx, view);
  try {
    await retryWhile(() => voters.memberPromote(m.id), temporaryRefusal, {
      deadlineMs: CHANGE_DEADLINE_MS,
      intervalMs: 250,
      describe: `etcd to promote ${host}`,
    });
  } catch (err) {
    if (isEtcdError(err) && err.isMemberNotLearner()) return;
    throw err;
  }
}

async function moveLeaderAway(ctx: StepContext, id: EtcdId, name: string): Promise<void> {
  const view = await ctx.live.view();
  if (view.leaderId !== id) return;
  const target = view.probes
    .filter((p) => p.member.id !== id && !p.member.isLearner && p.health.healthy)
    .sort((a, b) => (b.health.raftIndex ?? 0) - (a.health.raftIndex ?? 0))[0];
  if (!target) {
    ctx.note(`warning: ${name} leads and no other voter is healthy: it is removed as the leader`);
    return;
  }
  // Sent to the leader where it answers, which is not through the inventory when the inventory no
  // longer names its host (OLD may be gone from it).
  const leader = view.members.find((m) => m.id === id)!;
  const endpoint = ctx.live.memberEndpoint(leader);
  if (!endpoint) {
    throw new TskvError('E_ETCD_NO_LEADER', `cannot reach ${name}, the leader, to hand leadership over`, {
      step: 'move leader',
      fix: 'check that the connected hosts can reach its client URL, then re-run: the replacement resumes',
    });
  }
  await new EtcdClient(endpoint, { timeoutMs: 10_000 }).moveLeader(target.member.id);
  await waitFor(async () => (await ctx.live.view()).leaderId !== id, {
    deadlineMs: 10_000,
    intervalMs: 100,
    describe: `leadership to move away from ${name}`,
  });
  ctx.note(`leadership moved from ${name} to ${target.member.name}`);
}

async function removeMember(ctx: StepContext, id: EtcdId, name: string): Promise<void> {
  const view = await ctx.live.view();
  if (!view.members.some((m) => m.id === id)) return;
  const voters = votersCluster(ctx, view, id);
  try {
    await retryWhile(() => voters.memberRemove(id), temporaryRefusal, {
      deadlineMs: CHANGE_DEADLINE_MS,
      intervalMs: 250,
      describe: `etcd to remove ${name}`,
    });
  } catch (err) {
    const again = await ctx.live.memberList();
    if (again.members.some((m) => m.id === id)) throw err;
  }
}

export async function runStep(ctx: StepContext, step: ReplaceStep): Promise<void> {
  switch (step.op) {
    case 'write-journal':
      return ctx.live.writeJournal(step.journal);
    case 'check-others-healthy':
      return checkOthersHealthy(ctx, step.exceptId);
    case 'add-member':
      return addMember(ctx, step);
    case 'clear-host':
      return clearHost(ctx, step);
    case 'prepare-host':
      await prepare(ctx, step.host);
      return;
    case 'start-member':
      return startMember(ctx, step.host);
    case 'wait-caught-up':
      return waitCaughtUp(ctx, step.host);
    case 'promote':
      return promote(ctx, step.host);
    case 'move-leader-away':
      return moveLeaderAway(ctx, step.id, step.name);
    case 'remove-member':
      return removeMember(ctx, step.id, step.name);
    case 'wait-healthy':
      return waitHealthy(ctx, step.host);
    case 'clear-journal':
      return ctx.live.clearJournal();
  }
}
