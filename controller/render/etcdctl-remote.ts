/**
 * `tskv etcdctl`'s side on the member's host: one POSIX sh script, run over SSH, that runs the
 * etcdctl tskv installed with tskv's environment (etcdctl-env.ts) and the rest of its stdin.
 *
 * With TLS the client identity arrives first on stdin, never in a command line (/proc/PID/cmdline
 * is world-readable) nor on a disk: a header line with each file's line count, then the files'
 * lines. The shell's `read` takes a pipe one byte at a time, so exactly the identity is consumed
 * and etcdctl gets the rest (head, dd and cat may read ahead). The files go to a fresh 0700
 * directory on a tmpfs (/run, else /dev/shm), removed when the script ends, however it ends short
 * of SIGKILL (it is spawned with stopOnDisconnect: a dropped SSH connection TERMs it). As root,
 * etcdctl runs as the etcd user (setpriv), who then owns that directory; as anyone else, as that
 * user.
 */
import { ETCD_BIN_DIR, ETCD_INSTALL_ROOT, ETCD_USER, etcdVersionDir } from '../../agent/api/index.ts';
import { ETCDCTL_IDENTITY_FILES } from './etcdctl-env.ts';
import { shellJoin, shellQuote } from './shell-quote.ts';

/** The script's own failures (no etcdctl, no etcd account, no tmpfs): etcdctl never exits with it. */
export const ETCDCTL_SETUP_FAILED = 125;

/** The first line on stdin before the identity's files (their line counts follow it). */
export const IDENTITY_HEADER = 'tskv-identity/1';

export interface RemoteEtcdctl {
  /** The host's name, for messages. */
  host: string;
  /** The inventory's etcd version: its etcdctl is preferred. */
  version: string;
  /** ETCDCTL_API, ETCDCTL_ENDPOINTS (etcdctlEndpointVars). */
  vars: [string, string][];
  /** TLS on: the identity comes first on stdin (identityPreamble). */
  tls: boolean;
  /** etcdctl's arguments. */
  args: string[];
}

/** Where things are on the host; the unit tests point them elsewhere. */
export interface RemoteLayout {
  installRoot: string;
  binDir: string;
  /** The account a root login runs etcdctl as. */
  user: string;
  /** Where a root login may make the identity's directory: the first tmpfs of these. */
  rootTmpfs: string[];
}

export const HOST_LAYOUT: RemoteLayout = {
  installRoot: ETCD_INSTALL_ROOT,
  binDir: ETCD_BIN_DIR,
  user: ETCD_USER,
  rootTmpfs: ['/run', '/dev/shm'],
};

/** The identity as it goes on stdin ahead of the user's input: header, then each file's lines. */
export function identityPreamble(files: readonly string[]): string {
  const lines = files.map((text) => text.replace(/\r?\n$/, '').split(/\r?\n/));
  return [`${IDENTITY_HEADER} ${lines.map((l) => l.length).join(' ')}`, ...lines.flat(), ''].join('\n');
}

/** The script (shell text with no secret in it: the identity travels on stdin). */
export function etcdctlScript(run: RemoteEtcdctl, layout: RemoteLayout = HOST_LAYOUT): string {
  const q = shellQuote;
  const programs = [`${etcdVersionDir(run.version, layout.installRoot)}/etcdctl`, `${layout.binDir}/etcdctl`];
  const identityVars = ETCDCTL_IDENTITY_FILES.map((v) => `${v.name}="$d"/${q(v.file)}`).join(' ');
  const takes = ETCDCTL_IDENTITY_FILES.map((v, i) => `take "$n${i}" >"$d"/${q(v.file)}`).join(' && ');
  const counts = ETCDCTL_IDENTITY_FILES.map((_, i) => `n${i}`).join(' ');
  return [
    'set -u',
    'umask 077',
    `fail() { printf '%s\\n' "tskv etcdctl: "${q(run.host)}": $1" >&2; exit ${ETCDCTL_SETUP_FAILED}; }`,
    // The etcdctl tskv installed: the inventory's version, else the one its link names.
    'bin=',
    `for b in ${shellJoin(programs)}; do`,
    '  r=$(readlink -f -- "$b" 2>/dev/null) || continue',
    `  case $r in ${q(layout.installRoot)}/*) if [ -x "$r" ]; then bin=$r; break; fi ;; esac`,
    'done',
    `[ -n "$bin" ] || fail ${q(`no etcdctl installed by tskv (${programs.join(', ')}): run tskv deploy`)}`,
    'tmpfs() { for b in "$@"; do',
    '  if [ -n "$b" ] && [ -d "$b" ] && [ -w "$b" ] && [ "$(stat -f -c %T -- "$b" 2>/dev/null)" = tmpfs ]; then echo "$b"; return 0; fi',
    'done; return 1; }',
    'if [ "$(id -u)" = 0 ]; then',
    `  uid=$(id -u ${q(layout.user)} 2>/dev/null) && gid=$(id -g ${q(layout.user)} 2>/dev/null) ||`,
    `    fail ${q(`no ${layout.user} account to run etcdctl as (tskv deploy creates it)`)}`,
    `  command -v setpriv >/dev/null 2>&1 || fail ${q(`setpriv (util-linux) is missing: etcdctl would run as root, not as ${layout.user}`)}`,
    '  set -- setpriv --reuid="$uid" --regid="$gid" --clear-groups --no-new-privs -- "$bin"',
    `  tmp=$(tmpfs ${shellJoin(layout.rootTmpfs)}) || tmp=`,
    'else',
    '  set -- "$bin"',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text, not a template
    '  tmp=$(tmpfs "${XDG_RUNTIME_DIR:-}" "/run/user/$(id -u)" /dev/shm) || tmp=',
    'fi',
    ...(run.tls
      ? [
          '[ -n "$tmp" ] || fail "no writable tmpfs for the client key (/run, /run/user/UID, /dev/shm)"',
          'd=',
          `trap 'if [ -n "$d" ]; then rm -rf -- "$d"; fi' EXIT`,
          "trap 'exit 129' HUP",
          "trap 'exit 130' INT",
          "trap 'exit 143' TERM",
          // With the SSH session gone, the shell's own "Terminated" for etcdctl meets a broken pipe.
          "trap 'exit 141' PIPE",
          'd=$(mktemp -d "$tmp/tskv-etcdctl.XXXXXXXX") || fail "cannot make a directory in $tmp"',
          // read and printf are built in: no line of the key becomes a process's argument.
          'take() { i=0; while [ "$i" -lt "$1" ]; do IFS= read -r l || return 1; printf \'%s\\n\' "$l"; i=$((i+1)); done; }',
          `IFS=' ' read -r tag ${counts} rest || fail "no client identity on stdin"`,
          `[ "$tag" = ${IDENTITY_HEADER} ] || fail "stdin does not start with the client identity"`,
          `case "${ETCDCTL_IDENTITY_FILES.map((_, i) => `$n${i}`).join('')}" in '' | *[!0-9]*) fail "a bad client identity header" ;; esac`,
          `${takes} || fail "the client identity did not arrive whole"`,
          'if [ "$(id -u)" = 0 ]; then chown -R "$uid:$gid" "$d" || fail "cannot hand $d to the etcdctl user"; fi',
          `export ${identityVars}`,
        ]
      : []),
    `export ${run.vars.map(([name, value]) => `${name}=${q(value)}`).join(' ')}`,
    // Not exec (nor the script's last command, which a shell may exec): it stays to remove the identity.
    `"$@" ${shellJoin(run.args)}`,
    'exit $?',
  ].join('\n');
}
