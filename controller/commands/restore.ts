import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { TskvError } from '../errors.ts';
import { loadInventory } from '../inventory/load.ts';
import type { Inventory } from '../inventory/model.ts';
import { type RestorePlan, restoreToken } from '../ops/restore-plan.ts';
import { checkSnapshotStream, otherCluster, type SnapshotMember } from '../ops/snapshot-file.ts';
import { checkUserTls } from '../pki/index.ts';
import { formatSteps, stepLine } from '../plan/plan.ts';
import { type CheckedFile, type RestoreResult, runRestore } from '../plays/restore.ts';
import { peerUrl } from '../render/urls.ts';
import { parseCommandArgs, requirePositionals } from './args.ts';
import { printPlayResult, runPlayCommand } from './play-command.ts';
import type { Command } from './types.ts';

const usage = `usage: tskv restore INVENTORY FILE [--dry-run] [--yes] [--no-snapshot] [--break-lock]

Rebuilds the whole cluster from FILE, a snapshot saved through etcd's API (tskv snapshot save,
etcdctl snapshot save). The file is checked first (its trailing sha256, then etcd's snapshot
status on every host it is streamed to). Then, when a member answers, the current data is
snapshotted on a healthy member (kept in its host's /var/lib/tskv/snapshots); every member stops,
every data dir is moved aside (kept as <dataDir>.removed-<time>, never deleted), each member is
restored with the inventory's name and peer URL and a new initial-cluster-token, all start
together, and the cluster is verified.
Writes made after the snapshot are rolled back: the plan says how many revisions.
  --dry-run     print the plan and stop (nothing changes; the uploaded copies are removed)
  --yes         go ahead without asking (needed without a TTY), and restore a snapshot whose
                members are not the inventory's (another cluster's)
  --no-snapshot do not snapshot the current data first (a warning; the data dirs are still kept aside)
  --break-lock  end the hold of another run on the cluster lock
Exit code: 0 restored, 1 failed or refused (nothing changed when refused), 2 bad input.`;

/** The file as the controller reads it, streamed once: there, a snapshot, intact. */
export async function checkFile(path: string): Promise<CheckedFile & { members: SnapshotMember[] }> {
  const info = await stat(path).catch(() => null);
  if (!info?.isFile()) {
    throw new TskvError(
      'E_SNAPSHOT_MISSING',
      `${path} ${info ? 'is not a regular file' : 'does not exist'}: nothing was changed`,
      { step: 'check the snapshot', fix: 'give the path of a snapshot file (tskv snapshot save makes one)' },
    );
  }
  const check = await checkSnapshotStream(createReadStream(path, { highWaterMark: 1024 * 1024 }));
  if (!check.ok) {
    throw new TskvError(
      'E_SNAPSHOT_CORRUPT',
      `${path} cannot be restored: ${check.problem}; nothing was changed`,
      {
        step: 'check the snapshot',
        fix: 'restore from another snapshot file (tskv snapshot list shows them)',
      },
    );
  }
  return { path, size: check.size, sha256: check.sha256, members: check.members };
}

function showPlan(plan: RestorePlan): void {
  const s = plan.snapshot;
  process.stdout.write(
    `restore from ${s.file} (${s.size} bytes, sha256 ${s.sha256.slice(0, 16)}…, revision ${s.revision}, ${s.totalKey} keys in its database):\n`,
  );
  process.stdout.write(`  ${plan.rollback}\n`);
  for (const w of plan.warnings) process.stdout.write(`  warning: ${w}\n`);
  process.stdout.write(formatSteps(plan.steps.map((x) => ({ ...x, title: stepLine(x) }))));
}

function printResult(r: RestoreResult): void {
  if (printPlayResult(r, 'restore')) for (const line of r.verified) process.stdout.write(`${line}\n`);
}

/** Another cluster's snapshot: a warning with --yes (or in a dry run), else a refusal. */
function checkOwner(inv: Inventory, members: SnapshotMember[], yes: boolean, dryRun: boolean, rerun: string) {
  const other = otherCluster(
    members,
    inv.hosts.map((h) => ({ name: h.name, peerUrl: peerUrl(h, inv) })),
  );
  if (!other) return;
  const warning = `the snapshot may be another cluster's: ${other}`;
  if (yes || dryRun) {
    process.stderr.write(`warning: ${warning}\n`);
    return;
  }
  throw new TskvError('E_SNAPSHOT_OTHER_CLUSTER', `${warning}; nothing was changed`, {
    step: 'check the snapshot',
    fix: `if this is the snapshot you mean to restore, re-run with --yes: ${rerun}`,
  });
}

const restore: Command = {
  summary: 'rebuild the whole cluster from a snapshot file (every member stopped, restored, started)',
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        'dry-run': { type: 'boolean' },
        yes: { type: 'boolean', short: 'y' },
        'no-snapshot': { type: 'boolean' },
        'break-lock': { type: 'boolean' },
      },
      usage,
    );
    const [invFile, snapshotFile] = requirePositionals(positionals, ['INVENTORY', 'FILE'], usage);
    const inv = await loadInventory(invFile!);
    for (const w of inv.warnings) process.stderr.write(`warning: ${w}\n`);
    await checkUserTls(inv); // tls.mode files: before any host is reached
    const dryRun = values['dry-run'] ?? false;
    const yes = values.yes ?? false;
    const path = resolve(snapshotFile!);
    const rerun = `tskv restore ${inv.file} ${path} --yes`;
    const file = await checkFile(path);
    checkOwner(inv, file.members, yes, dryRun, rerun);
    const snapshotFirst = !(values['no-snapshot'] ?? false);
    if (!snapshotFirst) {
      process.stderr.write(
        'warning: --no-snapshot: the current data is not snapshotted first (its data dirs are still moved aside, not deleted)\n',
      );
    }
    return runPlayCommand(
      inv,
      dryRun,
      (session) =>
        runRestore(session, {
          file,
          token: restoreToken(inv.cluster.token, new Date()),
          snapshotFirst,
          dryRun,
          yes,
          rerun,
          command: `tskv restore ${argv.join(' ')}`,
          breakLock: values['break-lock'] ?? false,
          showPlan,
        }),
      printResult,
    );
  },
};

export default restore;
