/** The plan as the operator reads it: per host, its steps, file diffs indented beneath. */
import { type DeployPlan, isNoop, stepCount } from './types.ts';

export function formatPlan(plan: DeployPlan, options: { diffs?: boolean } = {}): string {
  const showDiffs = options.diffs ?? true;
  if (isNoop(plan)) return `${formatSummary(plan)}\n`;
  const lines: string[] = [];
  const mode =
    plan.mode.kind === 'new'
      ? 'bootstrapping a new cluster'
      : plan.mode.source === 'live'
        ? 'cluster running'
        : 'cluster stopped, starting it from its data';
  lines.push(`plan (${mode}):`);
  for (const h of plan.hosts) {
    if (h.steps.length === 0) {
      lines.push(`  ${h.host}: no changes (${h.summary})`);
      continue;
    }
    lines.push(`  ${h.host} (${h.summary}):`);
    for (const s of h.steps) {
      lines.push(`    - ${s.title}`);
      if (showDiffs && s.diff) for (const d of s.diff.trimEnd().split('\n')) lines.push(`        ${d}`);
    }
  }
  if (plan.restarts.length > 1) lines.push(`  restart order: ${plan.restarts.join(' → ')}`);
  lines.push(formatSummary(plan));
  return `${lines.join('\n')}\n`;
}

/** "nothing to do: 3 hosts converged" or "7 changes on 3 hosts (2 restarts)". */
export function formatSummary(plan: DeployPlan): string {
  const n = stepCount(plan);
  if (n === 0) return `nothing to do: ${plan.hosts.length} hosts converged`;
  const changed = plan.hosts.filter((h) => h.steps.length > 0).length;
  const restarts = plan.restarts.length
    ? ` (${plan.restarts.length} restart${plan.restarts.length > 1 ? 's' : ''})`
    : '';
  return `${n} change${n > 1 ? 's' : ''} on ${changed} host${changed > 1 ? 's' : ''}${restarts}`;
}
