import { EXIT_OK, InputError, TskvError } from '../errors.ts';
import { loadInventory } from '../inventory/load.ts';
import type { Inventory } from '../inventory/model.ts';
import type { ClusterView } from '../ops/cluster-view.ts';
import { formatDrift, membershipDrift } from '../ops/membership.ts';
import { describeStep } from '../ops/replace-describe.ts';
import {
  checkPairs,
  planReplace,
  type ReplaceJournal,
  type ReplacePair,
  type ReplacePlan,
} from '../ops/replace-plan.ts';
import { afterReplace } from '../ops/replace-simulate.ts';
import { LiveCluster } from '../plays/member-cluster.ts';
import { type PairResult, runReplacePlan } from '../plays/replace.ts';
import { openSession } from '../plays/session.ts';
import { progressMode } from '../run/tasks.ts';
import { parseCommandArgs, requirePositionals } from './args.ts';
import { confirmChange } from './confirm.ts';
import type { Command } from './types.ts';

const usage = `usage: tskv replace INVENTORY OLD=NEW [OLD=NEW ...] [--yes] [--dry-run] [--json]

Replaces members one pair at a time, each healthy before the next. OLD is a member (name or hex
ID, it may be gone from the inventory); NEW is an inventory host that is not a member.
NEW elsewhere: added as a learner, started with --initial-cluster-state existing, promoted once
caught up, then OLD leaves. NEW at OLD's address (the seed's h102 -> new-h102): OLD leaves first,
its data dir is moved aside, then NEW is added and started. Re-running resumes an interrupted run.
Shows the plan and asks on a TTY; --yes answers for scripts; --dry-run only shows the plan.`;

export function parsePairs(args: string[]): ReplacePair[] {
  if (args.length === 0) throw new InputError(`missing OLD=NEW\n${usage}`);
  return args.map((a) => {
    const m = /^([^=\s]+)=([^=\s]+)$/.exec(a);
    if (!m) throw new InputError(`'${a}' is not OLD=NEW (e.g. h102=new-h102)\n${usage}`);
    return { old: m[1]!, new: m[2]! };
  });
}

/** Plans every pair: the first against the live cluster, each next one against the cluster the previous leaves. */
export function planAll(
  inv: Inventory,
  view: ClusterView,
  pairs: ReplacePair[],
  journal: ReplaceJournal | undefined,
): ReplacePlan[] {
  const plans: ReplacePlan[] = [];
  let current = view;
  for (const [i, pair] of pairs.entries()) {
    const plan = planReplace(inv, current, pair, i === 0 ? journal : undefined);
    plans.push(plan);
    if (plan.kind === 'refuse') break;
    if (plan.kind === 'steps') current = afterReplace(inv, current, plan);
  }
  return plans;
}

function formatPlan(inv: Inventory, plan: ReplacePlan, pair: ReplacePair): string {
  if (plan.kind === 'refuse') return `${pair.old}=${pair.new}: refused: ${plan.reason}\n`;
  if (plan.kind === 'done') return `${pair.old}=${pair.new}: ${plan.reason}\n`;
  const how = plan.mode === 'learner' ? 'through a learner' : 'in place (same address)';
  const head = `replace ${plan.oldName} with ${pair.new} ${how}${plan.resumed ? ', resuming an interrupted run' : ''}:`;
  const lines = plan.steps.map((s, i) => `  ${i + 1}. ${describeStep(s, inv)}`);
  return [head, ...lines, ...plan.warnings.map((w) => `  warning: ${w}`), ''].join('\n');
}

const replace: Command = {
  summary: 'replace members one at a time (learner add, promote, remove; or in place at the same address)',
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      { yes: { type: 'boolean', short: 'y' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' } },
      usage,
    );
    const [file, ...rest] = requirePositionals(positionals, ['INVENTORY', 'OLD=NEW'], usage);
    const pairs = parsePairs(rest);
    const clash = checkPairs(pairs);
    if (clash) throw new InputError(clash);
    const inv = await loadInventory(file!);
    const json = values.json ?? false;
    const out = (text: string) => {
      if (!json) process.stdout.write(text);
    };
    const session = await openSession(inv, progressMode(json));
    const live = new LiveCluster(session);
    try {
      for (const u of session.unreachable) process.stderr.write(`warning: ${u.host}: ${u.observed}\n`);
      const plans = planAll(inv, await live.view(), pairs, await live.readJournal());
      for (const [i, p] of plans.entries()) out(formatPlan(inv, p, pairs[i]!));
      const refused = plans.find((p) => p.kind === 'refuse');
      if (refused?.kind === 'refuse') {
        if (json) process.stdout.write(`${JSON.stringify({ ok: false, refused: true, plans }, null, 2)}\n`);
        throw new TskvError('E_REFUSED', `replace refused, nothing was changed: ${refused.reason}`, {
          step: 'plan',
          ...(refused.fix ? { fix: refused.fix } : {}),
        });
      }
      const work = plans.filter((p) => p.kind === 'steps');
      if (values['dry-run'] || work.length === 0) {
        if (json)
          process.stdout.write(
            `${JSON.stringify({ ok: true, dryRun: values['dry-run'] ?? false, plans }, null, 2)}\n`,
          );
        return EXIT_OK;
      }
      const what = `remove ${work.map((p) => p.oldName).join(', ')} from the cluster`;
      if (!(await confirmChange(values.yes ?? false, what, `tskv replace ${argv.join(' ')} --yes`))) {
        out('nothing was changed\n');
        return EXIT_OK;
      }
      const results: PairResult[] = [];
      for (const pair of pairs) {
        const plan = planReplace(inv, await live.view(), pair, await live.readJournal());
        if (plan.kind === 'refuse') {
          throw new TskvError('E_REFUSED', `replace ${pair.old}=${pair.new} refused: ${plan.reason}`, {
            step: 'plan',
            ...(plan.fix ? { fix: plan.fix } : {}),
          });
        }
        if (plan.kind === 'done') continue;
        const quiet = json || session.mode === 'silent';
        const result = await runReplacePlan(live, plan, {
          step: (i, n, text) => quiet || process.stderr.write(`[${i}/${n}] ${text}\n`),
          done: (_i, ms) => quiet || process.stderr.write(`  done in ${(ms / 1000).toFixed(1)} s\n`),
          note: (line) => quiet || process.stderr.write(`  ${line}\n`),
        });
        results.push(result);
        out(`replaced ${result.old} with ${result.new} in ${(result.ms / 1000).toFixed(1)} s\n`);
      }
      const replaced = new Set(results.map((r) => r.old));
      const drift = membershipDrift(inv, (await live.memberList()).members).map((p) =>
        p.kind === 'host-not-member' && p.host && replaced.has(p.host)
          ? {
              ...p,
              message: `${p.host} was replaced and is no longer a member`,
              fix: `remove ${p.host} from ${inv.file}`,
            }
          : p,
      );
      if (drift.length === 0) out('the inventory and the cluster agree\n');
      else out(`the inventory and the cluster still differ:\n${formatDrift(drift)}\n`);
      if (json) process.stdout.write(`${JSON.stringify({ ok: true, results, drift }, null, 2)}\n`);
      return EXIT_OK;
    } finally {
      await live.close();
      await session.close();
    }
  },
};

export default replace;
