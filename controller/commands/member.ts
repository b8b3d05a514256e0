import { EXIT_OK, InputError } from '../errors.ts';
import {
  formatMemberAddEnv,
  formatMemberAdded,
  formatMemberList,
  formatMemberRemoved,
} from '../etcd/index.ts';
import { loadInventory } from '../inventory/load.ts';
import type { Inventory } from '../inventory/model.ts';
import { memberAt } from '../ops/membership.ts';
import { checkUserTls } from '../pki/index.ts';
import { formatSteps } from '../plan/plan.ts';
import { LiveCluster } from '../plays/live-cluster.ts';
import { type MemberPlan, planMemberAdd, planMemberRemove } from '../plays/member.ts';
import { membershipExecutor } from '../plays/replace-steps.ts';
import { openSession } from '../plays/session.ts';
import { peerUrl } from '../render/urls.ts';
import { applyChange } from '../run/apply.ts';
import { type ProgressMode, progressMode } from '../run/progress.ts';
import { runPlan } from '../run/runner.ts';
import { parseCommandArgs, requirePositionals } from './args.ts';
import type { Command } from './types.ts';
import { printWarnings, skipsSnapshot } from './warnings.ts';

const usage = `usage: tskv member list INVENTORY [--json]
       tskv member add INVENTORY NAME [--start] [--dry-run] [--yes] [--break-lock]
       tskv member remove INVENTORY NAME|ID [--dry-run] [--yes] [--no-snapshot] [--break-lock]

list prints the members as etcdctl member list does. add registers inventory host NAME and prints
the ETCD_NAME / ETCD_INITIAL_CLUSTER / ETCD_INITIAL_CLUSTER_STATE="existing" block as etcdctl
does; --start also installs etcd on the host, starts it, and waits until it is healthy. remove
checks that quorum is kept, removes the member through a voting member, stops etcd on its host
and moves its data dir aside (never deleting it), after a snapshot of the cluster's data kept on a
staying member's host (--no-snapshot skips it). Both show their plan first; --dry-run stops
there; --yes answers the question asked before anything is stopped, moved or removed. add and
remove hold the cluster lock while they run (--break-lock ends a hung run's hold).`;

async function withCluster<T>(
  inv: Inventory,
  mode: ProgressMode,
  leaveNoAgent: boolean,
  fn: (live: LiveCluster) => Promise<T>,
): Promise<T> {
  const session = await openSession(inv, mode);
  const live = new LiveCluster(session);
  try {
    return await fn(live);
  } finally {
    await live.close();
    await session.close({ leaveNoAgent });
  }
}

const say = (text: string) => process.stdout.write(`${text}\n`);

/** Shows the plan, asks when it must, runs it. */
async function change(
  live: LiveCluster,
  plan: () => Promise<MemberPlan>,
  options: { dryRun: boolean; yes: boolean; mode: ProgressMode; command: string; breakLock: boolean },
): Promise<'dry-run' | 'declined' | 'nothing' | 'ran'> {
  const outcome = await applyChange({
    lock: () => live.session.lock(options.command, options.breakLock),
    plan,
    show: (p) => {
      if (p.nothing) say(p.nothing);
      else process.stdout.write(formatSteps(p.steps));
      for (const w of p.warnings) process.stderr.write(`warning: ${w}\n`);
    },
    dryRun: options.dryRun,
    yes: options.yes,
    question: (p) => p.question,
    run: (p, stillLocked) =>
      runPlan(p, { mode: options.mode, execute: membershipExecutor(live), beforeEachStep: stillLocked }),
  });
  if (outcome.kind === 'dry-run') say('dry run: nothing was changed');
  if (outcome.kind === 'declined') say('nothing was changed');
  if (outcome.kind !== 'ran') return outcome.kind;
  if (outcome.plan.nothing) return 'nothing';
  const run = outcome.result;
  for (const [where, lines] of Object.entries(run.actions)) {
    for (const l of lines) process.stderr.write(`  ${where}: ${l}\n`);
  }
  if (run.error) throw run.error;
  return 'ran';
}

const member: Command = {
  summary: 'list, add (and start) or remove etcd members',
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        'no-snapshot': { type: 'boolean' },
        json: { type: 'boolean' },
        start: { type: 'boolean' },
        yes: { type: 'boolean', short: 'y' },
        'dry-run': { type: 'boolean' },
        'break-lock': { type: 'boolean' },
      },
      usage,
    );
    const [sub, file, target] = requirePositionals(positionals, ['list|add|remove', 'INVENTORY'], usage);
    if (sub !== 'list' && sub !== 'add' && sub !== 'remove')
      throw new InputError(`unknown member command '${sub}'\n${usage}`);
    if (sub !== 'list' && !target)
      throw new InputError(`missing ${sub === 'add' ? 'NAME' : 'NAME|ID'}\n${usage}`);
    const inv = await loadInventory(file!);
    printWarnings(inv, { plaintext: true });
    const noSnapshot = skipsSnapshot(values);
    // A joining member gets the operator's certificates (tls.mode files): checked before any host is reached.
    if (sub === 'add') await checkUserTls(inv);
    const options = {
      dryRun: values['dry-run'] ?? false,
      yes: values.yes ?? false,
      mode: progressMode(false),
      command: `tskv member ${argv.join(' ')}`,
      breakLock: values['break-lock'] ?? false,
    };
    return withCluster(inv, 'silent', options.dryRun, async (live) => {
      if (sub === 'list') {
        const list = await live.memberList();
        if (values.json) say(JSON.stringify(list, null, 2));
        else say(formatMemberList(list.members));
        return EXIT_OK;
      }
      const rerun = `tskv member ${sub} ${inv.file} ${target}${values.start ? ' --start' : ''}`;
      if (sub === 'remove') {
        const before = await live.memberList();
        const gone = before.members.find((m) => m.name === target || m.idHex === target);
        const done = await change(
          live,
          () => planMemberRemove(live, target!, rerun, noSnapshot ? undefined : { keep: inv.snapshots.keep }),
          options,
        );
        if (done === 'ran' && gone) say(formatMemberRemoved(gone.id, before.clusterId));
        return EXIT_OK;
      }
      const start = values.start ?? false;
      const host = inv.hosts.find((h) => h.name === target);
      const addedBefore = host ? memberAt(inv, (await live.memberList()).members, host) : undefined;
      const done = await change(live, () => planMemberAdd(live, target!, { start, rerun }), options);
      if (done !== 'ran' || !host) return EXIT_OK;
      const list = await live.memberList();
      const m = memberAt(inv, list.members, host);
      if (!m) return EXIT_OK;
      if (addedBefore) say(`${target} was added earlier (${m.idHex}) but never started`);
      else say(formatMemberAdded(m.id, list.clusterId, false));
      say(formatMemberAddEnv(target!, list.members, [peerUrl(host, inv)], m.id));
      if (start) say(`${target} started and healthy`);
      return EXIT_OK;
    });
  },
};

export default member;
