import { routes } from '../../agent/api/index.ts';
import { EXIT_OK, InputError, TskvError } from '../errors.ts';
import {
  formatMemberAddEnv,
  formatMemberAdded,
  formatMemberList,
  formatMemberRemoved,
} from '../etcd/index.ts';
import { waitFor } from '../etcd/wait.ts';
import { loadInventory } from '../inventory/load.ts';
import type { Inventory } from '../inventory/model.ts';
import { checkAdd, checkRemove, type Verdict } from '../ops/member-plan.ts';
import { oldDataDirs } from '../ops/replace-plan.ts';
import { LiveCluster } from '../plays/member-cluster.ts';
import { runStep, stepContext } from '../plays/replace-steps.ts';
import { openSession } from '../plays/session.ts';
import { peerUrl } from '../render/urls.ts';
import { parseCommandArgs, requirePositionals } from './args.ts';
import { confirmChange } from './confirm.ts';
import type { Command } from './types.ts';

const usage = `usage: tskv member list INVENTORY [--json]
       tskv member add INVENTORY NAME [--start]
       tskv member remove INVENTORY NAME|ID [--yes] [--dry-run]

list prints the members as etcdctl member list does. add registers inventory host NAME and prints
the ETCD_NAME / ETCD_INITIAL_CLUSTER / ETCD_INITIAL_CLUSTER_STATE="existing" block as etcdctl
does; --start also installs etcd on the host, starts it, and waits until it is healthy. remove
checks that quorum is kept, removes the member through a voting member, stops etcd on its host
and moves its data dir aside (never deleting it).`;

function accept<T>(v: Verdict<T>, what: string): T {
  if (v.ok) return v.value;
  throw new TskvError('E_REFUSED', `${what} refused, nothing was changed: ${v.reason}`, {
    step: 'plan',
    ...(v.fix ? { fix: v.fix } : {}),
  });
}

async function withCluster<T>(inv: Inventory, fn: (live: LiveCluster) => Promise<T>): Promise<T> {
  const session = await openSession(inv, 'silent');
  const live = new LiveCluster(session);
  try {
    return await fn(live);
  } finally {
    await live.close();
    await session.close();
  }
}

const note = (line: string) => process.stderr.write(`${line}\n`);

/** What clearing a host for a new member would stop or move, from its facts ([] when nothing). */
async function whatClearingStops(live: LiveCluster, name: string, dataDir: string): Promise<string[]> {
  const ch = live.session.hosts.get(name);
  if (!ch) return [];
  const facts = await ch.agent.call(routes.facts, { dataDir }, { step: 'facts' });
  return [
    ...(facts.etcd.running.length > 0
      ? [`stop the etcd running on ${name} (pid ${facts.etcd.running.map((p) => p.pid).join(', ')})`]
      : []),
    ...(facts.etcd.dataDir.hasData ? [`move the etcd data in ${dataDir} aside`] : []),
  ];
}

async function add(
  live: LiveCluster,
  name: string,
  start: boolean,
  dryRun: boolean,
  yes: boolean,
): Promise<void> {
  const inv = live.session.inventory;
  const target = accept(checkAdd(inv, await live.view(), name), `member add ${name}`);
  const ctx = stepContext(live, note);
  const url = peerUrl(target.host, inv);
  if (target.kind === 'already') {
    process.stdout.write(`${name} is already a member (${target.member.idHex})\n`);
    return;
  }
  if (dryRun) {
    const plan = [
      ...(start
        ? [
            `stop any etcd on ${name} and move ${target.host.dataDir} aside`,
            `install etcd ${inv.etcd.version} on ${name} and open ports ${inv.cluster.clientPort}/tcp and ${inv.cluster.peerPort}/tcp`,
          ]
        : []),
      ...(target.kind === 'add' ? [`add ${name} (${url}) to the cluster as a voting member`] : []),
      ...(start
        ? [`start etcd on ${name} with --initial-cluster-state existing and wait until it is healthy`]
        : []),
    ];
    process.stdout.write(
      `${plan.map((l, i) => `  ${i + 1}. ${l}`).join('\n')}\ndry run: nothing was changed\n`,
    );
    return;
  }
  if (start) {
    // Something of etcd's already on the host (another cluster's?) is never stopped without asking.
    const disruptive = await whatClearingStops(live, name, target.host.dataDir);
    if (
      disruptive.length > 0 &&
      !(await confirmChange(
        yes,
        disruptive.join(' and '),
        `tskv member add ${inv.file} ${name} --start --yes`,
      ))
    ) {
      process.stdout.write('nothing was changed\n');
      return;
    }
    // The host is made ready before the cluster changes: a voter that cannot start costs fault tolerance.
    note(`preparing ${name}`);
    const dataDirs = [target.host.dataDir];
    await runStep(ctx, { op: 'clear-host', host: name, dataDirs, why: 'a fresh data dir' });
    await runStep(ctx, { op: 'prepare-host', host: name });
  }
  if (target.kind === 'add')
    await runStep(ctx, { op: 'add-member', host: name, peerURLs: [url], learner: false });
  // The member list can come from a member that has not applied the add yet.
  const { list, member } = await waitFor(
    async () => {
      const l = await live.memberList();
      const m = l.members.find((x) => x.peerURLs.includes(url));
      return m ? { list: l, member: m } : undefined;
    },
    { deadlineMs: 10_000, intervalMs: 200, describe: `${name} to appear in the member list` },
  );
  if (target.kind === 'add') process.stdout.write(`${formatMemberAdded(member.id, list.clusterId, false)}\n`);
  else process.stdout.write(`${name} was added earlier (${member.idHex}) but never started\n`);
  process.stdout.write(`${formatMemberAddEnv(name, list.members, [url], member.id)}\n`);
  if (!start) return;
  note(`starting ${name}`);
  await runStep(ctx, { op: 'start-member', host: name });
  await runStep(ctx, { op: 'wait-healthy', host: name });
  process.stdout.write(`${name} started and healthy\n`);
}

async function remove(live: LiveCluster, nameOrId: string, yes: boolean, dryRun: boolean): Promise<void> {
  const inv = live.session.inventory;
  const view = await live.view();
  const { member, host } = accept(checkRemove(inv, view, nameOrId), `member remove ${nameOrId}`);
  const label = member.name || member.idHex;
  const dirs = host ? oldDataDirs(member.name || host.name, host) : [];
  const plan = [
    `remove ${label} (${member.idHex}) from the cluster through a voting member`,
    host
      ? `stop etcd on ${host.name} and move ${dirs.join(', ')} aside`
      : `no inventory host has ${label}'s address: stop etcd there by hand`,
  ];
  process.stdout.write(`${plan.map((l, i) => `  ${i + 1}. ${l}`).join('\n')}\n`);
  if (dryRun) return;
  if (
    !(await confirmChange(
      yes,
      `remove ${label} from the cluster`,
      `tskv member remove ${inv.file} ${nameOrId} --yes`,
    ))
  ) {
    process.stdout.write('nothing was changed\n');
    return;
  }
  const ctx = stepContext(live, note);
  await runStep(ctx, { op: 'move-leader-away', id: member.id, name: label });
  await runStep(ctx, { op: 'remove-member', id: member.id, name: label });
  process.stdout.write(`${formatMemberRemoved(member.id, view.clusterId)}\n`);
  if (host)
    await runStep(ctx, { op: 'clear-host', host: host.name, dataDirs: dirs, why: `${label} was removed` });
}

const member: Command = {
  summary: 'list, add (and start) or remove etcd members',
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        json: { type: 'boolean' },
        start: { type: 'boolean' },
        yes: { type: 'boolean', short: 'y' },
        'dry-run': { type: 'boolean' },
      },
      usage,
    );
    const [sub, file, target] = requirePositionals(positionals, ['list|add|remove', 'INVENTORY'], usage);
    const inv = await loadInventory(file!);
    switch (sub) {
      case 'list':
        return withCluster(inv, async (live) => {
          const list = await live.memberList();
          if (values.json) process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
          else process.stdout.write(`${formatMemberList(list.members)}\n`);
          return EXIT_OK;
        });
      case 'add':
      case 'remove': {
        if (!target) throw new InputError(`missing ${sub === 'add' ? 'NAME' : 'NAME|ID'}\n${usage}`);
        return withCluster(inv, async (live) => {
          // One membership change at a time: a replacement in progress owns the cluster until it ends.
          const journal = await live.readJournal();
          if (journal) {
            throw new TskvError(
              'E_REFUSED',
              `member ${sub} refused, nothing was changed: a replacement is in progress`,
              {
                step: 'plan',
                fix: 'tskv status shows it; re-run that tskv replace command to finish it first',
              },
            );
          }
          if (sub === 'add')
            await add(live, target, values.start ?? false, values['dry-run'] ?? false, values.yes ?? false);
          else await remove(live, target, values.yes ?? false, values['dry-run'] ?? false);
          return EXIT_OK;
        });
      }
      default:
        throw new InputError(`unknown member command '${sub}'\n${usage}`);
    }
  },
};

export default member;
