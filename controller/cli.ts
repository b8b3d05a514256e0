#!/usr/bin/env node
// First: zod reads its settings when a schema is made, and command modules make schemas on import.
import '../agent/api/zod-config.ts';
import { enableCompileCache } from 'node:module';
import { COMMANDS, type CommandName, HIDDEN } from './commands/names.ts';
import type { Command } from './commands/types.ts';
import { EXIT_BAD_INPUT, exitCodeOf, formatError } from './errors.ts';
import { FORKS_USAGE, setForks, takeForks } from './run/forks.ts';

function isCommand(name: string | undefined): name is CommandName {
  return (
    (COMMANDS as readonly string[]).includes(name ?? '') || (HIDDEN as readonly string[]).includes(name ?? '')
  );
}

// V8's code cache for the controller's modules (~100 ms of every run): commands are imported after this.
enableCompileCache();

async function load(name: CommandName): Promise<Command | undefined> {
  try {
    const mod = (await import(`./commands/${name}.ts`)) as { default: Command };
    return mod.default;
  } catch (err) {
    if (
      (err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' &&
      String(err).includes(`commands/${name}.ts`)
    ) {
      return undefined;
    }
    throw err;
  }
}

async function help(): Promise<string> {
  const lines = ['usage: tskv <command> [options]', '', 'commands:'];
  for (const name of COMMANDS) {
    const cmd = await load(name);
    if (cmd) lines.push(`  ${name.padEnd(10)} ${cmd.summary}`);
  }
  lines.push(
    '',
    'options of every command (before or after its name):',
    `  ${FORKS_USAGE}`,
    "  --version     tskv's version, the agent build and the Node version (also: tskv version)",
    '',
    "Run 'tskv <command> --help' for a command's options.",
  );
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  // The completion helper's words are the user's line, not options to it.
  const global = argv[0] === '__complete' ? { argv, forks: undefined } : takeForks(argv);
  setForks(global.forks);
  const [first, ...rest] = global.argv;
  const name = first === '--version' || first === '-V' ? 'version' : first;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${await help()}\n`);
    return name === undefined ? EXIT_BAD_INPUT : 0;
  }
  const cmd = isCommand(name) ? await load(name) : undefined;
  if (!cmd) {
    process.stderr.write(`tskv: unknown command '${name}'\n${await help()}\n`);
    return EXIT_BAD_INPUT;
  }
  // After `--` the words are another program's (tskv etcdctl INV -- get --help).
  const own = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
  if (name !== '__complete' && (own.includes('--help') || own.includes('-h'))) {
    process.stdout.write(`${cmd.usage}\n`);
    return 0;
  }
  return cmd.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`tskv: ${formatError(err)}\n`);
    if (process.env.TSKV_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = exitCodeOf(err);
  },
);
