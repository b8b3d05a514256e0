import { constants } from 'node:os';
import type { SshHostConnection } from '../connect/connection.ts';
import { connect } from '../connect/index.ts';
import { InputError, TskvError } from '../errors.ts';
import { loadInventory } from '../inventory/load.ts';
import { stream } from '../plays/etcdctl.ts';
import { findHost } from '../render/settings.ts';
import { parseCommandArgs, requirePositionals } from './args.ts';
import { stopOnSignals } from './stop-signals.ts';
import type { Command } from './types.ts';

const usage = `usage: tskv ssh INVENTORY HOST [-- COMMAND...]

Opens an SSH session to HOST (a member name of the inventory) with the inventory's connection
settings (user, port, identity, proxy; the host key verified against known_hosts as every tskv
command does): an interactive shell on a terminal, or COMMAND run with /bin/sh as the SSH user,
its stdin, output and exit code passed through:
  tskv ssh inventory.yaml etcd1
  tskv ssh inventory.yaml etcd1 -- journalctl -u etcd -n 50
Exit code: the command's or the shell's; 2 bad input; 1 SSH failed (the message says why).`;

function split(argv: string[]): { own: string[]; command: string[] } {
  const at = argv.indexOf('--');
  return at < 0 ? { own: argv, command: [] } : { own: argv.slice(0, at), command: argv.slice(at + 1) };
}

async function runCommand(conn: SshHostConnection, command: string): Promise<number> {
  const stop = stopOnSignals();
  try {
    const proc = await conn.spawn(command, { root: false, step: 'run the command', stopOnDisconnect: true });
    const code = await stream(
      proc,
      {
        stdin: process.stdin,
        stdout: process.stdout,
        stderr: process.stderr,
        stop: stop.signal,
      },
      '',
    );
    const stopped = stop.exitCode();
    if (stopped !== undefined) return stopped;
    if (code === null) {
      throw new TskvError('E_SSH_EXEC', 'the command ended without an exit status (the connection closed)', {
        host: conn.host,
        step: 'run the command',
      });
    }
    return code;
  } finally {
    stop.release();
    process.stdin.destroy();
  }
}

async function runShell(conn: SshHostConnection): Promise<number> {
  const out = process.stdout;
  const input = process.stdin;
  const ch = await conn.shell({
    term: process.env.TERM || 'xterm',
    rows: out.rows || 24,
    cols: out.columns || 80,
  });
  const onResize = () => ch.setWindow(out.rows || 24, out.columns || 80, 0, 0);
  out.on('resize', onResize);
  const raw = input.isTTY === true;
  if (raw) input.setRawMode(true);
  input.pipe(ch);
  ch.pipe(out, { end: false });
  ch.stderr.pipe(process.stderr, { end: false });
  try {
    return await new Promise<number>((resolve) => {
      let code = 255;
      ch.once('exit', (c: number | null, signal?: string) => {
        code = typeof c === 'number' ? c : 128 + (constants.signals[signal as NodeJS.Signals] ?? 0);
      });
      ch.once('close', () => resolve(code));
    });
  } finally {
    out.off('resize', onResize);
    input.unpipe(ch);
    if (raw) input.setRawMode(false);
    input.destroy();
  }
}

const ssh: Command = {
  summary: "open a shell or run one command on a host with the inventory's SSH settings",
  usage,
  async run(argv) {
    const { own, command } = split(argv);
    const { positionals } = parseCommandArgs(own, {}, usage);
    const [file, name] = requirePositionals(positionals, ['INVENTORY', 'HOST'], usage);
    if (positionals.length > 2) {
      throw new InputError(`unexpected argument '${positionals[2]}' (the command goes after --)\n${usage}`);
    }
    const inv = await loadInventory(file!);
    for (const warning of inv.warnings) process.stderr.write(`warning: ${warning}\n`);
    const spec = findHost(inv, name!);
    if (!spec) {
      throw new InputError(
        `${file} has no host '${name}' (its hosts: ${inv.hosts.map((h) => h.name).join(', ')})`,
      );
    }
    const conn = await connect(spec, { requireRoot: false });
    try {
      if (command.length > 0) return await runCommand(conn, command.join(' '));
      if (!process.stdin.isTTY) {
        throw new InputError(
          'without a command, tskv ssh opens an interactive shell and needs a terminal (give the command after --)',
        );
      }
      return await runShell(conn);
    } finally {
      conn.close();
    }
  },
};

export default ssh;
