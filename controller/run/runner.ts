/**
 * The one runner of plans: steps in order, labelled runs of steps side by side (bounded), progress
 * through listr2, every failure wrapped with its step and host, the journal of resumable commands,
 * per-step timing, and the seams tests use to stop a run at an exact step.
 */
import { describeCause, hostFailure, TskvError } from '../errors.ts';
import { groupSteps, type Plan, type Step, stepLine } from '../plan/plan.ts';
import { isJournalStep, type Journal, type JournalStep } from './journal.ts';
import { type Progress, type ProgressMode, runGroup } from './progress.ts';

/** Runs one step of the command's own kinds; resolves to what it did on the host, if anything. */
// biome-ignore lint/suspicious/noConfusingVoidType: executors hand back their helpers' Promise<void> as they are
export type Executor<S extends Step> = (step: S, progress: Progress) => Promise<string[] | void>;

export interface StepFailure<S extends Step> {
  step: S;
  index: number;
  error: TskvError;
}

export interface RunOptions<S extends Step> {
  mode: ProgressMode;
  execute: Executor<S>;
  /** Where a resumable command records itself (its plan holds `record` and `clear-record` steps). */
  journal?: Journal;
  /** Asked before each step: throws when the run may no longer change anything (it lost the lock). */
  beforeEachStep?: () => void;
  /** Hosts side by side at most (default 10, as many as Ansible's forks). */
  limit?: number;
  /**
   * What to report when steps failed (e.g. after rolling back what the run began); by default the
   * failure itself, with its step and host.
   */
  onFailure?: (failures: StepFailure<S>[]) => Promise<TskvError>;
}

export interface StepRecord {
  /** The step's place in the plan. */
  index: number;
  kind: string;
  host: string | undefined;
  title: string;
  ms: number;
  /** What the step reports it did ("uploaded etcd-v3.4.23-linux-amd64.tar.zst", notes and warnings). */
  did: string[];
}

export interface RunResult {
  /** Every step that finished, in the order each finished. */
  steps: StepRecord[];
  /** What each host's steps report they did, in step order (the cluster's steps under 'cluster'). */
  actions: Record<string, string[]>;
  /** Why the run stopped, when a step failed (the steps after it did not run). */
  error: TskvError | undefined;
}

/** Where a step is, for the seams. */
export interface StepAt {
  step: Step;
  index: number;
  total: number;
}

/**
 * Test seams (never set by tskv itself): called as each step starts and as it reports progress, so
 * a test can stop a run at an exact step boundary, or in the middle of a step, and re-run it.
 */
export const seams: {
  beforeStep?: (at: StepAt) => void | Promise<void>;
  progress?: (at: StepAt, line: string) => void;
} = {};

const DEFAULT_LIMIT = 10;

/**
 * How many of a group's steps run at once: all of them when the group needs it, else as many as
 * `limit` hosts' share (each host's steps of one group run side by side, as they touch different
 * things).
 */
function concurrency(steps: Step[], limit = DEFAULT_LIMIT): number {
  if (steps.some((s) => s.allAtOnce)) return steps.length;
  const hosts = new Set(steps.map((s) => s.host ?? '')).size;
  return limit * Math.ceil(steps.length / hosts);
}

/** A step's failure as the operator reads it: the step and host named, the cause kept. */
export function stepFailure(step: Step, err: unknown): TskvError {
  if (step.host !== undefined) return hostFailure(step.host, step.title, err);
  if (err instanceof TskvError) {
    if (err.step !== undefined) return err;
    return new TskvError(err.code, err.message, {
      ...(err.host ? { host: err.host } : {}),
      step: step.title,
      ...(err.fix ? { fix: err.fix } : {}),
      ...(err.cause === undefined ? {} : { cause: err.cause }),
    });
  }
  return new TskvError('E_STEP_FAILED', describeCause(err), { step: step.title, cause: err });
}

/** Several failures of one group as one error: each host's line, the first one's fix. */
export function combineFailures(errors: TskvError[], label: string | undefined): TskvError {
  if (errors.length === 1) return errors[0]!;
  const first = errors[0]!;
  return new TskvError(
    first.code,
    `${errors.length} steps failed:\n${errors.map((e) => `${e.host ? `${e.host}: ` : ''}${e.message}`).join('\n')}`,
    { ...(label ? { step: label } : {}), ...(first.fix ? { fix: first.fix } : {}) },
  );
}

/** Runs the plan's steps in order; a failed step ends the run, and the result says why. */
export async function runPlan<S extends Step>(plan: Plan<S>, options: RunOptions<S>): Promise<RunResult> {
  const result: RunResult = { steps: [], actions: {}, error: undefined };
  const total = plan.steps.length;
  const failures: StepFailure<S>[] = [];
  const runStep = async (index: number, progress: Progress): Promise<void> => {
    const step = plan.steps[index]!;
    const at: StepAt = { step, index, total };
    try {
      options.beforeEachStep?.();
      await seams.beforeStep?.(at);
      const started = Date.now();
      const report: Progress = (line) => {
        seams.progress?.(at, line);
        progress(line);
      };
      const did = isJournalStep(step)
        ? await runJournalStep(step, options.journal)
        : await options.execute(step, report);
      result.steps.push({
        index,
        kind: step.kind,
        host: step.host,
        title: step.title,
        ms: Date.now() - started,
        did: did ?? [],
      });
    } catch (err) {
      failures.push({ step, index, error: stepFailure(step, err) });
      throw err;
    }
  };
  const groups = groupSteps(plan.steps);
  for (const group of groups) {
    const items = group.indexes.map((index) => ({
      title: stepLine(plan.steps[index]!),
      run: (progress: Progress) => runStep(index, progress),
    }));
    await runGroup(
      options.mode,
      group.label ?? items[0]!.title,
      items,
      concurrency(group.steps, options.limit),
    );
    if (failures.length > 0) break;
  }
  for (const r of [...result.steps].sort((a, b) => a.index - b.index)) {
    const where = r.host ?? 'cluster';
    if (r.did.length > 0) result.actions[where] = [...(result.actions[where] ?? []), ...r.did];
  }
  if (failures.length === 0) return result;
  failures.sort((a, b) => a.index - b.index);
  result.error = options.onFailure
    ? await options.onFailure(failures)
    : combineFailures(
        failures.map((f) => f.error),
        groups.find((g) => g.indexes.includes(failures[0]!.index))?.label,
      );
  return result;
}

async function runJournalStep(step: JournalStep, journal: Journal | undefined): Promise<string[]> {
  if (!journal) throw new TskvError('E_INTERNAL', `"${step.title}" needs a journal, and this run has none`);
  await journal.apply(step);
  return [];
}
