import { EXIT_FAILED, EXIT_OK, formatErrorDocument } from '../errors.ts';
import { loadInventory } from '../inventory/load.ts';
import { plaintextWarning } from '../inventory/tls-default.ts';
import { formatCheck } from '../ops/checks.ts';
import { checkUserTls } from '../pki/index.ts';
import { formatPlan } from '../plan/print.ts';
import { type DeployResult, runDeploy } from '../plays/deploy.ts';
import { TarballPrefetch, tarballSourceOf } from '../plays/etcd-prefetch.ts';
import { openSession } from '../plays/session.ts';
import { progressMode } from '../run/progress.ts';
import { parseCommandArgs, requirePositionals } from './args.ts';
import type { Command } from './types.ts';
import { printWarnings, skipsSnapshot } from './warnings.ts';

const usage = `usage: tskv deploy INVENTORY [--dry-run] [--yes] [--json] [--step-clock] [--allow-skew] [--allow-existing-data] [--allow-downtime] [--no-snapshot] [--break-lock]

Brings every host to the inventory: preflight (all hosts pass before anything changes), then a plan
per host (install etcd, open the firewall, write the env file, start or restart etcd; hosts added to
the inventory join the cluster one at a time, members whose hosts left it are removed), then the
changes, then proof: every member healthy, one leader, the member list equal to the inventory,
a key written through one member read back through every other.
  --dry-run              print the plan and stop (nothing changes on any host)
  --yes                  restart running members and remove members whose hosts left the inventory
                         without asking (needed without a TTY)
  --json                 one result document on stdout
  --step-clock           step a skewed host's clock to the controller's when its time service cannot fix it
  --allow-skew           start etcd even though host clocks differ by more than 1 s
  --allow-existing-data  start a fully stopped cluster from its members' data dirs
  --allow-downtime       let a change lose quorum for a moment (moving a cluster of fewer than three
                         members to TLS)
  --no-snapshot          restart members without first taking a snapshot of the cluster's data (by
                         default one is kept on a member's host: tskv snapshot list)
  --break-lock           end the hold of another run on the cluster lock (a run that is gone but whose
                         connection hung); without it, a second run fails at once naming the first
Facts are gathered by tskv's agent on each host: --dry-run pushes and starts it where it is missing
and has it exit once the plan is made (an agent already running stays), changing nothing else.
Exit code: 0 done (or nothing to do), 1 failed, 2 bad input.`;

function printResult(r: DeployResult): void {
  const out = process.stdout;
  for (const c of r.preflight.filter((x) => x.status === 'warn')) out.write(`${formatCheck(c)}\n`);
  if (r.error) {
    out.write(`deploy failed: ${formatErrorDocument(r.error)}\n`);
    return;
  }
  if (r.dryRun) {
    out.write('dry run: nothing was changed\n');
    return;
  }
  if (r.started.length) out.write(`started: ${r.started.join(', ')}\n`);
  if (r.restarted.length) out.write(`restarted one at a time: ${r.restarted.join(', ')}\n`);
  if (r.plan?.adds?.length) out.write(`added: ${r.plan.adds.join(', ')}\n`);
  if (r.plan?.removes?.length) out.write(`removed: ${r.plan.removes.join(', ')}\n`);
  for (const h of r.notCleaned) out.write(`warning: ${h} was removed but its host was not cleaned\n`);
  const v = r.verify;
  if (v) {
    out.write(
      `verified: ${v.members.length} members healthy, leader ${v.leader}, cluster version ${v.clusterVersion}, member list equals the inventory, ` +
        `${v.key.name} written via ${v.key.writtenVia} read back via ${v.key.readVia.join(', ')}\n`,
    );
  }
}

const deploy: Command = {
  summary: 'install, configure and start etcd on every host of the inventory, then prove the cluster works',
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        'dry-run': { type: 'boolean' },
        yes: { type: 'boolean', short: 'y' },
        json: { type: 'boolean' },
        'step-clock': { type: 'boolean' },
        'allow-skew': { type: 'boolean' },
        'allow-existing-data': { type: 'boolean' },
        'allow-downtime': { type: 'boolean' },
        'no-snapshot': { type: 'boolean' },
        'break-lock': { type: 'boolean' },
      },
      usage,
    );
    const [file] = requirePositionals(positionals, ['INVENTORY'], usage);
    const json = values.json ?? false;
    const inv = await loadInventory(file!);
    printWarnings(inv, { plaintext: false });
    const noSnapshot = skipsSnapshot(values);
    await checkUserTls(inv); // tls.mode files: before any host is reached
    const dryRun = values['dry-run'] ?? false;
    const command = `tskv deploy ${argv.join(' ')}`;
    const breakLock = values['break-lock'] ?? false;
    // A dry run takes no lock and sends nothing. A real one takes the cluster lock as the hosts
    // connect, and each host's tarball starts as soon as its lock is held (etcd-prefetch.ts).
    const prefetch = dryRun ? undefined : new TarballPrefetch(inv.etcd.version, tarballSourceOf(inv.etcd));
    const session = await openSession(
      inv,
      progressMode(json),
      prefetch ? { lock: { command, breakLock, follower: prefetch } } : {},
    );
    let result: DeployResult;
    try {
      result = await runDeploy(session, {
        dryRun,
        allowSkew: values['allow-skew'] ?? false,
        stepClock: values['step-clock'] ?? false,
        allowExistingData: values['allow-existing-data'] ?? false,
        allowDowntime: values['allow-downtime'] ?? false,
        noSnapshot,
        yes: values.yes ?? false,
        rerun: `tskv deploy ${argv.join(' ')} --yes`,
        command,
        breakLock,
        ...(prefetch ? { prefetch } : {}),
        showPlan: (plan) => {
          if (!json) process.stdout.write(formatPlan(plan));
        },
      });
    } finally {
      await session.close({ leaveNoAgent: dryRun });
    }
    for (const line of [...(result.actions['pki'] ?? []), ...(result.actions['cluster'] ?? [])])
      process.stderr.write(`${line}\n`);
    // Once deploy knows whether it bootstrapped a (TLS) cluster or left a plain one as it was.
    const plain = plaintextWarning(inv);
    if (plain && result.plan) process.stderr.write(`${plain}\n`);
    if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else printResult(result);
    return result.ok ? EXIT_OK : EXIT_FAILED;
  },
};

export default deploy;
