/**
 * `tskv replace`: every pair's steps in one plan (each pair planned against the cluster the one
 * before it leaves), run by the runner with the replacement's journal. A learner that fails before
 * its promotion is rolled back (removed, its host cleared) rather than left behind; any other
 * failure leaves the journal, so re-running the same command resumes.
 */

import { describeCause, TskvError } from '../errors.ts';
import type { Inventory } from '../inventory/model.ts';
import type { ClusterView } from '../ops/cluster-view.ts';
import {
  planReplace,
  type ReplaceJournal,
  type ReplacePair,
  type ReplacePlan,
  type ReplaceStep,
} from '../ops/replace-plan.ts';
import { afterReplace } from '../ops/replace-simulate.ts';
import { snapshotHost, snapshotStep } from '../ops/snapshot-step.ts';
import type { Plan } from '../plan/plan.ts';
import { peerUrl } from '../render/urls.ts';
import type { ProgressMode } from '../run/progress.ts';
import { type RunResult, runPlan, type StepFailure, type StepRecord } from '../run/runner.ts';
import type { LiveCluster } from './live-cluster.ts';
import { membershipExecutor } from './replace-steps.ts';
import { refuseNoSnapshotRoom } from './snapshot-step-run.ts';

export type StepsPlan = Extract<ReplacePlan, { kind: 'steps' }>;

/** Every pair's plan, and their steps as one list. */
export interface ReplacementPlan extends Plan<ReplaceStep> {
  pairs: ReplacePlan[];
  /** For each step, the index of its pair. */
  pairOf: number[];
}

export interface PairResult {
  old: string;
  new: string;
  mode: StepsPlan['mode'];
  resumed: boolean;
  ms: number;
  steps: StepRecord[];
  notes: string[];
}

/**
 * Plans every pair: the first against the live cluster, each next one against the cluster the
 * previous leaves. An interrupted run's journal belongs to the pair it names.
 */
export function planAll(
  inv: Inventory,
  view: ClusterView,
  pairs: ReplacePair[],
  journal: ReplaceJournal | undefined,
): ReplacePlan[] {
  const owner = pairs.findIndex((p) => journal && planReplace(inv, view, p, journal).kind !== 'refuse');
  const plans: ReplacePlan[] = [];
  let current = view;
  for (const [i, pair] of pairs.entries()) {
    const plan = planReplace(inv, current, pair, i === owner || owner < 0 ? journal : undefined);
    plans.push(plan);
    if (plan.kind === 'refuse') break;
    if (plan.kind === 'steps') current = afterReplace(inv, current, plan);
  }
  return plans;
}

/**
 * Every pair's plan; the first pair that starts afresh begins with a snapshot on a healthy member
 * other than the one it replaces (`snapshot` absent: --no-snapshot).
 */
export async function planReplacements(
  live: LiveCluster,
  pairs: ReplacePair[],
  snapshot?: { keep: number },
): Promise<ReplacementPlan> {
  await live.refuseDuringRecovery('replace');
  const view = await live.view();
  const plans = planAll(live.session.inventory, view, pairs, await live.readJournal());
  const fresh = plans.findIndex((p) => p.kind === 'steps' && !p.resumed);
  const first = plans[fresh];
  if (snapshot && first?.kind === 'steps') {
    const host = snapshotHost(live.session.inventory, view, [first.oldId]);
    if (host) plans[fresh] = { ...first, steps: [snapshotStep(host, snapshot.keep), ...first.steps] };
  }
  const steps: ReplaceStep[] = [];
  const pairOf: number[] = [];
  plans.forEach((p, i) => {
    if (p.kind !== 'steps') return;
    steps.push(...p.steps);
    pairOf.push(...p.steps.map(() => i));
  });
  await refuseNoSnapshotRoom(live.session, steps);
  return { pairs: plans, steps, pairOf };
}

const LEARNER_PHASE = new Set<ReplaceStep['kind']>([
  'add-member',
  'clear-host',
  'prepare-host',
  'start-member',
  'wait-caught-up',
  'promote',
]);

/** Removes NEW while it is still a learner, clears its host and the journal. Returns what it did. */
async function rollBackLearner(live: LiveCluster, plan: StepsPlan): Promise<string> {
  const inv = live.session.inventory;
  const host = inv.hosts.find((h) => h.name === plan.pair.new)!;
  const url = peerUrl(host, inv);
  const learner = (await live.memberList()).members.find((m) => m.peerURLs.includes(url));
  if (learner && !learner.isLearner) return 'not rolled back: it was already promoted (re-run to finish)';
  const execute = membershipExecutor(live);
  const progress = () => {};
  if (learner) {
    await execute({ kind: 'remove-member', id: learner.id, name: plan.pair.new, title: '' }, progress);
  }
  await execute(
    { kind: 'clear-host', host: host.name, dataDirs: [host.dataDir], why: 'rolling back', title: '' },
    progress,
  );
  await live.journal.clear();
  return `rolled back: ${plan.pair.new} ${learner ? 'was removed as a learner and ' : ''}its host was cleared; ${plan.oldName} is still a member`;
}

/** What a failed step leaves behind, said as the fix: nothing changed, rolled back, or re-run to resume. */
async function afterFailure(
  live: LiveCluster,
  plan: ReplacementPlan,
  failure: StepFailure<ReplaceStep>,
): Promise<TskvError> {
  const pairPlan = plan.pairs[plan.pairOf[failure.index]!] as StepsPlan;
  const before = plan.steps
    .slice(0, failure.index)
    .filter((_, i) => plan.pairOf[i] === plan.pairOf[failure.index]);
  // The failed step counts too: an add or a removal that timed out may have been applied.
  const changed = [...before, failure.step].some(
    (s) => s.kind === 'add-member' || s.kind === 'remove-member',
  );
  let outcome = 're-run the same command to resume';
  if (!pairPlan.resumed && !changed) {
    // Nothing in the cluster changed yet: forget the attempt, so another command is not blocked.
    outcome = await live.journal.clear().then(
      () => 'nothing in the cluster was changed',
      () => outcome,
    );
  } else if (pairPlan.mode === 'learner' && LEARNER_PHASE.has(failure.step.kind)) {
    try {
      outcome = await rollBackLearner(live, pairPlan);
    } catch (err) {
      outcome = `rolling back failed too (${describeCause(err)}): re-run the same command`;
    }
  }
  const base = failure.error;
  return new TskvError(
    base.code,
    `replacing ${pairPlan.oldName} with ${pairPlan.pair.new} stopped at "${failure.step.title}"`,
    { ...(base.host ? { host: base.host } : {}), step: 'replace', fix: outcome, cause: base },
  );
}

/** Runs the plan; each pair's result (time, steps, notes), or the error a failed step left. */
export async function runReplacements(
  live: LiveCluster,
  plan: ReplacementPlan,
  mode: ProgressMode,
  beforeEachStep?: () => void,
): Promise<{ results: PairResult[]; run: RunResult }> {
  const run = await runPlan(plan, {
    mode,
    ...(beforeEachStep ? { beforeEachStep } : {}),
    execute: membershipExecutor(live),
    journal: live.journal,
    onFailure: (failures) => afterFailure(live, plan, failures[0]!),
  });
  const results = plan.pairs.flatMap((p, i): PairResult[] => {
    if (p.kind !== 'steps') return [];
    const steps = run.steps.filter((r) => plan.pairOf[r.index] === i).sort((a, b) => a.index - b.index);
    if (steps.length < p.steps.length) return [];
    return [
      {
        old: p.oldName,
        new: p.pair.new,
        mode: p.mode,
        resumed: p.resumed,
        ms: steps.reduce((n, s) => n + s.ms, 0),
        steps,
        notes: steps.flatMap((s) => s.did),
      },
    ];
  });
  return { results, run };
}
