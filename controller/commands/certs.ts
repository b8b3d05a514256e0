import { InputError } from '../errors.ts';
import { loadInventory } from '../inventory/load.ts';
import type { RotatePlan } from '../ops/rotate-plan.ts';
import { formatSteps, stepLine } from '../plan/plan.ts';
import { type RotateResult, runRotate } from '../plays/certs-rotate.ts';
import { parseCommandArgs, requirePositionals } from './args.ts';
import { printPlayResult, runPlayCommand } from './play-command.ts';
import type { Command } from './types.ts';
import { skipsSnapshot } from './warnings.ts';

const usage = `usage: tskv certs rotate INVENTORY [--ca] [--dry-run] [--yes] [--no-snapshot] [--break-lock]

With tls.mode auto: issues every member's server and peer certificates and tskv's client
certificate again now, rolls them out by a rolling restart (one member at a time, each healthy
before the next), then revokes the replaced ones: members refuse them from then on.
  --ca          rotate the CA itself, without downtime, in three rolling passes: every member trusts
                the old and a new CA, then gets certificates of the new one, then trusts only it
  --dry-run     print the plan and stop (nothing changes, in the PKI folder or on any host)
  --yes         restart members without asking (needed without a TTY)
  --no-snapshot restart members without first keeping a snapshot of the cluster's data on the
                first host
  --break-lock  end the hold of another run on the cluster lock
A run stopped anywhere (Ctrl-C, a lost connection) is finished by running the same command again:
the PKI folder records where the rotation stands. Each completed run rotates again.
Exit code: 0 rotated, 1 failed, 2 bad input.`;

function showPlan(plan: RotatePlan): void {
  const what = plan.kind === 'ca' ? 'rotate the CA' : 'rotate the certificates';
  const resumed = plan.resumes
    ? `, resuming the rotation in progress${plan.resumes.phase ? ` (phase ${plan.resumes.phase})` : ''}`
    : '';
  process.stdout.write(`${what}${resumed}:\n`);
  process.stdout.write(formatSteps(plan.steps.map((s) => ({ ...s, title: stepLine(s) }))));
}

function printResult(r: RotateResult): void {
  const out = process.stdout;
  if (!printPlayResult(r, 'certs rotate')) return;
  const restarted = [...new Set(r.steps.filter((s) => s.kind === 'restart').map((s) => s.host))];
  out.write(
    `rotated: ${restarted.length ? `restarted ${restarted.join(', ')} one at a time` : 'no member needed a restart'}\n`,
  );
  const v = r.verify;
  if (v)
    out.write(
      `verified: ${v.members.length} members healthy, leader ${v.leader}, ${v.key.name} written and read back\n`,
    );
}

const certs: Command = {
  summary: 'rotate the TLS certificates, or the CA, by rolling restarts (tls.mode auto)',
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        ca: { type: 'boolean' },
        'dry-run': { type: 'boolean' },
        yes: { type: 'boolean', short: 'y' },
        'break-lock': { type: 'boolean' },
        'no-snapshot': { type: 'boolean' },
      },
      usage,
    );
    const [sub, file] = requirePositionals(positionals, ['rotate', 'INVENTORY'], usage);
    if (sub !== 'rotate') throw new InputError(`unknown certs command '${sub}'\n${usage}`);
    if (positionals.length > 2) throw new InputError(`unexpected argument '${positionals[2]}'\n${usage}`);
    const inv = await loadInventory(file!);
    for (const w of inv.warnings) process.stderr.write(`warning: ${w}\n`);
    const noSnapshot = skipsSnapshot(values);
    const dryRun = values['dry-run'] ?? false;
    const ca = values.ca ?? false;
    return runPlayCommand(
      inv,
      dryRun,
      (session) =>
        runRotate(session, {
          kind: ca ? 'ca' : 'certs',
          dryRun,
          yes: values.yes ?? false,
          rerun: `tskv certs rotate ${inv.file}${ca ? ' --ca' : ''} --yes`,
          command: `tskv certs ${argv.join(' ')}`,
          breakLock: values['break-lock'] ?? false,
          noSnapshot,
          showPlan,
        }),
      printResult,
    );
  },
};

export default certs;
