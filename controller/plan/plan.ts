/**
 * A plan is what a changing command will do, as data: an ordered list of steps. `--dry-run` prints
 * it, the confirmation shows it, and the runner (./runner.ts) executes exactly it.
 */

export interface Step {
  /** What the step does; the command's executor dispatches on it ("install", "add-member", ...). */
  kind: string;
  /** The host it acts on; absent when it acts on the cluster. */
  host?: string;
  /** One line for the operator: "install etcd 3.4.23 at /usr/local/bin/etcd". */
  title: string;
  /** The file change it makes, as a unified diff. */
  diff?: string;
  /**
   * Consecutive steps with the same label run side by side (up to the runner's limit of hosts at
   * once) under that label; a step without one runs alone, after every step before it.
   */
  together?: string;
  /** Its group must run all at once, whatever the limit (members bootstrapping need each other). */
  allAtOnce?: boolean;
}

export interface Plan<S extends Step = Step> {
  steps: S[];
}

/** Consecutive steps that run side by side: a labelled run of `together` steps, or one step alone. */
export interface StepGroup<S extends Step> {
  label: string | undefined;
  /** Indexes into the plan's steps, in order. */
  indexes: number[];
  steps: S[];
}

export function groupSteps<S extends Step>(steps: S[]): StepGroup<S>[] {
  const groups: StepGroup<S>[] = [];
  steps.forEach((step, index) => {
    const last = groups.at(-1);
    if (step.together !== undefined && last?.label === step.together) {
      last.indexes.push(index);
      last.steps.push(step);
    } else groups.push({ label: step.together, indexes: [index], steps: [step] });
  });
  return groups;
}

/** What a step is, as the operator reads it and as plans are compared: "h102: install etcd 3.4.23". */
export function stepLine(step: Step): string {
  return step.host ? `${step.host}: ${step.title}` : step.title;
}

/**
 * Steps as the operator reads them, one a line under `indent`, numbered (or bulleted), each diff
 * beneath its step two columns in from the title.
 */
export function stepLines(
  steps: Step[],
  options: { indent?: string; numbered?: boolean; diffs?: boolean } = {},
): string[] {
  const indent = options.indent ?? '  ';
  return steps.flatMap((s, i) => {
    const marker = (options.numbered ?? true) ? `${i + 1}.` : '-';
    const under = ' '.repeat(indent.length + marker.length + 3);
    const diff = (options.diffs ?? true) && s.diff ? s.diff.trimEnd().split('\n') : [];
    return [`${indent}${marker} ${s.title}`, ...diff.map((d) => `${under}${d}`)];
  });
}

/** A plan's steps numbered in run order (replace, member), as text. */
export function formatSteps(steps: Step[], options: { diffs?: boolean } = {}): string {
  return stepLines(steps, options)
    .map((l) => `${l}\n`)
    .join('');
}

/** The steps of `b` that differ from `a`'s at the same place ([] when the plans are the same). */
export function planDifferences(a: Step[], b: Step[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x && y && stepLine(x) === stepLine(y) && x.kind === y.kind && (x.diff ?? '') === (y.diff ?? ''))
      continue;
    out.push(
      x && y
        ? `step ${i + 1} was "${stepLine(x)}", is now "${stepLine(y)}"`
        : x
          ? `step ${i + 1} "${stepLine(x)}" is no longer needed`
          : `step ${i + 1} "${stepLine(y!)}" is new`,
    );
  }
  return out;
}
