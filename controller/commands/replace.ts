import { EXIT_OK, errorDocument, InputError, TskvError } from '../errors.ts';
import { loadInventory } from '../inventory/load.ts';
import type { Inventory } from '../inventory/model.ts';
import { membershipDrift } from '../ops/membership.ts';
import { checkPairs, type ReplacePair, type ReplacePlan } from '../ops/replace-plan.ts';
import { checkUserTls } from '../pki/index.ts';
import { formatSteps } from '../plan/plan.ts';
import type { LiveCluster } from '../plays/live-cluster.ts';
import {
  type PairResult,
  planReplacements,
  type ReplacementPlan,
  runReplacements,
} from '../plays/replace.ts';
import { applyChange } from '../run/apply.ts';
import { parseCommandArgs, requirePositionals } from './args.ts';
import { CHANGE_FLAGS, driftText, NO_SNAPSHOT_FLAG, printActions, withLiveCluster } from './change-output.ts';
import type { Command } from './types.ts';
import { printWarnings, skipsSnapshot } from './warnings.ts';

const usage = `usage: tskv replace INVENTORY OLD=NEW [OLD=NEW ...] [--yes] [--dry-run] [--json] [--no-snapshot] [--break-lock]

Replaces members one pair at a time, each healthy before the next. OLD is a member (name or hex
ID, it may be gone from the inventory); NEW is an inventory host that is not a member.
NEW elsewhere: added as a learner, started with --initial-cluster-state existing, promoted once
caught up, then OLD leaves. NEW at OLD's address (the seed's h102 -> new-h102): OLD leaves first,
its data dir is moved aside, then NEW is added and started. Re-running resumes an interrupted run.
First a snapshot of the cluster's data is kept on a healthy member's host (--no-snapshot skips it).
Shows the plan and asks on a TTY; --yes answers for scripts; --dry-run only shows the plan.
Holds the cluster lock while it runs (--break-lock ends a hung run's hold).`;

export function parsePairs(args: string[]): ReplacePair[] {
  if (args.length === 0) throw new InputError(`missing OLD=NEW\n${usage}`);
  return args.map((a) => {
    const m = /^([^=\s]+)=([^=\s]+)$/.exec(a);
    if (!m) throw new InputError(`'${a}' is not OLD=NEW (e.g. h102=new-h102)\n${usage}`);
    return { old: m[1]!, new: m[2]! };
  });
}

function formatPairPlan(plan: ReplacePlan, pair: ReplacePair): string {
  if (plan.kind === 'refuse') return `${pair.old}=${pair.new}: refused: ${plan.reason}\n`;
  if (plan.kind === 'done') return `${pair.old}=${pair.new}: ${plan.reason}\n`;
  const how = plan.mode === 'learner' ? 'through a learner' : 'in place (same address)';
  const head = `replace ${plan.oldName} with ${pair.new} ${how}${plan.resumed ? ', resuming an interrupted run' : ''}:\n`;
  return `${head}${formatSteps(plan.steps)}${plan.warnings.map((w) => `  warning: ${w}\n`).join('')}`;
}

/** A refused pair stops everything before anything changes. */
function refusal(plan: ReplacementPlan): TskvError | undefined {
  const refused = plan.pairs.find((p) => p.kind === 'refuse');
  if (refused?.kind !== 'refuse') return undefined;
  return new TskvError('E_REFUSED', `replace refused, nothing was changed: ${refused.reason}`, {
    step: 'plan',
    ...(refused.fix ? { fix: refused.fix } : {}),
  });
}

/** Where inventory and cluster still differ afterwards; a replaced OLD still in the inventory is named as such. */
function driftAfter(
  inv: Inventory,
  live: Awaited<ReturnType<LiveCluster['memberList']>>,
  results: PairResult[],
) {
  const replaced = new Set(results.map((r) => r.old));
  return membershipDrift(inv, live.members).map((p) =>
    p.kind === 'host-not-member' && p.host && replaced.has(p.host)
      ? {
          ...p,
          message: `${p.host} was replaced and is no longer a member`,
          fix: `remove ${p.host} from ${inv.file}`,
        }
      : p,
  );
}

const replace: Command = {
  summary: 'replace members one at a time (learner add, promote, remove; or in place at the same address)',
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { ...CHANGE_FLAGS, ...NO_SNAPSHOT_FLAG }, usage);
    const [file, ...rest] = requirePositionals(positionals, ['INVENTORY', 'OLD=NEW'], usage);
    const pairs = parsePairs(rest);
    const clash = checkPairs(pairs);
    if (clash) throw new InputError(clash);
    const inv = await loadInventory(file!);
    printWarnings(inv, { plaintext: true });
    const noSnapshot = skipsSnapshot(values);
    await checkUserTls(inv); // tls.mode files: before any host is reached
    const json = values.json ?? false;
    return withLiveCluster(inv, values, async ({ session, live, doc, mode, out }) => {
      const outcome = await applyChange({
        lock: () => session.lock(`tskv replace ${argv.join(' ')}`, values['break-lock'] ?? false),
        plan: () => planReplacements(live, pairs, noSnapshot ? undefined : { keep: inv.snapshots.keep }),
        show: (plan) => {
          for (const [i, p] of plan.pairs.entries()) out(formatPairPlan(p, pairs[i]!));
          const refused = refusal(plan);
          if (refused) {
            doc.write({ ok: false, refused: true, plans: plan.pairs, error: errorDocument(refused) });
            throw refused;
          }
        },
        dryRun: values['dry-run'] ?? false,
        yes: values.yes ?? false,
        question: (plan) => ({
          what: `remove ${plan.pairs.flatMap((p) => (p.kind === 'steps' ? [p.oldName] : [])).join(', ')} from the cluster`,
          rerun: `tskv replace ${argv.join(' ')} --yes`,
        }),
        run: (plan, stillLocked) => runReplacements(live, plan, mode, stillLocked),
      });
      if (outcome.kind === 'declined') {
        out('nothing was changed\n');
        return EXIT_OK;
      }
      if (outcome.kind === 'dry-run' || outcome.plan.steps.length === 0) {
        doc.write({ ok: true, dryRun: outcome.kind === 'dry-run', plans: outcome.plan.pairs });
        return EXIT_OK;
      }
      const { results, run } = outcome.result;
      printActions(run, json);
      for (const r of results) out(`replaced ${r.old} with ${r.new} in ${(r.ms / 1000).toFixed(1)} s\n`);
      if (run.error) {
        doc.write({ ok: false, results, error: errorDocument(run.error) });
        throw run.error;
      }
      const drift = driftAfter(inv, await live.memberList(), results);
      out(driftText(drift));
      doc.write({ ok: true, results, drift });
      return EXIT_OK;
    });
  },
};

export default replace;
