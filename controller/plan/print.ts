/** deploy's plan as the operator reads it: per host, its steps in plan order, file diffs indented beneath. */
import { changeCount, type DeployPlan, isNoop, stepsOf } from '../ops/deploy-plan.ts';
import { type Step, stepLines } from './plan.ts';

const hostSteps = (steps: Step[], diffs: boolean) =>
  stepLines(steps, { indent: '    ', numbered: false, diffs });

export function formatPlan(plan: DeployPlan, options: { diffs?: boolean } = {}): string {
  const diffs = options.diffs ?? true;
  if (isNoop(plan)) return `${formatSummary(plan)}\n`;
  const mode =
    plan.mode.kind === 'new'
      ? 'bootstrapping a new cluster'
      : plan.mode.source === 'live'
        ? 'cluster running'
        : 'cluster stopped, starting it from its data';
  const lines = [`plan (${mode}):`];
  for (const h of plan.hosts) {
    const steps = stepsOf(plan, h.host);
    if (steps.length === 0) lines.push(`  ${h.host}: no changes (${h.summary})`);
    else lines.push(`  ${h.host} (${h.summary}):`, ...hostSteps(steps, diffs));
  }
  const cluster = plan.steps.filter((s) => s.host === undefined);
  if (cluster.length > 0) lines.push('  the cluster:', ...hostSteps(cluster, diffs));
  if (plan.restarts.length > 1) lines.push(`  restart order: ${plan.restarts.join(' → ')}`);
  if (plan.upgrade) lines.push(`  ${plan.upgrade}`);
  if (plan.order) lines.push(`  ${plan.order}`);
  for (const w of plan.warnings ?? []) lines.push(`  warning: ${w}`);
  const pass = tlsPassLine(plan);
  if (pass) lines.push(pass);
  lines.push(formatSummary(plan));
  return `${lines.join('\n')}\n`;
}

/** What a plan that moves the cluster to TLS is part of (ops/tls-migration.ts). */
function tlsPassLine(plan: DeployPlan): string | undefined {
  if (plan.tlsPass === 'dual') {
    return "  moving to TLS, pass 1 of 2: members get certificates and serve clients over https and http; then pass 2 (planned once this one is done) moves each member's peers to TLS and ends plain HTTP";
  }
  if (plan.tlsPass === 'tls') {
    return `  moving to TLS, pass 2 of 2: each member's peer URL becomes https (member update) just before its restart, which ends plain HTTP${plan.downtime ? `; ${plan.downtime}` : ''}`;
  }
  return undefined;
}

/** "nothing to do: 3 hosts converged" or "7 changes on 3 hosts (2 restarts)". */
export function formatSummary(plan: DeployPlan): string {
  const n = changeCount(plan);
  if (n === 0) return `nothing to do: ${plan.hosts.length} hosts converged`;
  const changed = new Set(plan.steps.flatMap((s) => (s.host ? [s.host] : []))).size;
  const restarts = plan.restarts.length
    ? ` (${plan.restarts.length} restart${plan.restarts.length > 1 ? 's' : ''})`
    : '';
  return `${n} change${n > 1 ? 's' : ''} on ${changed} host${changed > 1 ? 's' : ''}${restarts}`;
}
