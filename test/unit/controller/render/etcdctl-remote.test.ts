/**
 * `tskv etcdctl`'s script on the host (controller/render/etcdctl-remote.ts), run here by sh with a
 * fake etcdctl that reports what it got: who it runs as, its arguments, the identity files and
 * their directory, and its stdin. Needs root (the script drops to another user with setpriv).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { killTaggedScript, newRunId, tagCommand } from '../../../../controller/connect/remote-kill.ts';
import {
  ETCDCTL_SETUP_FAILED,
  etcdctlScript,
  identityPreamble,
  type RemoteEtcdctl,
  type RemoteLayout,
} from '../../../../controller/render/etcdctl-remote.ts';
import { until } from '../../../fixtures/wait.ts';

const USER = 'nobody';
const NOBODY_UID = Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }).trim());
const NOBODY_GID = Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' }).trim());

const FAKE_ETCDCTL = `#!/bin/sh
echo "uid=$(id -u) groups=$(id -G)"
echo "api=$ETCDCTL_API endpoints=$ETCDCTL_ENDPOINTS"
if [ -n "\${ETCDCTL_KEY:-}" ]; then
  d=$(dirname "$ETCDCTL_KEY")
  echo "dir=$d $(stat -c '%u %a' "$d") $(stat -f -c %T "$d")"
  for f in "$ETCDCTL_CACERT" "$ETCDCTL_CERT" "$ETCDCTL_KEY"; do echo "--- $(basename "$f")"; cat "$f"; done
fi
for a in "$@"; do echo "arg=[$a]"; done
case "\${1:-}" in
  exit) exit "$2" ;;
  sleep) echo sleeping; exec sleep 60 ;;
esac
echo "--- stdin"
cat
`;

const IDENTITY = [
  '-----BEGIN CERTIFICATE-----\nQ0EgY2VydA==\n-----END CERTIFICATE-----\n',
  '-----BEGIN CERTIFICATE-----\nY2xpZW50\n-----END CERTIFICATE-----\n',
  '-----BEGIN PRIVATE KEY-----\nU0VDUkVULUtFWS1NQVJLRVI=\n-----END PRIVATE KEY-----\n',
];
/** Unique to the key: it must show up in no process's command line. */
const KEY_LINE = 'U0VDUkVULUtFWS1NQVJLRVI=';

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe("tskv etcdctl's script on the host", {
  skip: process.getuid?.() === 0 ? false : 'needs root',
}, () => {
  let dir: string;
  let layout: RemoteLayout;
  const children: ChildProcess[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tskv-etcdctl-'));
    chmodSync(dir, 0o755);
    const versionDir = join(dir, 'opt', 'v3.4.23');
    mkdirSync(versionDir, { recursive: true, mode: 0o755 });
    chmodSync(join(dir, 'opt'), 0o755);
    writeFileSync(join(versionDir, 'etcdctl'), FAKE_ETCDCTL, { mode: 0o755 });
    layout = {
      installRoot: join(dir, 'opt'),
      binDir: join(dir, 'bin'),
      user: USER,
      rootTmpfs: ['/nonexistent', '/dev/shm'],
    };
  });
  after(() => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const run = (over: Partial<RemoteEtcdctl> = {}): RemoteEtcdctl => ({
    host: 'h102',
    version: '3.4.23',
    vars: [
      ['ETCDCTL_API', '3'],
      ['ETCDCTL_ENDPOINTS', 'https://192.0.2.1:2379,https://192.0.2.2:2379'],
    ],
    tls: true,
    args: ['get', "it's", '$(touch /tmp/pwned)', 'a b'],
    ...over,
  });

  /** The script as sshd would run it for `tskv etcdctl` (tagged), with `input` on stdin. */
  function start(script: string, input: string, options: { asUser?: boolean } = {}) {
    const runId = newRunId();
    const command = tagCommand(script, runId);
    const argv = options.asUser
      ? [
          'setpriv',
          `--reuid=${NOBODY_UID}`,
          `--regid=${NOBODY_GID}`,
          '--clear-groups',
          '/bin/sh',
          '-c',
          command,
        ]
      : ['/bin/sh', '-c', command];
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: 'pipe',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
    });
    child.stdin.end(input);
    const done = new Promise<Ran>((resolve) =>
      child.on('close', (code) => resolve({ code, stdout, stderr })),
    );
    const closeOutput = () => {
      child.stdout.destroy();
      child.stderr.destroy();
    };
    return { runId, done, stdout: () => stdout, closeOutput };
  }

  const sections = (stdout: string) => {
    const parts = new Map<string, string>();
    const chunks = stdout.split(/^--- /m);
    for (const c of chunks.slice(1)) {
      const nl = c.indexOf('\n');
      parts.set(c.slice(0, nl), c.slice(nl + 1));
    }
    return parts;
  };
  const dirOf = (stdout: string) => /^dir=(\S+) (\d+) (\d+) (\S+)$/m.exec(stdout);

  test('as root: etcdctl runs as the etcd user with the identity in a 0700 tmpfs directory of its own, then gone; the rest of stdin is etcdctl’s', async () => {
    // Ends without a newline and holds what looks like the end of a key: byte for byte.
    const rest = 'line one\n-----END PRIVATE KEY-----\n\nno newline at the end';
    const r = await start(etcdctlScript(run(), layout), identityPreamble(IDENTITY) + rest).done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^uid=${NOBODY_UID} groups=\\d+$`, 'm'));
    assert.match(r.stdout, /^api=3 endpoints=https:\/\/192\.0\.2\.1:2379,https:\/\/192\.0\.2\.2:2379$/m);
    const d = dirOf(r.stdout);
    assert.ok(d, r.stdout);
    assert.match(d[1]!, /^\/dev\/shm\/tskv-etcdctl\.[A-Za-z0-9]{8}$/);
    assert.deepEqual([Number(d[2]), d[3], d[4]], [NOBODY_UID, '700', 'tmpfs']);
    assert.equal(existsSync(d[1]!), false, 'the identity is removed when etcdctl ends');
    const got = sections(r.stdout);
    assert.equal(got.get('ca.crt'), IDENTITY[0]);
    assert.equal(got.get('client.crt'), IDENTITY[1]);
    assert.ok(got.get('client.key')!.startsWith(IDENTITY[2]!));
    assert.equal(got.get('stdin'), rest);
    assert.deepEqual(
      [...r.stdout.matchAll(/^arg=\[(.*)\]$/gm)].map((m) => m[1]),
      ['get', "it's", '$(touch /tmp/pwned)', 'a b'],
    );
    assert.equal(existsSync('/tmp/pwned'), false);
  });

  test("etcdctl's exit code is the script's", async () => {
    const r = await start(etcdctlScript(run({ args: ['exit', '3'] }), layout), identityPreamble(IDENTITY))
      .done;
    assert.equal(r.code, 3, r.stderr);
  });

  test('stopped with INT (the operator’s Ctrl-C): etcdctl ends and the identity is removed; no key in any command line', async () => {
    const proc = start(etcdctlScript(run({ args: ['sleep'] }), layout), identityPreamble(IDENTITY));
    await until('etcdctl to run', () => proc.stdout().includes('sleeping'));
    const d = dirOf(proc.stdout())![1]!;
    assert.ok(existsSync(d));
    const cmdlines = readdirSync('/proc')
      .filter((e) => /^\d+$/.test(e))
      .map((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'latin1');
        } catch {
          return '';
        }
      });
    assert.ok(
      cmdlines.some((c) => c.includes('tskv-etcdctl') || c.includes('sleep')),
      'the scan sees them',
    );
    assert.ok(!cmdlines.some((c) => c.includes(KEY_LINE)), 'a key line in a command line');
    execFileSync('/bin/sh', ['-c', killTaggedScript(proc.runId, 'INT')]);
    const r = await proc.done;
    assert.equal(r.code, 130);
    assert.equal(r.stderr, '', 'nothing said: the operator pressed Ctrl-C');
    assert.equal(existsSync(d), false, 'the trap removed the identity');
  });

  test('the SSH session gone (its pipes broken), then TERM: the identity is removed all the same', async () => {
    const proc = start(etcdctlScript(run({ args: ['sleep'] }), layout), identityPreamble(IDENTITY));
    await until('etcdctl to run', () => proc.stdout().includes('sleeping'));
    const d = dirOf(proc.stdout())![1]!;
    // The shell's "Terminated" for etcdctl then meets a closed pipe (SIGPIPE, before it was trapped).
    proc.closeOutput();
    execFileSync('/bin/sh', ['-c', killTaggedScript(proc.runId, 'TERM')]);
    await proc.done;
    await until('the identity to be removed', () => !existsSync(d));
  });

  test('not root: etcdctl runs as the SSH user, the identity in a tmpfs directory of its own', async () => {
    const r = await start(etcdctlScript(run(), layout), `${identityPreamble(IDENTITY)}in`, { asUser: true })
      .done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^uid=${NOBODY_UID} `, 'm'));
    const d = dirOf(r.stdout);
    assert.deepEqual([Number(d?.[2]), d?.[3], d?.[4]], [NOBODY_UID, '700', 'tmpfs']);
    assert.equal(sections(r.stdout).get('stdin'), 'in');
  });

  test('without TLS: no identity is read, stdin is all etcdctl’s', async () => {
    const r = await start(etcdctlScript(run({ tls: false }), layout), 'all of it\n').done;
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /^dir=/m);
    assert.equal(sections(r.stdout).get('stdin'), 'all of it\n');
  });

  test('no etcdctl of tskv’s, or stdin without the identity: a message and exit 125, nothing left', async () => {
    const missing = await start(etcdctlScript(run({ version: '3.5.9' }), layout), identityPreamble(IDENTITY))
      .done;
    assert.equal(missing.code, ETCDCTL_SETUP_FAILED);
    assert.match(
      missing.stderr,
      /^tskv etcdctl: h102: no etcdctl installed by tskv \(.*v3\.5\.9\/etcdctl, .*\/bin\/etcdctl\): run tskv deploy$/m,
    );
    const before = readdirSync('/dev/shm').filter((n) => n.startsWith('tskv-etcdctl.'));
    const garbled = await start(etcdctlScript(run(), layout), 'hello\n').done;
    assert.equal(garbled.code, ETCDCTL_SETUP_FAILED);
    assert.match(garbled.stderr, /stdin does not start with the client identity/);
    const cut = await start(etcdctlScript(run(), layout), identityPreamble(IDENTITY).slice(0, 60)).done;
    assert.equal(cut.code, ETCDCTL_SETUP_FAILED);
    assert.match(cut.stderr, /the client identity did not arrive whole/);
    assert.deepEqual(
      readdirSync('/dev/shm').filter((n) => n.startsWith('tskv-etcdctl.')),
      before,
    );
  });
});
