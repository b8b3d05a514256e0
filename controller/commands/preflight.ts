import { EXIT_FAILED, EXIT_OK } from '../errors.ts';
import { loadInventory } from '../inventory/load.ts';
import { CONTROLLER_HOST } from '../ops/cert-checks.ts';
import { type CheckResult, formatCheck, worst } from '../ops/checks.ts';
import { checkUserTls } from '../pki/index.ts';
import { runPreflight } from '../plays/preflight.ts';
import { openSession } from '../plays/session.ts';
import { progressMode } from '../run/progress.ts';
import { parseCommandArgs, requirePositionals } from './args.ts';
import type { Command } from './types.ts';
import { printWarnings } from './warnings.ts';

const usage = `usage: tskv preflight INVENTORY [--json] [--allow-existing-data] [--verbose]

Checks every host before anything changes: SSH and host keys, root or passwordless sudo, OS, arch
and init system, free disk at the data dir, free client/peer ports, the host firewall, real
reachability between every pair of hosts, clock skew, existing etcd data, and with tls.mode auto
each certificate's expiry (the PKI folder's and the hosts': under 30 days left warns, expired
fails; tskv deploy renews all but the CA). The facts come from tskv's agent on each host:
preflight pushes and starts it where it is missing (it stays resident for the next command and
exits after 10 idle minutes), and changes nothing else.
Exit code: 0 all checks pass (warnings allowed), 1 a check failed, 2 bad input.`;

/** What the operator reads: one line per failed or warning check, then a summary. */
export function printChecks(checks: CheckResult[], verbose: boolean): void {
  const shown = verbose ? checks : checks.filter((c) => c.status !== 'ok');
  for (const c of shown) process.stdout.write(`${formatCheck(c)}\n`);
  const fails = checks.filter((c) => c.status === 'fail').length;
  const warns = checks.filter((c) => c.status === 'warn').length;
  const hosts = new Set(checks.map((c) => c.host).filter((h) => h !== CONTROLLER_HOST)).size;
  process.stdout.write(
    fails === 0
      ? `preflight passed: ${checks.length} checks on ${hosts} hosts${warns ? `, ${warns} warnings` : ''}\n`
      : `preflight failed: ${fails} of ${checks.length} checks failed${warns ? `, ${warns} warnings` : ''}\n`,
  );
}

const preflight: Command = {
  summary: 'check every host (ssh, firewall, reachability, clock, ports, data) before changing anything',
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        json: { type: 'boolean' },
        'allow-existing-data': { type: 'boolean' },
        verbose: { type: 'boolean', short: 'v' },
      },
      usage,
    );
    const [file] = requirePositionals(positionals, ['INVENTORY'], usage);
    const inv = await loadInventory(file!);
    printWarnings(inv, { plaintext: inv.tls.declared });
    await checkUserTls(inv); // tls.mode files: before any host is reached
    const session = await openSession(inv, progressMode(values.json ?? false));
    try {
      const report = await runPreflight(session, {
        allowExistingData: values['allow-existing-data'] ?? false,
      });
      const verdict = worst(report.checks);
      if (values.json) {
        const agents = Object.fromEntries(
          [...session.hosts].map(([h, ch]) => [h, { uploaded: ch.agentUploaded }]),
        );
        process.stdout.write(
          `${JSON.stringify({ ok: verdict !== 'fail', checks: report.checks, agents }, null, 2)}\n`,
        );
      } else {
        printChecks(report.checks, values.verbose ?? false);
      }
      return verdict === 'fail' ? EXIT_FAILED : EXIT_OK;
    } finally {
      await session.close();
    }
  },
};

export default preflight;
