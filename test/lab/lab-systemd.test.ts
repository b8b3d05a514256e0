/**
 * Lab hosts with systemd as PID 1 (`Lab.up({ init: 'systemd' })`): booted once, then checked as
 * bare Debian servers (running system, sshd and firewalld as units, own hostname and machine-id, no
 * etcd), isolated from this machine (firewall from a peer, no CAP_SYS_TIME or CAP_SYS_MODULE, no
 * cgroup of the machine's but the lab's own subtree), power-cycled (all at once; a unit failing
 * at boot is an E_LAB_BOOT with its journal lines) and gone without a trace after down.
 * Needs root: skipped otherwise.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Inventory } from '../../controller/inventory/model.ts';
import { hostCgroup, labCgroupRoot } from '../../lab/cgroup.ts';
import { Lab, labUnavailableReason } from '../../lab/lab.ts';
import { expectTskvError } from '../fixtures/expect-tskv-error.ts';
import { assertDownLeavesNothing, assertRebootKeepsDisk, listenOn, sshTo } from './lab-checks.ts';

const NAME = 'labsysd';
const HOSTS = ['h102', 'docker', 'h104'];
const skip = labUnavailableReason();
if (skip) test('lab of systemd hosts', { skip }, () => {});

/** The top-level directories of every cgroup hierarchy of this machine (v1 controllers and cgroup2). */
function machineCgroups(): string[] {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => / - cgroup2? /.test(line))
    .map((line) => line.split(' ')[4]!);
  return mounts.flatMap((dir) =>
    readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => join(dir, e.name)),
  );
}

describe('lab of systemd hosts', { skip: skip ?? false }, () => {
  let lab: Lab;
  let inventory: Inventory;
  let cgroupsBefore: string[];
  const ssh = sshTo(() => inventory);
  const onEach = (cmd: string) => Promise.all(lab.hosts.map((h) => h.execOk(cmd)));

  before(async () => {
    await Lab.down(NAME); // an earlier run's cgroups must not count as this machine's
    cgroupsBefore = machineCgroups();
    const started = Date.now();
    lab = await Lab.up({ name: NAME, hosts: HOSTS, init: 'systemd', fresh: true });
    process.stderr.write(`# systemd lab up (3 hosts) took ${Date.now() - started} ms\n`);
    inventory = await lab.inventory();
  });

  after(async () => {
    await Lab.down(NAME);
  });

  test('systemd is PID 1 of every host: the system is running, with its services as units', async () => {
    assert.equal(lab.init, 'systemd');
    for (const out of await onEach('cat /proc/1/comm; systemctl is-system-running')) {
      assert.equal(out, 'systemd\nrunning\n');
    }
    const units =
      'ssh.service firewalld.service dbus.service systemd-journald.service systemd-logind.service';
    // Over SSH: a real login (pam_systemd, logind) on each host.
    await Promise.all(
      HOSTS.map(async (host) => {
        const res = await ssh(host, `systemctl is-active ${units}`);
        assert.equal(res.stdout, 'active\n'.repeat(5), `${host}: ${res.stderr}`);
      }),
    );
    const status = await lab.status();
    assert.deepEqual(
      status.map((s) => [s.name, s.init, s.system, s.sshd, s.firewalld]),
      HOSTS.map((h) => [h, 'systemd', 'running', true, 'running']),
    );
  });

  test('hosts are bare servers of their own: hostname, machine-id; no etcd, node or extra units', async () => {
    const ids = await onEach('hostname; cat /etc/machine-id');
    assert.deepEqual(
      ids.map((out) => out.split('\n')[0]),
      HOSTS,
    );
    assert.equal(new Set(ids.map((out) => out.split('\n')[1])).size, 3, 'every machine-id differs');
    assert.ok(!ids.some((out) => out.includes(readFileSync('/etc/machine-id', 'utf8').trim())));
    const res = await ssh(
      'docker',
      'command -v node nodejs etcd etcdctl etcdutl; getent passwd etcd; ls -A /root/.ssh; ' +
        "systemctl list-unit-files --state=enabled --no-legend | awk '{print $1}'",
    );
    const lines = res.stdout.trim().split('\n');
    assert.equal(lines[0], 'authorized_keys', res.stdout);
    assert.deepEqual(lines.slice(1).sort(), [
      'firewalld.service',
      'getty@.service',
      'remote-fs.target',
      'ssh.service',
      'systemd-pstore.service',
      'systemd-timesyncd.service',
    ]);
  });

  test('firewalld rejects 2379 from a peer; sshd is reachable', async () => {
    const listener = await listenOn(lab, 'h102', 2379);
    try {
      const fromPeer = await listener.probe('docker');
      assert.notEqual(fromPeer.code, 0, 'a peer reached 2379 through the default zone');
      assert.match(fromPeer.stderr, /No route to host|Connection refused|timed out/);
      assert.equal((await listener.probe('h102')).stdout.trim(), 'hello');
    } finally {
      await listener.stop();
    }
    const ssh22 = await lab.host('docker').exec(`socat -T 3 - TCP:${lab.host('h102').address}:22 </dev/null`);
    assert.match(ssh22.stdout, /^SSH-2\.0-OpenSSH/);
  });

  test('stopSshd and startSshd stop and start ssh.service', async () => {
    const host = lab.host('docker');
    await host.stopSshd();
    assert.equal((await host.exec('systemctl is-active ssh.service')).stdout.trim(), 'inactive');
    assert.notEqual((await ssh('docker', 'true')).code, 0);
    await host.startSshd();
    assert.equal((await ssh('docker', 'systemctl is-active ssh.service')).stdout.trim(), 'active');
  });

  test('hosts can neither set the clock nor load kernel modules; timesyncd stays off', async () => {
    const CAP_SYS_MODULE = 1n << 16n;
    const CAP_SYS_TIME = 1n << 25n;
    const res = await ssh(
      'h104',
      'grep -E "^Cap(Eff|Bnd)" /proc/self/status; systemctl is-active systemd-timesyncd',
    );
    const masks = [...res.stdout.matchAll(/^Cap\w+:\s+([0-9a-f]+)$/gm)].map((m) => BigInt(`0x${m[1]}`));
    assert.equal(masks.length, 2, res.stdout);
    assert.ok(masks.every((m) => (m & (CAP_SYS_TIME | CAP_SYS_MODULE)) === 0n));
    assert.match(res.stdout, /^inactive$/m);
  });

  test("the machine's device nodes are out of reach: usable, but never re-owned (systemd's console is /dev/null)", async () => {
    const before = statSync('/dev/null');
    const r = await lab
      .host('h102')
      .exec(
        'echo x >/dev/null && head -c 4 /dev/urandom | wc -c; chmod 600 /dev/console; chown root:tty /dev/null',
      );
    assert.equal(r.stdout, '4\n');
    assert.match(r.stderr, /changing permissions of '\/dev\/console': Read-only file system/);
    assert.match(r.stderr, /changing ownership of '\/dev\/null': Read-only file system/);
    const after = statSync('/dev/null');
    assert.deepEqual([after.mode, after.uid, after.gid], [before.mode, before.uid, before.gid]);
  });

  test("the machine's cgroups are untouched but for the lab's own subtree; each host sees only its own", async () => {
    const root = labCgroupRoot()!;
    const added = machineCgroups().filter((dir) => !cgroupsBefore.includes(dir));
    assert.ok(
      added.every((dir) => dir === root),
      `new top-level cgroups: ${added.join(', ')}`,
    );
    for (const host of lab.hosts) {
      // Inside (a login: a descendant of the host's PID 1), its cgroup namespace starts at its own cgroup.
      const inside = await ssh(host.name, 'cat /proc/1/cgroup');
      assert.match(inside.stdout, /^0::\/init\.scope$/m, inside.stderr);
      const inHierarchy = hostCgroup(NAME, host.name).slice(dirname(root).length);
      assert.match(
        readFileSync(`/proc/${host.pid}/cgroup`, 'utf8'),
        new RegExp(`^0::${inHierarchy}/init\\.scope$`, 'm'),
      );
    }
  });

  test('rebooting all hosts at once keeps their disks, not memory or processes; same keys and ids', async () => {
    await assertRebootKeepsDisk(lab, HOSTS, ssh);
    for (const out of await onEach('cat /proc/1/comm; systemctl is-system-running')) {
      assert.equal(out, 'systemd\nrunning\n');
    }
  });

  test("a unit failing at boot makes the reboot an E_LAB_BOOT with the unit's journal lines", async () => {
    const host = lab.host('h104');
    await host.execOk(
      "printf '[Service]\\nType=oneshot\\nExecStart=/bin/false\\n[Install]\\nWantedBy=multi-user.target\\n' " +
        '>/etc/systemd/system/tskv-fails.service && systemctl enable -q tskv-fails.service',
    );
    const err = await expectTskvError(lab.reboot('h104'));
    assert.equal(err.code, 'E_LAB_BOOT');
    assert.match(
      err.message,
      /degraded: tskv-fails\.service failed[\s\S]*journal:[\s\S]*tskv-fails\.service/,
    );
    // The degraded host stays up to be looked at, and boots clean again once the unit is gone.
    assert.equal((await host.execOk('systemctl is-system-running || true')).trim(), 'degraded');
    await host.execOk('systemctl disable -q tskv-fails.service && rm /etc/systemd/system/tskv-fails.service');
    await lab.reboot('h104');
    assert.equal((await host.execOk('systemctl is-system-running')).trim(), 'running');
  });

  test('down removes every namespace, process, disk and cgroup of the lab', async () => {
    await assertDownLeavesNothing(lab);
  });
});
