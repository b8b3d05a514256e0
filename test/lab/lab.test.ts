/**
 * The lab itself: real hosts reached with the real OpenSSH client through the inventory's
 * settings, isolated from this machine (no node/etcd, own host keys, own firewall, no
 * CAP_SYS_TIME), skewable, rebootable, and gone without a trace after down. Hosts without an init
 * system here; lab-systemd.test.ts boots systemd hosts. Needs root: skipped otherwise.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { loadInventory } from '../../controller/inventory/load.ts';
import type { Inventory } from '../../controller/inventory/model.ts';
import { Lab, labUnavailableReason } from '../../lab/lab.ts';
import { PROJECT_ROOT } from '../../lab/names.ts';
import { run } from '../../lab/run.ts';
import { assertDownLeavesNothing, assertRebootKeepsDisk, listenOn, sshArgs, sshTo } from './lab-checks.ts';

const NAME = 'labtest';
const skip = labUnavailableReason();
// Without root the lab cannot exist: reported as a skipped test with the reason, never passed.
if (skip) test('lab of real hosts', { skip }, () => {});

describe('lab', { skip: skip ?? false }, () => {
  let lab: Lab;
  let inventory: Inventory;
  const ssh = sshTo(() => inventory);

  before(async () => {
    const started = Date.now();
    lab = await Lab.up({ name: NAME, fresh: true });
    process.stderr.write(`# lab up (3 hosts) took ${Date.now() - started} ms\n`);
    inventory = await lab.inventory();
  });

  after(async () => {
    await Lab.down(NAME);
  });

  test('writes an inventory the controller accepts, with the lab-specific settings', () => {
    assert.deepEqual(
      inventory.hosts.map((h) => h.name),
      ['h102', 'docker', 'h104'],
    );
    for (const host of inventory.hosts) {
      assert.ok(host.address.startsWith(`${lab.layout.prefix}.`), host.address);
      assert.equal(host.ssh.hostKeyPolicy, 'strict');
      assert.equal(host.ssh.user, 'root');
      assert.match(host.ssh.proxyCommand ?? '', /socat -b 131072 STDIO TCP:%h:%p,nodelay$/);
    }
    assert.equal(inventory.etcd.flags['enable-v2'], true);
    assert.match(inventory.etcd.source, /etcd-v3\.4\.\d+-linux-\w+\.tar\.gz$/);
  });

  test('up again keeps the running lab as is', async () => {
    const again = await Lab.up({ name: NAME });
    assert.deepEqual(
      again.hosts.map((h) => h.pid),
      lab.hosts.map((h) => h.pid),
    );
  });

  test('every host answers SSH (strict host keys, proxy command) with its own hostname', async () => {
    await Promise.all(
      inventory.hosts.map(async (host) => {
        const res = await ssh(host.name, 'hostname');
        assert.equal(res.code, 0, res.stderr);
        assert.equal(res.stdout.trim(), host.name);
      }),
    );
  });

  test('hosts have neither node, etcd nor the project checkout; root has only the lab key', async () => {
    const res = await ssh(
      'docker',
      `command -v node nodejs etcd etcdctl etcdutl; test -e ${PROJECT_ROOT}/package.json && echo checkout-visible; ` +
        'ls -d /var/lib/etcd /etc/default/etcd 2>/dev/null; getent passwd etcd; ls -A /root/.ssh',
    );
    assert.equal(res.stdout.trim(), 'authorized_keys');
  });

  test('each host has its own host key, checked strictly', async () => {
    const knownHosts = readFileSync(lab.layout.knownHostsPath, 'utf8');
    const ed25519 = inventory.hosts.map(
      (h) =>
        new RegExp(`^${h.address.replaceAll('.', '\\.')} ssh-ed25519 (\\S+)$`, 'm').exec(knownHosts)?.[1],
    );
    assert.equal(new Set(ed25519).size, 3);
    assert.ok(ed25519.every((k) => k !== undefined));
    const machineKeyFile = '/etc/ssh/ssh_host_ed25519_key.pub';
    const machineKey = existsSync(machineKeyFile)
      ? readFileSync(machineKeyFile, 'utf8').split(' ')[1]
      : undefined;
    if (machineKey) assert.ok(!ed25519.includes(machineKey), "a host kept this machine's host key");
    // h102's address with docker's keys: OpenSSH must refuse.
    const [h102, docker] = inventory.hosts;
    const swapped = knownHosts
      .split('\n')
      .filter((l) => l.startsWith(`${docker!.address} `))
      .map((l) => l.replace(docker!.address, h102!.address))
      .join('\n');
    const path = `${lab.layout.dir}/known_hosts-swapped`;
    await run('sh', ['-c', `cat > ${path}`], { input: `${swapped}\n` });
    const res = await ssh('h102', 'true', path);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
  });

  test('firewalld blocks 2379 from a peer until the port is opened', async () => {
    const [a, b] = lab.hosts.map((h) => h.name);
    const listener = await listenOn(lab, a!, 2379);
    const fromPeer = await listener.probe(b!);
    assert.notEqual(fromPeer.code, 0, 'a peer reached 2379 through the default zone');
    assert.match(fromPeer.stderr, /No route to host|Connection refused|timed out/);
    assert.equal((await listener.probe(a!)).stdout.trim(), 'hello', 'the host itself reaches its own port');

    const opened = await ssh(a!, 'firewall-cmd --add-port=2379/tcp');
    assert.equal(opened.code, 0, opened.stderr);
    assert.equal((await listener.probe(b!)).stdout.trim(), 'hello');

    await lab.host(a!).blockPort(2379);
    assert.notEqual((await listener.probe(b!)).code, 0);
    await lab.host(a!).openPort(2379);
    assert.equal((await listener.probe(b!)).stdout.trim(), 'hello');
    assert.ok((await listener.stop()) >= 1);
    assert.notEqual((await listener.probe(b!)).code, 0);
  });

  test('lab skew shifts the clock of new SSH sessions, and sshd keeps working', async () => {
    /**
     * Asserts that the host's clock, read by `read` (`date +%s.%N`), is `skew` s ahead of ours. The host
     * shares this machine's clock, so without the skew its reading falls between our clock before and
     * after the call: the bound is half that round trip (and 0.1 s for the clock readings themselves).
     */
    const assertSkew = async (what: string, skew: number, read: () => Promise<string>) => {
      const before = Date.now() / 1000;
      const hostTime = Number((await read()).trim());
      const after = Date.now() / 1000;
      const offset = hostTime - (before + after) / 2;
      const bound = (after - before) / 2 + 0.1;
      assert.ok(
        bound < 2.2,
        `${what}: the reading took ${(after - before).toFixed(1)} s, too long to tell 4.4 s from 0`,
      );
      assert.ok(
        Math.abs(offset - skew) <= bound,
        `${what} is ${offset.toFixed(3)} s off, not ${skew} ± ${bound.toFixed(3)} s`,
      );
    };
    const viaSsh = (host: string) => async () => {
      const res = await ssh(host, 'date +%s.%N');
      assert.equal(res.code, 0, res.stderr);
      return res.stdout;
    };
    await lab.skew('h104', 4.4);
    await assertSkew('h104', 4.4, viaSsh('h104'));
    await assertSkew('h102', 0, viaSsh('h102'));
    await assertSkew('exec on h104', 4.4, () => lab.host('h104').execOk('date +%s.%N'));
    await lab.skew('h104', 0);
    await assertSkew('h104 unskewed', 0, viaSsh('h104'));
  });

  test('hosts cannot set the clock (no CAP_SYS_TIME)', async () => {
    const CAP_SYS_TIME = 1n << 25n;
    const caps = await ssh('h102', 'grep -E "^Cap(Eff|Bnd)" /proc/self/status');
    const masks = [...caps.stdout.matchAll(/^Cap\w+:\s+([0-9a-f]+)$/gm)].map((m) => BigInt(`0x${m[1]}`));
    assert.equal(masks.length, 2, caps.stdout);
    // Only once the capability is known to be absent is `date -s` tried (it cannot succeed then).
    assert.ok(masks.every((m) => (m & CAP_SYS_TIME) === 0n));
    const res = await ssh('h102', 'date -s "@$(date +%s)"');
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /Operation not permitted/);
  });

  test('stopSshd refuses new connections until startSshd', async () => {
    const host = lab.host('h104');
    await host.stopSshd();
    const refused = await ssh('h104', 'true');
    assert.notEqual(refused.code, 0);
    await host.startSshd();
    assert.equal((await ssh('h104', 'hostname')).stdout.trim(), 'h104');
  });

  test('variant inventories: another user (with or without passwordless sudo), fewer hosts', async () => {
    const variant = await loadInventory(lab.writeInventory({ ssh: { user: 'ops' }, hosts: { h104: null } }));
    assert.deepEqual(
      variant.hosts.map((h) => [h.name, h.ssh.user]),
      [
        ['h102', 'ops'],
        ['docker', 'ops'],
      ],
    );
    await lab.host('h102').addUser('ops', 'nopasswd');
    await lab.host('docker').addUser('ops', 'password');
    const asOps = (host: string) =>
      run('ssh', [...sshArgs(variant.hosts.find((h) => h.name === host)!), 'sudo -n id -u']);
    const withSudo = await asOps('h102');
    assert.equal(withSudo.stdout.trim(), '0', withSudo.stderr);
    const noSudo = await asOps('docker');
    assert.notEqual(noSudo.code, 0);
    assert.match(noSudo.stderr, /password is required/);
  });

  test('a regenerated host key fails strict checking until known_hosts is refreshed', async () => {
    await lab.host('docker').regenerateHostKeys();
    const changed = await ssh('docker', 'true');
    assert.notEqual(changed.code, 0);
    assert.match(changed.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED/);
    await lab.refreshKnownHosts();
    assert.equal((await ssh('docker', 'hostname')).stdout.trim(), 'docker');
  });

  test('reboot: a power cycle keeps the disk, not memory or processes; same address and host key', async () => {
    await assertRebootKeepsDisk(lab, ['h104'], ssh);
    assert.equal((await ssh('h104', 'hostname')).stdout.trim(), 'h104');
  });

  test('down removes every namespace and process, and is safe to repeat', async () => {
    await assertDownLeavesNothing(lab);
  });
});
