/**
 * The one shell command that starts the resident agent on a host, and installs it first when the
 * host lacks this build, all on one SSH channel:
 *   1. the binary is there with the build's size: start it (below);
 *   2. else print {"missing":true,...} and read one header line from stdin: `zstd N` or `gzip N`
 *      (then N bytes of the packed executable follow on stdin), or `skip` (exit);
 *   3. receive the N bytes into a temporary file, unpack them to a temporary name in the install dir, check the size,
 *      chmod, rename into place, remove older builds, print {"installed":true}, and start it.
 * Starting holds a lock (flock) on the socket's lock file, so concurrent commands never start two
 * agents for one socket: the agent serves only if no live agent answers there (else it prints
 * {"alreadyRunning":true}). It runs in a session of its own (setsid), from /, with stdin from
 * /dev/null, stderr appended to the log, and stdout into `head -n 1`, which passes its one line
 * on: nothing of it holds the channel, which ends once that line is out, and the agent lives on.
 * `head -c N` (GNU coreutils) reads no more than N bytes from a pipe and the shell's `read` takes
 * one byte at a time, so nothing meant for the payload is swallowed.
 */
import { shellQuote } from '../render/shell-quote.ts';
import type { ResidentPaths } from './resident.ts';

/** What the script's exit code says failed (the message is on stderr). */
export const INSTALL_STEP_BY_EXIT: Readonly<Record<number, string>> = {
  2: 'read the payload header',
  3: 'create the install dir',
  4: 'unpack',
  5: 'check the unpacked size',
  6: 'move into place',
};

/** How long a start waits for another start of the same socket to finish. */
const LOCK_WAIT_S = 20;

export interface StartScriptOptions {
  binary: string;
  /** The build's unpacked size: a binary of another size is replaced. */
  size: number;
  resident: ResidentPaths;
  /** The agent exits after this long without a connection. */
  idleTimeoutS: number;
}

export function agentBinaryPath(installDir: string, buildId: string): string {
  return `${installDir}/tskv-agent-${buildId}`;
}

function dirAndName(path: string): [string, string] {
  const slash = path.lastIndexOf('/');
  return [path.slice(0, slash) || '/', path.slice(slash + 1)];
}

/** A shell function `start` that starts the agent under the lock and exits with its first line printed. */
function startFunction(options: StartScriptOptions): string {
  const { resident } = options;
  const serve = [
    'setsid "$b" serve --socket',
    shellQuote(resident.socket),
    `--idle-timeout ${options.idleTimeoutS}`,
    `\${SUDO_UID:+--owner "$SUDO_UID"}`,
    // fd 9 is the lock: the agent must not hold it.
    '</dev/null 2>>"$l" 9>&-',
  ].join(' ');
  return [
    'start() {',
    '  umask 077',
    `  mkdir -p -m 0711 ${shellQuote(resident.runDir)} || exit 7`,
    '  command -v flock >/dev/null && command -v setsid >/dev/null ||',
    '    { echo "tskv: the agent needs flock and setsid (util-linux) on this host" >&2; exit 7; }',
    `  exec 9>>${shellQuote(resident.lock)} && flock -w ${LOCK_WAIT_S} 9 ||`,
    `    { echo "tskv: cannot lock ${resident.lock} within ${LOCK_WAIT_S} s" >&2; exit 7; }`,
    `  l=${shellQuote(resident.log)}`,
    '  : >>"$l"',
    '  umask 022',
    '  cd /',
    // head must not hold the lock (fd 9): killed mid-start, it would keep every later start out.
    `  r=$({ ${serve} & } | head -n 1 9>&-)`,
    '  [ -n "$r" ] || { tail -n 5 "$l" >&2; exit 8; }',
    `  printf '%s\\n' "$r"`,
    '  exit 0',
    '}',
  ].join('\n');
}

export function startScript(options: StartScriptOptions): string {
  const { size, resident } = options;
  const [dir, name] = dirAndName(options.binary);
  return [
    `b=${shellQuote(options.binary)}`,
    startFunction(options),
    `if [ -f "$b" ] && [ "$(stat -c %s "$b")" = ${size} ]; then start; fi`,
    'if command -v zstd >/dev/null 2>&1; then z=true; else z=false; fi',
    `printf '{"missing":true,"hasZstd":%s,"sudoUid":"%s"}\\n' "$z" "$SUDO_UID"`,
    'read -r enc n || exit 0',
    'case "$enc" in zstd|gzip) ;; *) exit 0 ;; esac',
    `case "$n" in ''|*[!0-9]*) echo "tskv: bad payload size '$n'" >&2; exit 2 ;; esac`,
    `d=${shellQuote(dir)}`,
    `t="$d/.${name}.$$.tmp"`,
    'p="$t.$enc"',
    'fail() { rm -f "$t" "$p"; echo "tskv: $2" >&2; exit "$1"; }',
    // A dropped connection ends stdin (the unpack fails and cleans up) or hangs the shell up.
    `trap 'rm -f "$t" "$p"; exit 129' HUP INT TERM`,
    'umask 077',
    'mkdir -p -m 0700 "$d" || fail 3 "cannot create $d"',
    // No sha256 of the packed file any more: zstd's content checksum (the build sets
    // ZSTD_c_checksumFlag) or gzip's CRC, the size check below, SSH's MAC on the way, and the ready
    // line's build id (checked by the controller) catch what it caught, without a second round trip.
    // Received whole, then unpacked from the file: streaming it through a pipe into zstd cost
    // twice the CPU (a wakeup per SSH packet), and three hosts on two cores felt it (~0.25 s).
    'head -c "$n" > "$p" || fail 4 "cannot write $p"',
    `r=$(stat -c %s "$p") && [ "$r" = "$n" ] || fail 4 "received $r of the payload's $n bytes"`,
    'if [ "$enc" = zstd ]; then zstd -d -q -f -o "$t" "$p"; else gzip -dc "$p" > "$t"; fi ||',
    '  fail 4 "unpacking the $enc payload to $t failed"',
    'rm -f "$p"',
    `s=$(stat -c %s "$t") && [ "$s" = ${size} ] || fail 5 "the unpacked agent has $s bytes, the build has ${size}"`,
    'chmod 0755 "$t" && mv -f "$t" "$b" || fail 6 "cannot move $t to $b"',
    // Older builds, and leftovers of installs that were killed.
    `find "$d" -maxdepth 1 -type f -name 'tskv-agent-*' ! -name ${shellQuote(name)} -delete`,
    `find "$d" -maxdepth 1 -type f -name '.tskv-agent-*' -mmin +60 -delete`,
    // Older builds' resident agents are left to idle out; what their stopped agents left goes once
    // quiet for 10 minutes, but never a lock file (a start of that build may hold it right now;
    // they are empty, and /run is cleared at boot).
    `find ${shellQuote(resident.runDir)} -mindepth 1 -maxdepth 1 -name 'agent-*' ! -name ${shellQuote(`agent-${resident.buildId}-*`)} ! -name '*.lock' -mmin +10 \\( -type f -o -type d -empty \\) -delete 2>/dev/null`,
    'trap - HUP INT TERM',
    `echo '{"installed":true}'`,
    'start',
  ].join('\n');
}
