/**
 * How each membership step runs against the live cluster and the hosts' agents (replace's and
 * member add/remove's; ops/replace-plan.ts orders them). Every step looks at the live cluster
 * first, so running it again after an interruption does no harm.
 */

import type { FactsResponse } from '../../agent/api/index.ts';
import { TskvError } from '../errors.ts';
import {
  EtcdClient,
  EtcdCluster,
  type EtcdEndpoint,
  type EtcdId,
  type EtcdMember,
  isEtcdError,
} from '../etcd/index.ts';
import type { ReplaceStep } from '../ops/replace-plan.ts';
import type { Executor } from '../run/runner.ts';
import { retryWhile, waitFor } from '../wait.ts';
import { clusterExposure, letMemberIn } from './firewall.ts';
import { placeMemberTls, prepareHost, retireHost, startJoiningMember } from './host-etcd.ts';
import type { LiveCluster, LiveView } from './live-cluster.ts';
import { checkOthersHealthy, waitAllHealthy, waitCaughtUp } from './member-health.ts';
import { runSnapshotStep } from './snapshot-step-run.ts';

/** How long etcd may refuse a membership change as temporary ("unhealthy cluster" just after a start). */
const CHANGE_DEADLINE_MS = 20_000;

const temporaryRefusal = (err: unknown): boolean =>
  isEtcdError(err) && (err.isUnhealthyCluster() || err.isLearnerNotReady() || err.isUnavailable());

/** A client over the healthy voters only: membership changes go to a voting member that can serve them. */
function votersCluster(live: LiveCluster, view: LiveView, except?: EtcdId): EtcdCluster {
  const endpoints = view.probes
    .filter((p) => !p.member.isLearner && p.health.healthy && p.member.id !== except)
    .map((p) => live.memberEndpoint(p.member))
    .filter((e): e is EtcdEndpoint => e !== undefined);
  if (endpoints.length === 0) {
    throw new TskvError('E_NO_VOTER', 'no healthy voting member is reachable', {
      step: 'membership change',
      fix: 'tskv status shows which members are down',
    });
  }
  return new EtcdCluster(endpoints, { timeoutMs: 10_000 });
}

/**
 * A started member at `host`, as the other hosts' members see the cluster. The member running on
 * `host` itself answers a member list from its own view, and right after its removal it does not
 * know yet; any other witness may be behind too (or be a stray member of an earlier attempt), so
 * every other host that answers must see no started member there. They apply a removal within
 * moments: they are asked until they agree, or the deadline passes.
 */
export async function startedMemberAt(
  live: LiveCluster,
  host: string,
  deadlineMs = 5000,
): Promise<EtcdMember | undefined> {
  const witnesses = [...live.session.hosts.keys()]
    .filter((h) => h !== host)
    .map((h) => live.endpoint(h))
    .filter((e): e is EtcdEndpoint => e !== undefined)
    .map((e) => new EtcdClient(e, { timeoutMs: 3000 }));
  const look = async (): Promise<EtcdMember | undefined> => {
    const views =
      witnesses.length === 0
        ? [await live.memberList()]
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
    return views.map((v) => live.memberOnHost(v.members, host)).find((m) => m?.started);
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

/** Runs membership steps; `prepared` remembers the hosts this run made ready (etcd installed, ports open). */
export function membershipExecutor(live: LiveCluster): Executor<ReplaceStep> {
  const prepared = new Map<string, FactsResponse>();
  /** The host's facts, and what preparing it did (nothing when it was prepared earlier in this run). */
  const prepare = async (host: string): Promise<{ facts: FactsResponse; actions: string[] }> => {
    const known = prepared.get(host);
    if (known) return { facts: known, actions: [] };
    const ch = live.channel(host);
    const inv = live.session.inventory;
    // The live members count as members too: the one leaving still talks to the others.
    const relay = live.session.relay;
    const { facts, actions } = await prepareHost(
      ch,
      inv,
      await clusterExposure(inv, (await live.memberList()).members),
      // The tarball from a member's cache rather than over the controller's link.
      relay && { relay, holders: [...live.session.hosts.values()].filter((other) => other !== ch) },
    );
    // Before the member is added: a certificate that cannot be issued stops the run while the
    // cluster is unchanged.
    const tls = await placeMemberTls(ch, live.session.inventory);
    prepared.set(host, facts);
    return { facts, actions: [...actions, ...tls] };
  };

  return async (step, progress) => {
    switch (step.kind) {
      case 'record':
      case 'clear-record':
        throw new Error(`${step.kind} is the runner's`);
      case 'check-others-healthy':
        return checkOthersHealthy(live, step.exceptId, 'changing the membership');
      case 'snapshot':
        return runSnapshotStep(live.session, step);
      case 'add-member': {
        const view = await live.view();
        if (live.memberOnHost(view.members, step.host)) return; // an earlier attempt got through
        const voters = votersCluster(live, view);
        try {
          await retryWhile(() => voters.memberAdd(step.peerURLs, step.learner), temporaryRefusal, {
            deadlineMs: CHANGE_DEADLINE_MS,
            intervalMs: 250,
            describe: `etcd to accept ${step.host} as a ${step.learner ? 'learner' : 'member'}`,
          });
        } catch (err) {
          // A timed-out add may still have been applied: the member list decides.
          if (!live.memberOnHost((await live.memberList()).members, step.host)) throw err;
        }
        // The member list can come from a member that has not applied the add yet.
        await waitFor(async () => live.memberOnHost((await live.memberList()).members, step.host), {
          deadlineMs: 10_000,
          intervalMs: 200,
          describe: `${step.host} to appear in the member list`,
        });
        return;
      }
      case 'clear-host': {
        const there = await startedMemberAt(live, step.host);
        if (there) {
          throw new TskvError(
            'E_LIVE_MEMBER',
            `not touching ${step.host}: member ${there.name} (${there.idHex}) still runs there`,
            { host: step.host, step: 'clear host' },
          );
        }
        const ch = live.session.hosts.get(step.host);
        if (!ch) {
          return [
            `warning: ${step.host} is not reachable: stop etcd there and move ${step.dataDirs.join(', ')} aside by hand`,
          ];
        }
        return (await retireHost(ch, step.dataDirs)).map((to) => `data dir moved aside to ${to}`);
      }
      case 'prepare-host':
        return (await prepare(step.host)).actions;
      case 'let-in':
        return letMemberIn(live, step.host);
      case 'start-member': {
        const { facts } = await prepare(step.host);
        const list = await live.memberList();
        const started = await startJoiningMember(
          live.channel(step.host),
          live.session.inventory,
          list.members,
          facts,
        );
        progress(`started (pid ${started.pid ?? '?'})`);
        return;
      }
      case 'wait-caught-up':
        return waitCaughtUp(live, live.channel(step.host), progress);
      case 'promote':
        return promote(live, step.host);
      case 'move-leader-away':
        return moveLeaderAway(live, step.id, step.name);
      case 'remove-member':
        return removeMember(live, step.id, step.name);
      case 'wait-healthy':
        return waitAllHealthy(live, live.channel(step.host), progress);
    }
  };
}

async function promote(live: LiveCluster, host: string): Promise<void> {
  const view = await live.view();
  const m = live.memberOnHost(view.members, host);
  if (!m) throw new TskvError('E_MEMBER_GONE', `${host} is no longer a member`, { host });
  if (!m.isLearner) return;
  if (!m.started) throw new TskvError('E_NOT_STARTED', `${host} has not started: not promoting it`, { host });
  try {
    await retryWhile(() => votersCluster(live, view).memberPromote(m.id), temporaryRefusal, {
      deadlineMs: CHANGE_DEADLINE_MS,
      intervalMs: 250,
      describe: `etcd to promote ${host}`,
    });
  } catch (err) {
    if (isEtcdError(err) && err.isMemberNotLearner()) return;
    throw err;
  }
}

/** Hands leadership to the healthy voter furthest along, when member `id` leads (replace; rolling restarts). */
export async function moveLeaderAway(
  live: LiveCluster,
  id: EtcdId,
  name: string,
): Promise<string[] | undefined> {
  const view = await live.view();
  if (view.leaderId !== id) return;
  const target = view.probes
    .filter((p) => p.member.id !== id && !p.member.isLearner && p.health.healthy)
    .sort((a, b) => (b.health.raftIndex ?? 0) - (a.health.raftIndex ?? 0))[0];
  if (!target) return [`warning: ${name} leads and no other voter is healthy: it is removed as the leader`];
  // Sent to the leader where it answers, which is not through the inventory when the inventory no
  // longer names its host (OLD may be gone from it).
  const endpoint = live.memberEndpoint(view.members.find((m) => m.id === id)!);
  if (!endpoint) {
    throw new TskvError('E_ETCD_NO_LEADER', `cannot reach ${name}, the leader, to hand leadership over`, {
      step: 'move leader',
      fix: 'check that the connected hosts can reach its client URL, then re-run: it resumes',
    });
  }
  await new EtcdClient(endpoint, { timeoutMs: 10_000 }).moveLeader(target.member.id);
  await waitFor(async () => (await live.view()).leaderId !== id, {
    deadlineMs: 10_000,
    intervalMs: 100,
    describe: `leadership to move away from ${name}`,
  });
  return [`leadership moved from ${name} to ${target.member.name}`];
}

async function removeMember(live: LiveCluster, id: EtcdId, name: string): Promise<void> {
  const view = await live.view();
  if (!view.members.some((m) => m.id === id)) return;
  try {
    await retryWhile(() => votersCluster(live, view, id).memberRemove(id), temporaryRefusal, {
      deadlineMs: CHANGE_DEADLINE_MS,
      intervalMs: 250,
      describe: `etcd to remove ${name}`,
    });
  } catch (err) {
    if ((await live.memberList()).members.some((m) => m.id === id)) throw err;
  }
}
