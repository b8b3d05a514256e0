/**
 * One replacement pair, step by step as planned, each step re-checking the live cluster. A learner
 * that fails before its promotion is rolled back (removed, its host cleared) rather than left
 * behind; any other failure leaves the journal, so re-running the same command resumes.
 */
import { describeCause, TskvError } from '../errors.ts';
import { describeStep } from '../ops/replace-describe.ts';
import type { ReplacePlan, ReplaceStep } from '../ops/replace-plan.ts';
import { peerUrl } from '../render/urls.ts';
import type { LiveCluster } from './member-cluster.ts';
import { runStep, stepContext } from './replace-steps.ts';

export type StepsPlan = Extract<ReplacePlan, { kind: 'steps' }>;

export interface StepTiming {
  step: string;
  ms: number;
}

export interface PairResult {
  old: string;
  new: string;
  mode: StepsPlan['mode'];
  resumed: boolean;
  ms: number;
  steps: StepTiming[];
  notes: string[];
}

export interface ReplaceProgress {
  /** A step starts ("[3/9] start etcd on h105 ..."). */
  step(index: number, total: number, text: string): void;
  done(index: number, ms: number): void;
  note(line: string): void;
}

const LEARNER_PHASE = new Set<ReplaceStep['op']>([
  'add-member',
  'clear-host',
  'start-member',
  'wait-caught-up',
  'promote',
]);

/** Removes NEW when it is still a learner, clears its host and the journal. Returns what it did. */
async function rollBackLearner(live: LiveCluster, plan: StepsPlan, notes: string[]): Promise<string> {
  const inv = live.session.inventory;
  const host = inv.hosts.find((h) => h.name === plan.pair.new)!;
  const url = peerUrl(host, inv);
  const list = await live.memberList();
  const learner = list.members.find((m) => m.peerURLs.includes(url));
  if (learner && !learner.isLearner) return 'not rolled back: it was already promoted (re-run to finish)';
  const steps: ReplaceStep[] = [
    ...(learner ? [{ op: 'remove-member' as const, id: learner.id, name: plan.pair.new }] : []),
    { op: 'clear-host', host: host.name, dataDirs: [host.dataDir], why: 'rolling back' },
    { op: 'clear-journal' },
  ];
  const ctx = stepContext(live, (l) => notes.push(l));
  for (const s of steps) await runStep(ctx, s);
  return `rolled back: ${plan.pair.new} ${learner ? 'was removed as a learner and ' : ''}its host was cleared; ${plan.oldName} is still a member`;
}

export async function runReplacePlan(
  live: LiveCluster,
  plan: StepsPlan,
  progress: ReplaceProgress,
): Promise<PairResult> {
  const inv = live.session.inventory;
  const started = Date.now();
  const notes: string[] = [];
  const timings: StepTiming[] = [];
  let changed = false;
  const ctx = stepContext(live, (line) => {
    notes.push(line);
    progress.note(line);
  });
  for (const [i, step] of plan.steps.entries()) {
    const text = describeStep(step, inv);
    progress.step(i + 1, plan.steps.length, text);
    const t0 = Date.now();
    try {
      await runStep(ctx, step);
    } catch (err) {
      let outcome = 're-run the same command to resume';
      if (!plan.resumed && !changed) {
        // Nothing in the cluster changed yet: forget the attempt, so another command is not blocked.
        outcome = await live.clearJournal().then(
          () => 'nothing in the cluster was changed',
          () => 're-run the same command to resume',
        );
      } else if (plan.mode === 'learner' && LEARNER_PHASE.has(step.op)) {
        try {
          outcome = await rollBackLearner(live, plan, notes);
        } catch (rollbackErr) {
          outcome = `rolling back failed too (${describeCause(rollbackErr)}): re-run the same command`;
        }
      }
      const base = err instanceof TskvError ? err : undefined;
      throw new TskvError(
        base?.code ?? 'E_REPLACE',
        `replacing ${plan.oldName} with ${plan.pair.new} stopped at "${text}"`,
        {
          ...(base?.host ? { host: base.host } : {}),
          step: 'replace',
          fix: outcome,
          cause: err,
        },
      );
    }
    if (step.op === 'add-member' || step.op === 'remove-member') changed = true;
    const ms = Date.now() - t0;
    timings.push({ step: step.op, ms });
    progress.done(i + 1, ms);
  }
  return {
    old: plan.oldName,
    new: plan.pair.new,
    mode: plan.mode,
    resumed: plan.resumed,
    ms: Date.now() - started,
    steps: timings,
    notes,
  };
}
