/**
 * The one shell command that starts the agent on a host, and installs it first when the host lacks
 * this build, all on one SSH channel:
 *   1. the binary is there with the build's size: exec `tskv-agent serve` (its ready line follows);
 *   2. else print {"missing":true,...} and read one header line from stdin: `zstd N` or `gzip N`
 *      (then N bytes of the packed executable follow on stdin), or `skip` (exit);
 *   3. unpack the N bytes as they arrive to a temporary name in the install dir, check the size,
 *      chmod, rename into place, remove older builds, print {"installed":true}, and exec the agent
 *      with stdin still open: the agent lives as long as the channel.
 * `head -c N` (GNU coreutils) reads no more than N bytes from a pipe and the shell's `read` takes
 * one byte at a time, so nothing meant for the agent's stdin is swallowed.
 */
import { shellQuote } from '../connect/index.ts';

/** What the script's exit code says failed while installing (the message is on stderr). */
export const INSTALL_STEP_BY_EXIT: Readonly<Record<number, string>> = {
  2: 'read the payload header',
  3: 'create the install dir',
  4: 'unpack',
  5: 'check the unpacked size',
  6: 'move into place',
};

export interface StartScriptOptions {
  binary: string;
  socket: string;
  /** Hand the socket to this uid (only without ifInstalledWithSize, which uses $SUDO_UID). */
  ownerUid: number | undefined;
  /** Start only if the binary is there with this size; else install it from stdin (above). */
  ifInstalledWithSize?: number;
}

export function agentBinaryPath(installDir: string, buildId: string): string {
  return `${installDir}/tskv-agent-${buildId}`;
}

function dirAndName(path: string): [string, string] {
  const slash = path.lastIndexOf('/');
  return [path.slice(0, slash) || '/', path.slice(slash + 1)];
}

export function startScript(options: StartScriptOptions): string {
  const serve = `exec "$b" serve --socket ${shellQuote(options.socket)}`;
  if (options.ifInstalledWithSize === undefined) {
    const owner = options.ownerUid === undefined ? '' : ` --owner ${options.ownerUid}`;
    return `b=${shellQuote(options.binary)}\n${serve}${owner}`;
  }
  const size = options.ifInstalledWithSize;
  const [dir, name] = dirAndName(options.binary);
  const serveAsSudoUser = `${serve} \${SUDO_UID:+--owner "$SUDO_UID"}`;
  return [
    `b=${shellQuote(options.binary)}`,
    `if [ -f "$b" ] && [ "$(stat -c %s "$b")" = ${size} ]; then ${serveAsSudoUser}; fi`,
    'if command -v zstd >/dev/null 2>&1; then z=true; else z=false; fi',
    `printf '{"missing":true,"hasZstd":%s,"sudoUid":"%s"}\\n' "$z" "$SUDO_UID"`,
    'read -r enc n || exit 0',
    'case "$enc" in zstd|gzip) ;; *) exit 0 ;; esac',
    `case "$n" in ''|*[!0-9]*) echo "tskv: bad payload size '$n'" >&2; exit 2 ;; esac`,
    `d=${shellQuote(dir)}`,
    `t="$d/.${name}.$$.tmp"`,
    'fail() { rm -f "$t"; echo "tskv: $2" >&2; exit "$1"; }',
    // A dropped connection ends stdin (the unpack fails and cleans up) or hangs the shell up.
    `trap 'rm -f "$t"; exit 129' HUP INT TERM`,
    'umask 077',
    'mkdir -p -m 0700 "$d" || fail 3 "cannot create $d"',
    // No sha256 of the packed file any more: zstd's content checksum (the build sets
    // ZSTD_c_checksumFlag) or gzip's CRC, the size check below, SSH's MAC on the way, and the ready
    // line's build id (checked by the controller) catch what it caught, without a second round trip.
    'if [ "$enc" = zstd ]; then head -c "$n" | zstd -d -q -f -o "$t"; else head -c "$n" | gzip -dc > "$t"; fi ||',
    '  fail 4 "unpacking the $enc payload to $t failed"',
    `s=$(stat -c %s "$t") && [ "$s" = ${size} ] || fail 5 "the unpacked agent has $s bytes, the build has ${size}"`,
    'chmod 0755 "$t" && mv -f "$t" "$b" || fail 6 "cannot move $t to $b"',
    // Older builds, and leftovers of installs that were killed.
    `find "$d" -maxdepth 1 -type f -name 'tskv-agent-*' ! -name ${shellQuote(name)} -delete`,
    `find "$d" -maxdepth 1 -type f -name '.tskv-agent-*' -mmin +60 -delete`,
    'trap - HUP INT TERM',
    `echo '{"installed":true}'`,
    serveAsSudoUser,
  ].join('\n');
}
