/**
 * How every changing command goes: take the cluster lock, make the plan, show it, stop there on
 * --dry-run, ask when the plan says it must (a TTY's answer or --yes), and run exactly the plan
 * that was shown. An answer typed at a prompt takes time: the plan is made again and must not
 * have changed.
 */
import { TskvError } from '../errors.ts';
import { type Plan, planDifferences } from '../plan/plan.ts';
import { confirmChange } from './confirm.ts';

export interface Question {
  /** Completes "This will ...": "restart h102, h104 (running members, one at a time)". */
  what: string;
  /** The command line that answers yes for scripts. */
  rerun: string;
}

export interface ChangeOptions<P extends Plan, R> {
  /** Takes the cluster lock (./lock.ts) before the plan is made; a dry run takes none. */
  lock?(): Promise<{ release(): void; check(): void }>;
  /** Makes the plan from the live state. */
  plan(): Promise<P>;
  show(plan: P): void;
  dryRun: boolean;
  yes: boolean;
  /** The question to ask before running this plan, or undefined when it needs none. */
  question(plan: P): Question | undefined;
  /** Runs the plan; `stillLocked` throws once the lock is lost (the runner asks before each step). */
  run(plan: P, stillLocked: () => void): Promise<R>;
  /** How the question is asked: on the TTY (./confirm.ts) unless given. */
  confirm?: typeof confirmChange;
}

export type ChangeOutcome<P, R> =
  | { kind: 'dry-run'; plan: P }
  | { kind: 'declined'; plan: P }
  | { kind: 'ran'; plan: P; result: R };

export async function applyChange<P extends Plan, R>(
  options: ChangeOptions<P, R>,
): Promise<ChangeOutcome<P, R>> {
  const lock = options.dryRun ? undefined : await options.lock?.();
  try {
    return await planAndRun(options, () => lock?.check());
  } finally {
    lock?.release();
  }
}

async function planAndRun<P extends Plan, R>(
  options: ChangeOptions<P, R>,
  stillLocked: () => void,
): Promise<ChangeOutcome<P, R>> {
  let plan = await options.plan();
  options.show(plan);
  if (options.dryRun) return { kind: 'dry-run', plan };
  const question = plan.steps.length > 0 ? options.question(plan) : undefined;
  if (question) {
    const confirm = options.confirm ?? confirmChange;
    if (!(await confirm(options.yes, question.what, question.rerun))) return { kind: 'declined', plan };
    if (!options.yes) {
      const again = await options.plan();
      const changed = planDifferences(plan.steps, again.steps);
      if (changed.length > 0) {
        throw new TskvError(
          'E_PLAN_CHANGED',
          `the cluster changed while the plan waited for an answer; nothing was changed:\n  ${changed.join('\n  ')}`,
          { step: 'confirm', fix: 'review the new plan and answer again' },
        );
      }
      plan = again;
    }
  }
  return { kind: 'ran', plan, result: await options.run(plan, stillLocked) };
}
