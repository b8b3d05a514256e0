import { InputError } from '../errors.ts';
import { loadInventory } from '../inventory/load.ts';
import { runEtcdctl } from '../plays/etcdctl.ts';
import { ETCDCTL_SETUP_FAILED } from '../render/etcdctl-remote.ts';
import { parseCommandArgs, requirePositionals } from './args.ts';
import { stopOnSignals } from './stop-signals.ts';
import type { Command } from './types.ts';

const usage = `usage: tskv etcdctl INVENTORY [--host NAME] -- ARGS...

Runs etcdctl ARGS (API v3) on a member's host through SSH, so it works where port 2379 is not
reachable from this machine: the etcdctl tskv installed there, every member's client URL as
endpoints (with --host, only NAME's, run on NAME), and with tls.mode auto the client certificate of
the controller's PKI (sent over the SSH channel into a tmpfs directory that is removed when
etcdctl ends; it is never in a command line or on a disk). Without --host it runs on the first
member that answers healthy. etcdctl runs as the SSH user, or as the etcd user when that is root;
file arguments are paths on that host. Its stdin, output and exit code are etcdctl's:
  tskv etcdctl inventory.yaml -- endpoint health --cluster
  echo -n value | tskv etcdctl inventory.yaml -- put key
Exit code: etcdctl's; ${ETCDCTL_SETUP_FAILED} etcdctl could not be started on the host (the message says why),
1 no member is healthy (each host's problem is named), 2 bad input.`;

/** tskv's own arguments, and etcdctl's: everything after the first `--`. */
function splitAtDashes(argv: string[]): { own: string[]; args: string[] } {
  const at = argv.indexOf('--');
  if (at < 0) throw new InputError(`etcdctl's arguments go after --\n${usage}`);
  const args = argv.slice(at + 1);
  if (args.length === 0) throw new InputError(`missing etcdctl's arguments after --\n${usage}`);
  return { own: argv.slice(0, at), args };
}

const etcdctl: Command = {
  summary: "run etcdctl on a healthy member through SSH, with tskv's endpoints and client certificate",
  usage,
  async run(argv) {
    const { own, args } = splitAtDashes(argv);
    const { values, positionals } = parseCommandArgs(own, { host: { type: 'string' } }, usage);
    const [file] = requirePositionals(positionals, ['INVENTORY'], usage);
    if (positionals.length > 1) throw new InputError(`unexpected argument '${positionals[1]}'\n${usage}`);
    const inv = await loadInventory(file!);
    for (const warning of inv.warnings) process.stderr.write(`warning: ${warning}\n`);
    const stop = stopOnSignals();
    try {
      const code = await runEtcdctl(inv, {
        ...(values.host === undefined ? {} : { host: values.host }),
        args,
        stdin: process.stdin,
        stdout: process.stdout,
        stderr: process.stderr,
        stop: stop.signal,
      });
      return stop.exitCode() ?? code;
    } catch (err) {
      const stopped = stop.exitCode();
      if (stopped !== undefined) return stopped;
      throw err;
    } finally {
      stop.release();
      // Reading a terminal keeps the process alive: etcdctl is done with stdin.
      process.stdin.destroy();
    }
  },
};

export default etcdctl;
