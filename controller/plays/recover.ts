/**
 * `tskv recover`: what every reachable host says (the members, each one's raft index, the
 * survivor's env file, data left where etcd is down), the plan (ops/recover-plan.ts), and how its
 * own steps run; the rejoin steps are replace's (./replace-steps.ts).
 */
import { routes } from '../../agent/api/index.ts';
import { TskvError } from '../errors.ts';
import type { ClusterView } from '../ops/cluster-view.ts';
import { hasForceNewCluster, withForceNewCluster, withoutForceNewCluster } from '../ops/force-new-cluster.ts';
import {
  planRecover,
  type RecoverInput,
  type RecoverPlan,
  type RecoverStep,
  recoverJournalSchema,
} from '../ops/recover-plan.ts';
import type { ReplaceStep } from '../ops/replace-plan.ts';
import { hasQuorum } from '../ops/survivor.ts';
import type { Plan } from '../plan/plan.ts';
import { Journal, RECOVER_JOURNAL_KEY } from '../run/journal.ts';
import type { Progress, ProgressMode } from '../run/progress.ts';
import { type Executor, type RunResult, runPlan } from '../run/runner.ts';
import { readEnvFile, serviceCall, writeEnvFile } from './host-etcd.ts';
import type { LiveCluster } from './live-cluster.ts';
import { waitMemberHealthy } from './member-health.ts';
import { snapshotSurvivor } from './recover-snapshot.ts';
import { membershipExecutor } from './replace-steps.ts';

export interface RecoveryPlan extends Plan<RecoverStep> {
  plan: RecoverPlan;
}

/** The record a recovery keeps in etcd once its survivor serves alone. */
export const recoverJournal = (live: LiveCluster): Journal =>
  new Journal(() => live.cluster(), RECOVER_JOURNAL_KEY);

const NO_CLUSTER: ClusterView = { members: [], health: new Map(), leaderId: undefined };

/** The live cluster as the answering members see it; none answering is an empty view, not an error. */
async function viewOrEmpty(live: LiveCluster): Promise<ClusterView> {
  try {
    return await live.view();
  } catch (err) {
    if (err instanceof TskvError && err.code === 'E_NO_CLUSTER') return NO_CLUSTER;
    throw err;
  }
}

/** Asks every reachable host; the planner's input. */
export async function gatherRecover(live: LiveCluster, journal: Journal): Promise<RecoverInput> {
  const { session } = live;
  const inv = session.inventory;
  const view = await viewOrEmpty(live);
  const answered = new Set(
    [...view.health].filter(([, h]) => h.reachable).map(([id]) => view.members.find((m) => m.id === id)),
  );
  const channels = [...session.hosts.values()];
  const forceFlag = new Set<string>();
  const stoppedWithData = new Set<string>();
  await Promise.all(
    channels.map(async (ch) => {
      const host = ch.spec.name;
      if (hasForceNewCluster(await readEnvFile(ch))) forceFlag.add(host);
      const m = live.memberOnHost(view.members, host);
      if (m && answered.has(m)) return;
      const facts = await ch.agent.call(routes.facts, { dataDir: ch.spec.dataDir }, { step: 'facts' });
      if (facts.etcd.dataDir.hasData) stoppedWithData.add(host);
    }),
  );
  // Without quorum nothing can be read from etcd; with it, an earlier run's record tells a resume.
  const record = hasQuorum(view) ? await journal.read(recoverJournalSchema) : undefined;
  return {
    inv,
    view,
    connected: new Set(session.hosts.keys()),
    forceFlag,
    stoppedWithData,
    journal: record,
  };
}

/** The recovery's plan; `noSnapshot` drops the survivor's snapshot (a full disk may be the disaster itself). */
export async function planRecovery(
  live: LiveCluster,
  journal: Journal,
  noSnapshot = false,
): Promise<RecoveryPlan> {
  let plan = planRecover(await gatherRecover(live, journal));
  if (noSnapshot && plan.kind === 'steps')
    plan = { ...plan, steps: plan.steps.filter((s) => s.kind !== 'snapshot') };
  return { plan, steps: plan.kind === 'steps' ? plan.steps : [] };
}

/** Restarts the survivor alone with --force-new-cluster and waits until it serves as a one-member cluster. */
async function forceNewCluster(live: LiveCluster, host: string, progress: Progress): Promise<string[]> {
  const ch = live.channel(host);
  const env = await readEnvFile(ch);
  if (env === undefined) {
    throw new TskvError('E_RECOVER', `${host} has no etcd env file: tskv cannot restart its member`, {
      host,
      step: 'force a new cluster',
      fix: `the survivor must be a member tskv deployed; run tskv deploy only once ${host}'s member serves again`,
    });
  }
  await writeEnvFile(ch, withForceNewCluster(env));
  progress('restarting with --force-new-cluster');
  const started = await serviceCall(ch, 'restart');
  await waitMemberHealthy(ch, live.endpoint(host)!, started, 'force a new cluster');
  const list = await live.memberList();
  return [`${host} serves alone: ${list.members.length} member${list.members.length === 1 ? '' : 's'}`];
}

/** Takes --force-new-cluster out of the survivor's config and restarts it on its usual settings. */
async function dropForceFlag(live: LiveCluster, host: string): Promise<void> {
  const ch = live.channel(host);
  const env = await readEnvFile(ch);
  if (env !== undefined && hasForceNewCluster(env)) await writeEnvFile(ch, withoutForceNewCluster(env));
  const st = await serviceCall(ch, 'status');
  if (st.running && !st.stale) return;
  const restarted = await serviceCall(ch, st.running ? 'restart' : 'start');
  await waitMemberHealthy(ch, live.endpoint(host)!, restarted, 'restart without --force-new-cluster');
}

/** Recover's own steps; the rejoin steps go to replace's executor. */
export function recoverExecutor(live: LiveCluster): Executor<RecoverStep> {
  const membership = membershipExecutor(live);
  return async (step, progress) => {
    switch (step.kind) {
      case 'snapshot':
        return snapshotSurvivor(live, step.host);
      case 'stop-etcd':
        await serviceCall(live.channel(step.host), 'stop');
        return;
      case 'force-new-cluster':
        return forceNewCluster(live, step.host, progress);
      case 'drop-force-flag':
        return dropForceFlag(live, step.host);
      default:
        return membership(step as ReplaceStep, progress);
    }
  };
}

export function runRecovery(
  live: LiveCluster,
  journal: Journal,
  plan: RecoveryPlan,
  mode: ProgressMode,
  rerun: string,
  beforeEachStep?: () => void,
): Promise<RunResult> {
  return runPlan(plan, {
    mode,
    ...(beforeEachStep ? { beforeEachStep } : {}),
    execute: recoverExecutor(live),
    journal,
    onFailure: async (failures) => {
      const { step, error } = failures[0]!;
      return new TskvError(error.code, `recover stopped at "${step.title}"`, {
        ...(error.host ? { host: error.host } : {}),
        step: 'recover',
        fix: `no data dir was deleted; fix the cause, then re-run ${rerun}: it resumes from the live state`,
        cause: error,
      });
    },
  });
}
