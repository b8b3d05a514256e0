/**
 * `tskv member add|remove` as plans of membership steps (the same steps replace runs), made from
 * the live cluster and, for a host about to be cleared, its facts. Re-running after an interruption
 * plans what is left: an added member that never started is started, a removed member's host that
 * still holds its data is cleared.
 */

import { routes } from '../../agent/api/index.ts';
import { TskvError } from '../errors.ts';
import type { HostSpec } from '../inventory/model.ts';
import { tlsOn } from '../inventory/tls.ts';
import { checkAdd, checkRemove, type Verdict } from '../ops/member-plan.ts';
import { memberAt } from '../ops/membership.ts';
import { oldDataDirs, type ReplaceStep, replaceSteps } from '../ops/replace-plan.ts';
import { snapshotHost, snapshotStep } from '../ops/snapshot-step.ts';
import type { Plan } from '../plan/plan.ts';
import { peerUrl } from '../render/urls.ts';
import type { Question } from '../run/apply.ts';
import type { LiveCluster } from './live-cluster.ts';
import { refuseNoSnapshotRoom } from './snapshot-step-run.ts';

export interface MemberPlan extends Plan<ReplaceStep> {
  /** Said instead of a plan when there is nothing to do. */
  nothing?: string;
  /** Asked before running, when the plan stops or moves something the operator may not expect. */
  question?: Question;
  warnings: string[];
}

function accept<T>(v: Verdict<T>, what: string): T {
  if (v.ok) return v.value;
  throw new TskvError('E_REFUSED', `${what} refused, nothing was changed: ${v.reason}`, {
    step: 'plan',
    ...(v.fix ? { fix: v.fix } : {}),
  });
}

/** One membership change at a time: a replacement in progress owns the cluster until it ends. */
async function refuseDuringReplacement(live: LiveCluster, what: string): Promise<void> {
  await live.refuseDuringRecovery(what);
  if (await live.readJournal()) {
    throw new TskvError('E_REFUSED', `${what} refused, nothing was changed: a replacement is in progress`, {
      step: 'plan',
      fix: 'tskv status shows it; re-run that tskv replace command to finish it first',
    });
  }
}

/** What clearing a host for a new member would stop or move, from its facts ([] when nothing). */
async function whatClearingStops(live: LiveCluster, host: HostSpec): Promise<string[]> {
  const ch = live.session.hosts.get(host.name);
  if (!ch) return [];
  const facts = await ch.agent.call(routes.facts, { dataDir: host.dataDir }, { step: 'facts' });
  return [
    ...(facts.etcd.running.length > 0
      ? [`stop the etcd running on ${host.name} (pid ${facts.etcd.running.map((p) => p.pid).join(', ')})`]
      : []),
    ...(facts.etcd.dataDir.hasData ? [`move the etcd data in ${host.dataDir} aside`] : []),
  ];
}

export async function planMemberAdd(
  live: LiveCluster,
  name: string,
  options: { start: boolean; rerun: string },
): Promise<MemberPlan> {
  await refuseDuringReplacement(live, 'member add');
  const inv = live.session.inventory;
  const target = accept(checkAdd(inv, await live.view(), name), `member add ${name}`);
  if (target.kind === 'already') {
    return { steps: [], warnings: [], nothing: `${name} is already a member (${target.member.idHex})` };
  }
  const s = replaceSteps;
  const steps: ReplaceStep[] = [];
  let question: Question | undefined;
  if (options.start && target.kind === 'add') {
    // Something of etcd's already on the host (another cluster's?) is never stopped without asking.
    const disruptive = await whatClearingStops(live, target.host);
    if (disruptive.length > 0) question = { what: disruptive.join(' and '), rerun: `${options.rerun} --yes` };
    // The host is made ready before the cluster changes: a voter that cannot start costs fault tolerance.
    steps.push(s.clearHost(name, [target.host.dataDir], 'a fresh data dir'));
  }
  // Added already (an interrupted run): its etcd may have joined raft before publishing its
  // name, so what is on its host stays; it is (re)started.
  if (options.start) steps.push(s.prepareHost(name, inv));
  if (target.kind === 'add' && tlsOn(inv)) steps.push(s.letIn(target.host, inv));
  if (target.kind === 'add') steps.push(s.addMember(name, [peerUrl(target.host, inv)], false));
  if (options.start) steps.push(s.startMember(name), s.waitHealthy(name));
  return { steps, warnings: [], ...(question ? { question } : {}) };
}

export async function planMemberRemove(
  live: LiveCluster,
  nameOrId: string,
  rerun: string,
  /** A snapshot first, on a healthy member staying (absent: --no-snapshot). */
  snapshot?: { keep: number },
): Promise<MemberPlan> {
  await refuseDuringReplacement(live, 'member remove');
  const inv = live.session.inventory;
  const view = await live.view();
  const host = inv.hosts.find((h) => h.name === nameOrId);
  if (host && !view.members.some((m) => m.name === nameOrId || m.idHex === nameOrId)) {
    // Removed by an interrupted run whose host still holds the member's data: finish clearing it.
    const left = memberAt(inv, view.members, host) ? [] : await whatClearingStops(live, host);
    if (left.length === 0)
      return { steps: [], warnings: [], nothing: `${nameOrId} is not a member: nothing to do` };
    return {
      steps: [replaceSteps.clearHost(host.name, oldDataDirs(host.name, host), `${nameOrId} was removed`)],
      warnings: [],
      question: { what: left.join(' and '), rerun: `${rerun} --yes` },
    };
  }
  const { member, host: at } = accept(checkRemove(inv, view, nameOrId), `member remove ${nameOrId}`);
  const label = member.name || member.idHex;
  const s = replaceSteps;
  const snapAt = snapshot && snapshotHost(inv, view, [member.id]);
  const steps: ReplaceStep[] = [
    ...(snapAt ? [snapshotStep(snapAt, snapshot.keep)] : []),
    s.moveLeaderAway(member.id, label),
    s.removeMember(member.id, label),
    ...(at ? [s.clearHost(at.name, oldDataDirs(member.name || at.name, at), `${label} was removed`)] : []),
  ];
  await refuseNoSnapshotRoom(live.session, steps);
  return {
    steps,
    warnings: at ? [] : [`no inventory host has ${label}'s address: stop etcd there by hand`],
    question: { what: `remove ${label} from the cluster`, rerun: `${rerun} --yes` },
  };
}
