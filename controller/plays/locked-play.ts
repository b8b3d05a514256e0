/**
 * How a changing play goes once its plan and executor are known (certs rotate, restore): under
 * the cluster lock, plan → show → (dry run stops) → confirm → run → the result document's
 * fields filled in as far as it got, the error of whatever stopped it kept as the document says it.
 */
import { type ErrorDocument, errorDocument, TskvError } from '../errors.ts';
import type { Plan, Step } from '../plan/plan.ts';
import { applyChange, type Question } from '../run/apply.ts';
import { type Executor, runPlan, type StepRecord } from '../run/runner.ts';
import type { Session } from './session.ts';

export interface PlayResult<P> {
  ok: boolean;
  dryRun: boolean;
  plan: P | undefined;
  /** What each host's steps did (the cluster's under 'cluster'). */
  actions: Record<string, string[]>;
  steps: StepRecord[];
  error: ErrorDocument | undefined;
}

export interface PlayOptions<S extends Step, P extends Plan<S>> {
  dryRun: boolean;
  yes: boolean;
  /** The command line, as the cluster lock names its holder. */
  command: string;
  breakLock: boolean;
  plan(): Promise<P>;
  show(plan: P): void;
  question(plan: P): Question;
  execute: Executor<S>;
  /** What not going ahead is called: "not rotating". */
  declined: string;
  /** After the plan ran without error (a verification); throws to fail the play. */
  afterRun?(): Promise<void>;
}

export async function runLockedPlay<S extends Step, P extends Plan<S>>(
  session: Session,
  o: PlayOptions<S, P>,
): Promise<PlayResult<P>> {
  const result: PlayResult<P> = {
    ok: false,
    dryRun: o.dryRun,
    plan: undefined,
    actions: {},
    steps: [],
    error: undefined,
  };
  try {
    const outcome = await applyChange({
      lock: () => session.lock(o.command, o.breakLock),
      plan: o.plan,
      show: (plan) => {
        result.plan = plan;
        o.show(plan);
      },
      dryRun: o.dryRun,
      yes: o.yes,
      question: o.question,
      run: (plan, stillLocked) =>
        runPlan(plan, { mode: session.mode, beforeEachStep: stillLocked, execute: o.execute }),
    });
    if (outcome.kind === 'dry-run') {
      result.ok = true;
      return result;
    }
    if (outcome.kind === 'declined') {
      throw new TskvError('E_NOT_CONFIRMED', `${o.declined}: not confirmed; nothing was changed`, {
        step: 'confirm',
        fix: 'answer yes, or pass --yes',
      });
    }
    result.plan = outcome.plan;
    result.actions = outcome.result.actions;
    result.steps = outcome.result.steps;
    if (outcome.result.error) throw outcome.result.error;
    await o.afterRun?.();
    result.ok = true;
  } catch (err) {
    result.error = errorDocument(err);
  }
  return result;
}
