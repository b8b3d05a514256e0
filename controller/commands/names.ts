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
] as const;

/** `tskv __complete CWORD WORDS...`: the shell completion scripts' helper. */
export const HIDDEN = ['__complete'] as const;

export type CommandName = (typeof COMMANDS)[number] | (typeof HIDDEN)[number];
