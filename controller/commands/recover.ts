import { EXIT_OK, errorDocument, TskvError } from '../errors.ts';
import { loadInventory } from '../inventory/load.ts';
import { membershipDrift } from '../ops/membership.ts';
import type { RecoverPlan } from '../ops/recover-plan.ts';
import { checkUserTls } from '../pki/index.ts';
import { formatSteps } from '../plan/plan.ts';
import { planRecovery, recoverJournal, runRecovery } from '../plays/recover.ts';
import { applyChange } from '../run/apply.ts';
import { parseCommandArgs, requirePositionals } from './args.ts';
import { CHANGE_FLAGS, driftText, NO_SNAPSHOT_FLAG, printActions, withLiveCluster } from './change-output.ts';
import type { Command } from './types.ts';
import { printWarnings, skipsSnapshot } from './warnings.ts';

const usage = `usage: tskv recover INVENTORY [--yes] [--dry-run] [--json] [--break-lock] [--no-snapshot]

For a cluster that lost its quorum for good (a majority of members dead, their data gone), when
deploy and replace rightly refuse. Asks every inventory host for its member's raft index, picks
the surviving voter with the highest one and says what may be lost (entries it does not have),
snapshots it, restarts it alone with --force-new-cluster, then brings every other inventory host
back as a new member, one at a time: etcd stopped and its data dir moved aside (never deleted),
added as a learner, started, promoted once caught up. Refuses while the cluster has quorum (then
tskv replace is the tool). Re-running resumes an interrupted run. Shows the plan and asks on a
TTY; --yes answers for scripts; --dry-run only shows the plan; --no-snapshot skips the
survivor's snapshot (when its disk is full), with a warning.`;

function formatPlan(plan: RecoverPlan): string {
  if (plan.kind === 'refuse') return `recover refused: ${plan.reason}\n`;
  if (plan.kind === 'done') return `${plan.reason}\n`;
  const head =
    plan.mode === 'force'
      ? `the cluster has lost its quorum; recover around ${plan.survivor}:\n`
      : `a recovery around ${plan.survivor} is under way; resuming it:\n`;
  const said = [...plan.losses.map((l) => `  ${l}\n`), ...plan.warnings.map((w) => `  warning: ${w}\n`)];
  return `${head}${said.join('')}${formatSteps(plan.steps)}`;
}

const recover: Command = {
  summary: 'rebuild a cluster that lost its quorum around its most up-to-date surviving member',
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { ...CHANGE_FLAGS, ...NO_SNAPSHOT_FLAG }, usage);
    const [file] = requirePositionals(positionals, ['INVENTORY'], usage);
    const inv = await loadInventory(file!);
    printWarnings(inv, { plaintext: true });
    const noSnapshot = skipsSnapshot(values);
    await checkUserTls(inv);
    const json = values.json ?? false;
    return withLiveCluster(inv, values, async ({ session, live, doc, mode, out }) => {
      const journal = recoverJournal(live);
      const rerun = `tskv recover ${file} --yes`;
      const outcome = await applyChange({
        lock: () => session.lock(`tskv recover ${argv.join(' ')}`, values['break-lock'] ?? false),
        plan: () => planRecovery(live, journal, noSnapshot),
        show: ({ plan }) => {
          out(formatPlan(plan));
          if (plan.kind !== 'refuse') return;
          const refused = new TskvError('E_REFUSED', `recover refused, nothing was changed: ${plan.reason}`, {
            step: 'plan',
            ...(plan.fix ? { fix: plan.fix } : {}),
          });
          doc.write({ ok: false, refused: true, plan, error: errorDocument(refused) });
          throw refused;
        },
        dryRun: values['dry-run'] ?? false,
        yes: values.yes ?? false,
        question: ({ plan }) =>
          plan.kind === 'steps'
            ? {
                what:
                  plan.mode === 'force'
                    ? `rebuild the cluster from ${plan.survivor} alone (entries it does not have are lost) and bring ${plan.rejoin.join(', ')} back as new members, their data dirs moved aside`
                    : `bring ${plan.rejoin.join(', ') || 'nothing more'} back as new members around ${plan.survivor}`,
                rerun,
              }
            : undefined,
        run: (plan, stillLocked) => runRecovery(live, journal, plan, mode, rerun, stillLocked),
      });
      if (outcome.kind === 'declined') {
        out('nothing was changed\n');
        return EXIT_OK;
      }
      if (outcome.kind === 'dry-run' || outcome.plan.steps.length === 0) {
        doc.write({ ok: true, dryRun: outcome.kind === 'dry-run', plan: outcome.plan.plan });
        return EXIT_OK;
      }
      const run = outcome.result;
      printActions(run, json);
      const ms = run.steps.reduce((n, s) => n + s.ms, 0);
      if (run.error) {
        doc.write({ ok: false, plan: outcome.plan.plan, steps: run.steps, error: errorDocument(run.error) });
        throw run.error;
      }
      out(
        `recovered around ${outcome.plan.plan.kind === 'steps' ? outcome.plan.plan.survivor : '?'} in ${(ms / 1000).toFixed(1)} s\n`,
      );
      const drift = membershipDrift(inv, (await live.memberList()).members);
      out(driftText(drift));
      doc.write({ ok: true, plan: outcome.plan.plan, steps: run.steps, actions: run.actions, drift });
      return EXIT_OK;
    });
  },
};

export default recover;
