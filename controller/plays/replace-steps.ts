import type { FactsResponse } from '../../agent/api/index.ts';
/** Each replacement step against the live cluster and the hosts' agents (see ops/replace-plan.ts for the order). */
import { describeCause, TskvError } from '../errors.ts';
import {
  EtcdCluster,
  type EtcdId,
  type EtcdMember,
  isEtcdError,
  retryWhile,
  waitFor,
} from '../etcd/index.ts';
import { unhealthyOthers } from '../ops/cluster-view.ts';
import type { ReplaceStep } from '../ops/replace-plan.ts';
import { peerUrl } from '../render/urls.ts';
import { type ServiceStatus, serviceCall, startFailure } from './deploy-service.ts';
import type { LiveCluster, LiveView } from './member-cluster.ts';
import { prepareHost, retireHost, startJoiningMember } from './member-host.ts';
import type { HostChannel } from './session.ts';

/** How long a learner may take to start and catch up before it is called stuck (and removed). */
export const CATCH_UP_DEADLINE_MS = 60_000;
const CHANGE_DEADLINE_MS = 20_000;
const HEALTHY_DEADLINE_MS = 60_000;

export interface StepContext {
  live: LiveCluster;
  /** Lines for the operator (warnings, what changed). */
  note: (line: string) => void;
  /** Hosts prepared in this run (etcd installed, ports open), with their facts. */
  prepared: Map<string, FactsResponse>;
}

export function stepContext(live: LiveCluster, note: (line: string) => void): StepContext {
  return { live, note, prepared: new Map() };
}

const temporaryRefusal = (err: unknown): boolean =>
  isEtcdError(err) && (err.isUnhealthyCluster() || err.isLearnerNotReady() || err.isUnavailable());

/** A client over the healthy voters only: membership changes go to a voting member that can serve them. */
function votersCluster(ctx: StepContext, view: LiveView, except?: EtcdId): EtcdCluster {
  const endpoints = view.probes
    .filter((p) => !p.member.isLearner && p.health.healthy && p.member.id !== except && p.host)
    .map((p) => ctx.live.endpoint(p.host!)!)
    .filter((e) => e !== undefined);
  if (endpoints.length === 0) {
    throw new TskvError('E_NO_VOTER', 'no healthy voting member is reachable', {
      step: 'membership change',
      fix: 'tskv status shows which members are down',
    });
  }
  return new EtcdCluster(endpoints, { timeoutMs: 10_000 });
}

function channel(ctx: StepContext, host: string): HostChannel {
  const ch = ctx.live.session.hosts.get(host);
  if (!ch) {
    throw new TskvError('E_HOST_UNREACHABLE', `${host} is not reachable over SSH`, {
      host,
      fix: `check that ${host} is up, then re-run the same command: it resumes`,
    });
  }
  return ch;
}

function memberAt(ctx: StepContext, members: EtcdMember[], host: string): EtcdMember | undefined {
  const spec = ctx.live.session.inventory.hosts.find((h) => h.name === host);
  if (!spec) return undefined;
  const url = peerUrl(spec, ctx.live.session.inventory);
  return members.find((m) => m.peerURLs.includes(url));
}

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

async function clearHost(ctx: StepContext, step: Extract<ReplaceStep, { op: 'clear-host' }>): Promise<void> {
  const list = await ctx.live.memberList();
  const there = memberAt(ctx, list.members, step.host);
  if (there?.started) {
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

/** etcd on the host is not running, or was restarted by its supervisor: it will not catch up by waiting. */
async function serviceTrouble(
  ch: HostChannel,
  first: ServiceStatus | undefined,
): Promise<string | undefined> {
  const st = await serviceCall(ch, 'status');
  if (!st.running) return `etcd is not running on ${ch.spec.name}${st.lastExit ? ` (${st.lastExit})` : ''}`;
  if (first?.startedAtMs != null && st.startedAtMs !== first.startedAtMs) {
    return `etcd on ${ch.spec.name} crashed and was restarted${st.lastExit ? ` (${st.lastExit})` : ''}`;
  }
  return undefined;
}

async function waitCaughtUp(ctx: StepContext, host: string): Promise<void> {
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
  await ctx.live.cluster().moveLeader(target.member.id);
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

async function checkOthersHealthy(ctx: StepContext, exceptId: EtcdId): Promise<void> {
  const sick = unhealthyOthers(await ctx.live.view(), exceptId);
  if (sick.length > 0) {
    throw new TskvError('E_UNHEALTHY', `not every other member is healthy: ${sick.join(', ')}`, {
      step: 'check members',
      fix: 'bring them back first (tskv status), then re-run: the replacement resumes',
    });
  }
}

async function waitHealthy(ctx: StepContext, host: string): Promise<void> {
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
