/**
 * The SSH transport against lab hosts (network namespaces reached only through the inventory's
 * ProxyCommand): exec, host key policies, sudo users, dropped connections, upload, Unix sockets.
 * Needs root (the lab): skipped with the reason otherwise.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConnectionPool, connect, type HostConnection } from '../../controller/connect/index.ts';
import type { HostSpec } from '../../controller/inventory/model.ts';
import { Lab, labUnavailableReason } from '../../lab/lab.ts';
import { expectTskvError } from '../fixtures/expect-tskv-error.ts';

const NAME = 'connect';
const skip = labUnavailableReason();
if (skip) test('SSH transport on the lab', { skip }, () => {});

describe('SSH transport on the lab', { skip: skip ?? false }, () => {
  let lab: Lab;
  let hosts: HostSpec[];
  let tmp: string;
  const withSsh = (host: HostSpec, ssh: Partial<HostSpec['ssh']>): HostSpec => ({
    ...host,
    ssh: { ...host.ssh, ...ssh },
  });
  const env = {}; // no ssh-agent: the inventory's key only
  const fingerprint = async (name: string): Promise<string> =>
    (await lab.host(name).execOk('ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub')).split(' ')[1] ?? '';

  before(async () => {
    lab = await Lab.up({ name: NAME, hosts: ['h102', 'h104'], fresh: true });
    hosts = (await lab.inventory()).hosts;
    tmp = mkdtempSync(join(tmpdir(), 'tskv-connect-'));
  });
  after(async () => {
    await Lab.down(NAME);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('one connection per host through the ProxyCommand, reused for every command', async () => {
    const pool = new ConnectionPool({ env });
    try {
      const outcomes = await pool.connectAll(hosts);
      assert.deepEqual(
        outcomes.map((o) => o.error?.message),
        [undefined, undefined],
      );
      for (const [i, o] of outcomes.entries()) {
        assert.equal((await o.connection!.exec('hostname')).stdout.trim(), hosts[i]?.name);
        assert.equal(await pool.get(o.host), o.connection);
      }
      assert.equal(outcomes[0]?.connection?.viaSudo, false);
    } finally {
      pool.closeAll();
    }
  });

  test('strict: an unknown host key fails naming the host and the fingerprint; accept-new records it', async () => {
    const host = hosts[0]!;
    const knownHosts = join(tmp, 'ssh', 'known_hosts');
    const fp = await fingerprint(host.name);
    const unknown = await expectTskvError(connect(withSsh(host, { knownHosts }), { env }));
    assert.equal(unknown.code, 'E_HOST_KEY_UNKNOWN');
    assert.equal(unknown.host, host.name);
    assert.ok(unknown.message.includes(fp), `${unknown.message} names ${fp}`);
    // Reached through a proxy command, which ssh-keyscan from here cannot use: the line to record.
    assert.match(
      unknown.fix ?? '',
      new RegExp(
        `echo '${host.address.replaceAll('.', '\\.')} ssh-ed25519 \\S+' >> \\S+known_hosts; or .*accept-new`,
      ),
    );

    const recorded: string[] = [];
    const accepted = await connect(withSsh(host, { knownHosts, hostKeyPolicy: 'accept-new' }), {
      env,
      onHostKeyRecorded: (info) => recorded.push(info.fingerprint),
    });
    accepted.close();
    assert.deepEqual(recorded, [fp]);
    assert.match(
      readFileSync(knownHosts, 'utf8'),
      new RegExp(`^${host.address.replaceAll('.', '\\.')} ssh-ed25519 `),
    );
    (await connect(withSsh(host, { knownHosts }), { env })).close();
  });

  test('a changed host key fails naming the expected and the presented fingerprint', async () => {
    const host = hosts[1]!;
    const before = await fingerprint(host.name);
    await lab.host(host.name).regenerateHostKeys();
    try {
      const after = await fingerprint(host.name); // ed25519: known key types are offered in ssh2's order
      const changed = await expectTskvError(connect(withSsh(host, { hostKeyPolicy: 'accept-new' }), { env }));
      assert.equal(changed.code, 'E_HOST_KEY_CHANGED');
      assert.equal(changed.host, host.name);
      assert.match(changed.message, /REMOTE HOST IDENTIFICATION HAS CHANGED/);
      assert.ok(changed.message.includes(before) && changed.message.includes(after), changed.message);
    } finally {
      await lab.refreshKnownHosts();
    }
    (await connect(host, { env })).close();
  });

  test('a non-root user works through passwordless sudo, and fails clearly without it', async () => {
    const host = hosts[0]!;
    await lab.host(host.name).addUser('ops', 'nopasswd');
    await lab.host(host.name).addUser('dev', 'password');
    const ops = await connect(withSsh(host, { user: 'ops' }), { env });
    try {
      assert.equal(ops.viaSudo, true);
      assert.equal((await ops.exec('id -u')).stdout.trim(), '0');
      assert.equal((await ops.exec('id -un', { root: false })).stdout.trim(), 'ops');
      assert.equal((await ops.exec(`printf '%s' "it's $((1+1))"`)).stdout, "it's 2");
      // A listening root-only socket (as the agent's): streamlocal forwarding connects as 'ops'.
      const listener = await ops.spawn(
        `exec python3 -c 'import socket,os,time; p="/run/tskv-root.sock"; s=socket.socket(socket.AF_UNIX); ` +
          `os.path.exists(p) and os.unlink(p); s.bind(p); os.chmod(p, 0o600); s.listen(1); print("ready", flush=True); time.sleep(30)'`,
      );
      try {
        await new Promise<void>((resolve) => listener.stdout.once('data', () => resolve()));
        const denied = await expectTskvError(ops.openUnixSocket('/run/tskv-root.sock'));
        assert.match(denied.message, /as the SSH user, not as root/);
      } finally {
        listener.kill();
      }
      assert.notEqual(await listener.exited, 0, 'kill() stops a process started through sudo');
    } finally {
      ops.close();
    }
    const dev = await expectTskvError(connect(withSsh(host, { user: 'dev' }), { env }));
    assert.equal(dev.code, 'E_SUDO');
    assert.match(
      dev.message,
      new RegExp(`user dev on host ${host.name} needs passwordless sudo \\(sudo -n failed: .+\\)`),
    );
    const devNoRoot = await connect(withSsh(host, { user: 'dev' }), { env, requireRoot: false });
    try {
      assert.equal((await devNoRoot.exec('id -un', { root: false })).stdout.trim(), 'dev');
      assert.equal((await expectTskvError(devNoRoot.exec('id -u'))).code, 'E_SUDO');
    } finally {
      devNoRoot.close();
    }
  });

  test('a dropped connection fails the running command fast, naming host and step', async () => {
    const host = hosts[1]!;
    // Keepalives would notice only after 3 minutes: within the limit below, only the closed connection can tell.
    const conn = await connect(host, { env, keepaliveIntervalMs: 60_000 });
    const running = conn.exec('sleep 61', { step: 'wait for etcd' });
    await lab.host(host.name).waitFor('the command to run', "pgrep -f '^sleep 61$'");
    const started = Date.now();
    assert.ok((await lab.host(host.name).kill('^sshd: root@')) > 0);
    const err = await expectTskvError(running);
    assert.equal(err.code, 'E_SSH_LOST');
    assert.equal(err.host, host.name);
    assert.equal(err.step, 'wait for etcd');
    assert.match(err.message, /connection lost/);
    assert.ok(Date.now() - started < 50_000, 'fails fast, not after keepalives or timeouts');
  });

  test('a stopped sshd is reported as unreachable, naming the host', async () => {
    const host = hosts[1]!;
    await lab.host(host.name).stopSshd();
    try {
      const err = await expectTskvError(connect(host, { env }));
      assert.equal(err.host, host.name);
      assert.match(err.code, /^E_SSH_(UNREACHABLE|TIMEOUT)$/);
    } finally {
      await lab.host(host.name).startSshd();
    }
  });

  describe('on one connection', () => {
    let conn: HostConnection;
    before(async () => {
      conn = await connect(hosts[0]!, { env });
    });
    after(() => conn?.close());

    test('upload: written, verified by sha256 on the host, mode set', async () => {
      const data = randomBytes(5 * 1024 * 1024);
      const sha256 = createHash('sha256').update(data).digest('hex');
      await conn.upload(data, '/opt/tskv-test/bin/agent', { mode: 0o755, sha256 });
      assert.equal(
        await lab
          .host(hosts[0]!.name)
          .execOk('sha256sum < /opt/tskv-test/bin/agent; stat -c %a /opt/tskv-test/bin/agent'),
        `${sha256}  -\n755\n`,
      );
      const bad = await expectTskvError(
        conn.upload(data, '/opt/tskv-test/bin/other', { sha256: '0'.repeat(64) }),
      );
      assert.match(bad.message, /sha256 mismatch/);
      assert.equal((await conn.exec('ls /opt/tskv-test/bin')).stdout, 'agent\n');
    });

    test('openUnixSocket reaches a root-only socket on the host', async () => {
      const server = await conn.spawn(
        `exec python3 -c '
import os, socket
path = "/run/tskv-test.sock"
if os.path.exists(path): os.unlink(path)
s = socket.socket(socket.AF_UNIX); s.bind(path); os.chmod(path, 0o600); s.listen(1)
print("ready", flush=True)
c, _ = s.accept(); c.sendall(c.recv(100).upper()); c.close()
'`,
      );
      try {
        await new Promise<void>((resolve) => server.stdout.once('data', () => resolve()));
        const stream = await conn.openUnixSocket('/run/tskv-test.sock');
        const reply = new Promise<string>((resolve) =>
          stream.once('data', (d: Buffer) => resolve(d.toString())),
        );
        stream.write('ping');
        assert.equal(await reply, 'PING');
        assert.equal(await server.exited, 0);
      } finally {
        server.kill();
      }
    });
  });
});
