/**
 * `tskv etcdctl` on a TLS cluster of init-less hosts, where 2379 is not reachable from the
 * controller: etcdctl runs on a healthy member through SSH with the PKI's client identity, its
 * output, stdin and exit code are the operator's; it runs as the etcd user, the identity never
 * outlives it on the host nor shows in a command line; a stopped member is skipped (or named, with
 * --host). And preflight warns about a client certificate that expires within 30 days, which the
 * next deploy renews.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CheckResult } from '../../controller/ops/checks.ts';
import { issueClientCert, keyPairFromPem, parseCertPem } from '../../controller/pki/index.ts';
import { Lab, type LabHost, labUnavailableReason } from '../../lab/lab.ts';
import { until } from '../fixtures/wait.ts';
import { spawnTskv, tskv, tskvJson } from './cli.ts';
import { assertDeployed, deploy } from './deploy-helpers.ts';
import { openLive } from './replace-helpers.ts';

const NAME = 'e2e-tls-etcdctl';
const DAY_MS = 24 * 60 * 60 * 1000;

describe('tskv etcdctl over TLS (init-less hosts, 2379 not reachable from the controller)', {
  skip: labUnavailableReason() ?? false,
}, () => {
  let lab: Lab;
  let inventory: string;
  let pki: string;

  before(async () => {
    lab = await Lab.up({ name: NAME, hosts: ['h102', 'docker', 'h104'], fresh: true });
    inventory = lab.writeInventory({ tls: { mode: 'auto' } }, 'tls-etcdctl.yaml');
    pki = join(lab.layout.dir, 'tls-etcdctl.pki');
    rmSync(pki, { recursive: true, force: true }); // an earlier run's (the lab's folder outlives it)
  });
  after(() => Lab.down(NAME));

  const etcdctl = (args: string[], input?: string) =>
    tskv(['etcdctl', inventory, ...args], input === undefined ? {} : { input });
  /** What the host has left of tskv etcdctl's identity directories (on /run, or /dev/shm). */
  const leftovers = (h: LabHost) =>
    h.execOk('ls -d /run/tskv-etcdctl.* /dev/shm/tskv-etcdctl.* 2>/dev/null || true');

  const gone = (h: LabHost) =>
    until(
      `etcdctl and its key to be gone from ${h.name}`,
      async () => (await h.exec('pgrep -x etcdctl')).code !== 0 && (await leftovers(h)).trim() === '',
    );

  test('deploy with tls auto on bare hosts', async () => {
    assertDeployed(await deploy(inventory));
  });

  test('endpoint health --cluster: every member healthy over https; nothing left on the hosts', async () => {
    const r = await etcdctl(['--', 'endpoint', 'health', '--cluster']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const said = r.stdout + r.stderr;
    for (const h of lab.hosts) {
      assert.match(
        said,
        new RegExp(`^https://${h.address.replaceAll('.', '\\.')}:2379 is healthy`, 'm'),
        h.name,
      );
    }
    for (const h of lab.hosts) assert.equal((await leftovers(h)).trim(), '', h.name);
  });

  test('put and get, the value from stdin byte for byte; a failing etcdctl’s exit code is returned', async () => {
    const put = await etcdctl(['--', 'put', 'k1', 'v1']);
    assert.equal(put.code, 0, put.stderr);
    assert.equal(put.stdout, 'OK\n');
    // What looks like the end of the key the channel carried first must not confuse the hand-over.
    const value = 'line one\n-----END PRIVATE KEY-----\nno newline at the end';
    const fromStdin = await etcdctl(['--', 'put', 'k2'], value);
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    const got = await etcdctl(['--host', 'h104', '--', 'get', 'k2', '--print-value-only']);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout, `${value}\n`);
    // etcdctl's own "bad arguments" code (128), not a generic failure.
    const bad = await etcdctl(['--', 'get']);
    assert.equal(bad.code, 128, bad.stdout + bad.stderr);
    assert.match(bad.stderr, /get command needs one argument/);
    assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');
    for (const h of lab.hosts) assert.equal((await leftovers(h)).trim(), '', h.name);
  });

  test('etcdctl runs as etcd, streams (a watch), its key in no command line; Ctrl-C stops it and removes the key', async () => {
    const docker = lab.host('docker');
    const watch = spawnTskv(['etcdctl', inventory, '--host', 'docker', '--', 'watch', 'k-watch']);
    try {
      let pid = '';
      await until(
        'etcdctl watch to run on docker',
        async () => {
          pid = (await docker.exec('pgrep -x etcdctl')).stdout.trim();
          return pid !== '';
        },
        30_000,
      );
      const [uid, etcdUid] = (await docker.execOk(`awk '/^Uid:/ {print $2}' /proc/${pid}/status; id -u etcd`))
        .trim()
        .split('\n');
      assert.equal(uid, etcdUid, 'etcdctl runs as the etcd user');
      assert.notEqual(uid, '0');
      // The identity lives in a 0700 tmpfs directory of etcd's while etcdctl runs.
      const dir = (await leftovers(docker)).trim();
      assert.match(dir, /^\/run\/tskv-etcdctl\.\w{8}$/);
      assert.equal(
        (await docker.execOk(`stat -c '%U %a' ${dir}; stat -f -c %T ${dir}`)).trim(),
        'etcd 700\ntmpfs',
      );
      const keyLine = readFileSync(join(pki, 'client.key'), 'utf8').split('\n')[1]!;
      // The line comes on stdin and is matched by the shell's own `case`: no process but etcd's shows it.
      const inCmdlines = await docker.exec(
        `k=$(cat); n=0; for f in /proc/[0-9]*/cmdline; do c=$(tr '\\0' ' ' <"$f" 2>/dev/null) || continue; case "$c" in *"$k"*) n=$((n+1)) ;; esac; done; echo "$n"`,
        { input: keyLine },
      );
      assert.equal(inCmdlines.stdout.trim(), '0', 'a line of the client key in a command line');
      // Its output reaches the operator as it comes.
      const put = await etcdctl(['--', 'put', 'k-watch', 'streamed']);
      assert.equal(put.code, 0, put.stderr);
      await until('the watch to print the put', () => watch.stdout().includes('streamed'));
      watch.kill('SIGINT');
      const r = await watch.exited;
      assert.equal(r.code, 130, r.stderr);
      await gone(docker);
    } finally {
      watch.kill();
    }
  });

  test('tskv killed outright (no Ctrl-C to pass on): etcdctl and its key do not outlive the SSH connection', async () => {
    const h104 = lab.host('h104');
    const watch = spawnTskv(['etcdctl', inventory, '--host', 'h104', '--', 'watch', 'k-watch']);
    try {
      await until(
        'etcdctl watch to run on h104',
        async () => (await h104.exec('pgrep -x etcdctl')).code === 0,
        30_000,
      );
      assert.notEqual((await leftovers(h104)).trim(), '');
      watch.kill('SIGKILL');
      await gone(h104);
    } finally {
      watch.kill();
    }
  });

  test("with h102's etcd stopped: runs on another member; --host h102 names the problem", async () => {
    const live = await openLive(inventory);
    try {
      await live.service('h102', 'stop');
      const r = await etcdctl(['--', 'get', 'k1', '--print-value-only']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'v1\n');
      const forced = await etcdctl(['--host', 'h102', '--', 'get', 'k1']);
      assert.equal(forced.code, 1, forced.stdout + forced.stderr);
      assert.match(
        forced.stderr,
        /^tskv: pick a member: cannot run etcdctl on h102:\n {2}h102: etcd does not answer: /,
      );
      assert.match(forced.stderr, /fix: leave out --host/);
      await live.service('h102', 'start');
    } finally {
      await live.close();
    }
  });

  test('preflight warns about a client certificate with under 30 days left; deploy renews it', async () => {
    // A client certificate of the lab's CA issued 340 days ago: 24 days left.
    const ca = {
      cert: parseCertPem(readFileSync(join(pki, 'ca.crt'), 'utf8')),
      keys: keyPairFromPem(readFileSync(join(pki, 'ca.key'), 'utf8')),
    };
    const old = await issueClientCert(ca, new Date(Date.now() - 340 * DAY_MS));
    writeFileSync(join(pki, 'client.key'), old.keyPem); // the files keep their modes (0600, 0644)
    writeFileSync(join(pki, 'client.crt'), old.certPem);
    const certChecks = (checks: CheckResult[]) => checks.filter((c) => c.check === 'certificates');
    const pre = await tskvJson<{ ok: boolean; checks: CheckResult[] }>(['preflight', inventory]);
    assert.equal(pre.result.code, 0, pre.result.stderr);
    const warned = certChecks(pre.doc.checks).filter((c) => c.status !== 'ok');
    assert.deepEqual(
      warned.map((c) => [c.host, c.status, c.fixedByDeploy]),
      [['controller', 'warn', true]],
      JSON.stringify(warned),
    );
    assert.match(warned[0]!.observed, /^tskv's client certificate \(client\.crt in .*\) expires in 24 days/);
    assert.match(warned[0]!.fix ?? '', /tskv deploy renews it/);
    // Every member's certificates were judged too (on the host and in the PKI): fine.
    for (const h of lab.hosts) {
      assert.ok(
        certChecks(pre.doc.checks).some(
          (c) =>
            c.host === h.name && /server certificate \(\/etc\/etcd\/pki\/server\.crt on/.test(c.observed),
        ),
        h.name,
      );
    }
    const run = await deploy(inventory);
    assertDeployed(run);
    assert.ok(run.doc.preflight.some((c) => c.check === 'certificates' && c.status === 'warn'));
    assert.deepEqual(run.doc.actions['pki'], [`PKI ${pki}: renewed client.crt (it expires in 24 days)`]);
  });
});
