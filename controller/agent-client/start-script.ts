/**
 * The one shell command that starts the resident agent on a host, and installs what the host lacks
 * of this build first, all on one SSH channel. The agent is two files in the install dir: the
 * runtime (`node-<sha>`, the pinned Node, shared by every build of that Node) and the code
 * (`tskv-agent-<buildId>`, the agent's bundle); it runs as `runtime code serve ...`.
 *   1. both are there with the build's sizes: start it (below);
 *   2. else print {"missing":true,"runtime":bool,"code":bool,"canFetch":bool,...} and, for each
 *      missing file in that order, read one header line from stdin: `runtime zstd N` / `code gzip N`
 *      (then N bytes of that file, packed, follow on stdin), or `skip` (exit); or, for the runtime,
 *      `runtime relay URL`: fetch it from another host's relay offer with curl or wget, keep it only
 *      with the build's size and sha256, print {"relayed":true}, else {"relayFailed":"why"} and read
 *      the runtime's header again (the controller then pushes it);
 *   3. receive the N bytes into a temporary file, unpack them to a temporary name in the install
 *      dir, check the size (and the code's sha256: sha256sum, where coreutils has it), chmod, rename into
 *      place; once all are in, remove older files no process runs, print {"installed":true}, and
 *      start it.
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
  10: 'check the sha256',
};

/** How long a start waits for another start of the same socket to finish. */
const LOCK_WAIT_S = 20;

/** One of the agent's files on the host, as the build's manifest describes it. */
export interface HostAgentFile {
  path: string;
  size: number;
  sha256: string;
}

export interface StartScriptOptions {
  /** The Node executable: a file of another size is replaced. */
  runtime: HostAgentFile;
  /** The agent's code: a file of another size is replaced. */
  code: HostAgentFile;
  resident: ResidentPaths;
  /** The agent exits after this long without a connection. */
  idleTimeoutS: number;
}

/** The two files' kinds, in the order the start script receives them. */
export const AGENT_FILE_KINDS = ['runtime', 'code'] as const;
export type AgentFileKind = (typeof AGENT_FILE_KINDS)[number];

/** Makes Node load the extension-less code file as CommonJS, whatever a package.json above says. */
const PACKAGE_JSON = '{"type":"commonjs"}';

export function agentFilePath(installDir: string, file: string): string {
  return `${installDir}/${file}`;
}

function dirAndName(path: string): [string, string] {
  const slash = path.lastIndexOf('/');
  return [path.slice(0, slash) || '/', path.slice(slash + 1)];
}

/** A shell function `start` that starts the agent under the lock and exits with its first line printed. */
function startFunction(options: StartScriptOptions): string {
  const { resident } = options;
  const serve = [
    'setsid "$r" "$b" serve --socket',
    shellQuote(resident.socket),
    `--idle-timeout ${options.idleTimeoutS}`,
    `\${SUDO_UID:+--owner "$SUDO_UID"}`,
    // fd 9 is the lock: the agent must not hold it.
    '</dev/null 2>>"$l" 9>&-',
  ].join(' ');
  return [
    'start() {',
    `  [ -f "$d/package.json" ] || printf '%s\\n' ${shellQuote(PACKAGE_JSON)} > "$d/package.json" || exit 7`,
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
    `  line=$({ ${serve} & } | head -n 1 9>&-)`,
    '  [ -n "$line" ] || { tail -n 5 "$l" >&2; exit 8; }',
    `  printf '%s\\n' "$line"`,
    '  exit 0',
    '}',
  ].join('\n');
}

/**
 * A shell function `receive KIND PATH SIZE SHA256 MODE`: reads KIND's header and payload from
 * stdin and puts the checked file at PATH.
 */
const RECEIVE_FUNCTION = [
  'receive() {',
  ' while :; do',
  '  read -r k enc n || exit 0',
  '  [ "$k" = skip ] && exit 0',
  `  [ "$k" = "$1" ] || { echo "tskv: expected the $1, got '$k'" >&2; exit 2; }`,
  // After the first header: a `skip` leaves no install dir behind.
  '  mkdir -p -m 0700 "$d" || fail 3 "cannot create $d"',
  '  t="$d/.${2##*/}.$$.tmp"',
  '  if [ "$enc" = relay ]; then',
  '    if why=$(relay_get "$n" "$t" "$3" "$6"); then',
  '      chmod "$5" "$t" && mv -f "$t" "$2" || fail 6 "cannot move $t to $2"',
  `      echo '{"relayed":true}'`,
  '      return',
  '    fi',
  '    rm -f "$t"',
  // The controller then sends the file itself, on this channel.
  `    printf '{"relayFailed":"%s"}\\n' "$(printf '%s' "$why" | tr -c 'A-Za-z0-9 ._:/()=,-' ' ' | cut -c 1-300)"`,
  '    continue',
  '  fi',
  '  case "$enc" in zstd|gzip) ;; *) echo "tskv: unknown encoding \'$enc\'" >&2; exit 2 ;; esac',
  `  case "$n" in ''|*[!0-9]*) echo "tskv: bad payload size '$n'" >&2; exit 2 ;; esac`,
  '  p="$t.$enc"',
  // No sha256 of the packed file: zstd's content checksum (the build sets ZSTD_c_checksumFlag) or
  // gzip's CRC, the size of what they unpack (and the code's sha256), SSH's MAC on the way, and the
  // ready line's build id (checked by the controller) catch what it would, without a second round
  // trip. The runtime's sha256 is not checked: 0.3 core-seconds a host for 108 MB, on top of its
  // unpack, while its checksum, its size and the agent starting on it already vouch for it.
  // Received whole, then unpacked from the file: streaming it through a pipe into zstd cost twice
  // the CPU (a wakeup per SSH packet), and three hosts on two cores felt it (~0.25 s).
  '  head -c "$n" > "$p" || fail 4 "cannot write $p"',
  `  x=$(stat -c %s "$p") && [ "$x" = "$n" ] || fail 4 "received $x of the $1's $n bytes"`,
  '  if [ "$enc" = zstd ]; then zstd -d -q -f -o "$t" "$p"; else gzip -dc "$p" > "$t"; fi ||',
  '    fail 4 "unpacking the $enc payload to $t failed"',
  '  rm -f "$p"',
  '  x=$(stat -c %s "$t") && [ "$x" = "$3" ] || fail 5 "the unpacked $1 has $x bytes, the build has $3"',
  '  if [ "$4" != - ] && command -v sha256sum >/dev/null 2>&1; then',
  '    x=$(sha256sum "$t") && [ "${x%% *}" = "$4" ] || fail 10 "the unpacked $1 has sha256 ${x%% *}, the build has $4"',
  '  fi',
  '  chmod "$5" "$t" && mv -f "$t" "$2" || fail 6 "cannot move $t to $2"',
  '  return',
  ' done',
  '}',
].join('\n');

/** How long a relay pull may take on the host: well within the controller's wait for its answer (start.ts). */
export const RELAY_GET_MAX_SECONDS = 90;

/**
 * `relay_get URL TEMP SIZE SHA256`: another host's agent serves the file (controller/transfer/
 * relay.ts); it lands in TEMP only with that size and sha256, else this prints why and fails.
 * The sender is untrusted: no redirects, no proxy, no ~/.curlrc, at most SIZE bytes (curl; wget
 * only by time) and RELAY_GET_MAX_SECONDS in all, so a slow or hostile peer ends in a direct push.
 */
const RELAY_GET_FUNCTION = [
  'relay_get() {',
  '  if command -v curl >/dev/null 2>&1; then',
  `    e=$(curl -q -fsS --noproxy '*' --connect-timeout 5 --max-time ${RELAY_GET_MAX_SECONDS} --max-filesize "$3" -o "$2" "$1" 2>&1) || { echo "curl: $e"; return 1; }`,
  '  elif command -v wget >/dev/null 2>&1; then',
  `    e=$(timeout ${RELAY_GET_MAX_SECONDS} wget -q --no-proxy --max-redirect=0 -T 5 -O "$2" "$1" 2>&1) || { echo "wget failed or took over ${RELAY_GET_MAX_SECONDS} s: $e"; return 1; }`,
  '  else echo "neither curl nor wget on this host"; return 1; fi',
  '  x=$(stat -c %s "$2") && [ "$x" = "$3" ] || { echo "got $x bytes, expected $3"; return 1; }',
  '  x=$(sha256sum "$2" | cut -d " " -f 1) && [ "$x" = "$4" ] || { echo "sha256 $x, expected $4"; return 1; }',
  '}',
].join('\n');

/**
 * Older runtimes and codes go, but not one a process runs (an older build's resident agent starts
 * supervisors with its own files; its command line names them): the bracket keeps grep from
 * finding its own. Without grep or sed, nothing is removed.
 */
const REMOVE_OLDER = [
  'command -v grep >/dev/null && command -v sed >/dev/null &&',
  'for f in "$d"/node-* "$d"/tskv-agent-*; do',
  '  [ -f "$f" ] && [ "$f" != "$r" ] && [ "$f" != "$b" ] || continue',
  `  grep -qs -- "$(printf '%s' "$f" | sed 's/.$/[&]/')" /proc/[0-9]*/cmdline || rm -f "$f"`,
  'done',
].join('\n');

export function startScript(options: StartScriptOptions): string {
  const { runtime, code, resident } = options;
  const [dir] = dirAndName(code.path);
  const receive = (kind: AgentFileKind, f: HostAgentFile, mode: string, sha256: string) =>
    `$need_${kind} && receive ${kind} "$${kind === 'runtime' ? 'r' : 'b'}" ${f.size} ${sha256} ${mode} ${f.sha256}`;
  return [
    `r=${shellQuote(runtime.path)}`,
    `b=${shellQuote(code.path)}`,
    `d=${shellQuote(dir)}`,
    startFunction(options),
    'has() { [ -f "$1" ] && [ "$(stat -c %s "$1")" = "$2" ]; }',
    `need_runtime=true; has "$r" ${runtime.size} && need_runtime=false`,
    `need_code=true; has "$b" ${code.size} && need_code=false`,
    'if ! $need_runtime && ! $need_code; then start; fi',
    'if command -v zstd >/dev/null 2>&1; then z=true; else z=false; fi',
    // A relay needs curl or wget, and sha256sum to check what arrives.
    'f=false; { command -v curl || command -v wget; } >/dev/null 2>&1 && command -v sha256sum >/dev/null 2>&1 && f=true',
    `printf '{"missing":true,"runtime":%s,"code":%s,"hasZstd":%s,"canFetch":%s,"sudoUid":"%s"}\\n' "$need_runtime" "$need_code" "$z" "$f" "$SUDO_UID"`,
    't=; p=',
    'fail() { rm -f "$t" "$p"; echo "tskv: $2" >&2; exit "$1"; }',
    // A dropped connection ends stdin (the unpack fails and cleans up) or hangs the shell up.
    `trap 'rm -f "$t" "$p"; exit 129' HUP INT TERM`,
    'umask 077',
    RELAY_GET_FUNCTION,
    RECEIVE_FUNCTION,
    receive('runtime', runtime, '0755', '-'),
    receive('code', code, '0644', code.sha256),
    REMOVE_OLDER,
    // Leftovers of installs that were killed.
    `find "$d" -maxdepth 1 -type f \\( -name '.tskv-agent-*' -o -name '.node-*' \\) -mmin +60 -delete`,
    // Older builds' resident agents are left to idle out; what their stopped agents left goes once
    // quiet for 10 minutes, but never a lock file (a start of that build may hold it right now;
    // they are empty, and /run is cleared at boot).
    `find ${shellQuote(resident.runDir)} -mindepth 1 -maxdepth 1 -name 'agent-*' ! -name ${shellQuote(`agent-${resident.buildId}-*`)} ! -name '*.lock' -mmin +10 \\( -type f -o -type d -empty \\) -delete 2>/dev/null`,
    'trap - HUP INT TERM',
    `echo '{"installed":true}'`,
    'start',
  ].join('\n');
}
