/** The commands `tskv` dispatches to commands/<name>.ts, in help order; HIDDEN ones are not in the help. */
export const COMMANDS = [
  'deploy',
  'preflight',
  'ssh-config',
  'render',
  'env',
  'etcdctl',
  'status',
  'member',
  'replace',
  'recover',
  'certs',
  'restore',
  'snapshot',
  'lab',
  'import',
  'ssh',
  'completion',
  'version',
] as const;

/** Options of every command, before or after its name (run/forks.ts), with their placeholders. */
export const GLOBAL_FLAGS: ReadonlyMap<string, string | undefined> = new Map([['--forks', 'N']]);

/** What `tskv` alone takes besides a command. */
export const TOP_FLAGS = ['--version', '--help', '--forks'] as const;

/** `tskv __complete CWORD WORDS...`: the shell completion scripts' helper. */
export const HIDDEN = ['__complete'] as const;

export type CommandName = (typeof COMMANDS)[number] | (typeof HIDDEN)[number];
