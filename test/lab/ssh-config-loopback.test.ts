/**
 * An inventory host reached only through ssh_config (alias → HostName, Port, User, IdentityFile,
 * UserKnownHostsFile, HostKeyAlias) against a real OpenSSH server on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect } from '../../controller/connect/index.ts';
import { parseInventory } from '../../controller/inventory/load.ts';
import { expectTskvError } from '../fixtures/expect-tskv-error.ts';
import { LoopbackSshd, loopbackSshdUnavailable } from '../fixtures/loopback-sshd.ts';

const skip = loopbackSshdUnavailable();

describe('connect through an ssh_config alias', { skip, timeout: 60_000 }, () => {
  let sshd: LoopbackSshd;
  before(async () => {
    sshd = await LoopbackSshd.start();
  });
  after(async () => {
    await sshd?.cleanup();
  });

  /** Writes ssh_config `name` and parses an inventory whose one host is reached by the alias `alias` in it. */
  function aliasInventory(name: string, configText: string, alias: string) {
    const config = join(sshd.dir, name);
    writeFileSync(config, configText);
    const text = `cluster: { token: t }
etcd: { version: 3.5.17 }
ssh: { configFile: ${config} }
hosts:
  a: { address: etcd-a.invalid, ssh: { host: ${alias} } }
`;
    return { inv: parseInventory(text, join(sshd.dir, 'inv.yaml')), config };
  }

  function inventory(hostKeyAlias: string): ReturnType<typeof parseInventory> {
    return aliasInventory(
      'ssh_config',
      `Host etcd-loop
  HostName 127.0.0.1
  Port ${sshd.port}
  User root
  IdentityFile ${sshd.clientKey}
  UserKnownHostsFile ${join(sshd.dir, 'kh-alias')}
  HostKeyAlias ${hostKeyAlias}
`,
      'etcd-loop',
    ).inv;
  }

  test('HostName, Port, User, IdentityFile and the known_hosts entry under HostKeyAlias', async () => {
    const [type, key] = readFileSync(`${sshd.hostKey}.pub`, 'utf8').trim().split(/\s+/);
    writeFileSync(join(sshd.dir, 'kh-alias'), `loop-key-alias ${type} ${key}\n`);
    const spec = inventory('loop-key-alias').hosts[0]!;
    assert.equal(spec.address, 'etcd-a.invalid');
    const conn = await connect(spec);
    try {
      assert.equal((await conn.exec('echo ok')).stdout, 'ok\n');
    } finally {
      conn.close();
    }
  });

  /** A target behind `ProxyJump gate`, the gate resolved from its own Host block (user `gateUser`). */
  function behindGate(gateUser: string): { inv: ReturnType<typeof parseInventory>; config: string } {
    writeFileSync(join(sshd.dir, 'kh-gate'), sshd.knownHostsLine());
    return aliasInventory(
      'ssh_config_gate',
      `Host gate
  HostName 127.0.0.1
  Port ${sshd.port}
  User ${gateUser}
  IdentityFile ${sshd.clientKey}
  UserKnownHostsFile ${join(sshd.dir, 'kh-gate')}
Host etcd-behind
  HostName 127.0.0.1
  Port ${sshd.port}
  User root
  IdentityFile ${sshd.clientKey}
  UserKnownHostsFile ${join(sshd.dir, 'kh-gate')}
  ProxyJump gate
`,
      'etcd-behind',
    );
  }

  test("ProxyJump to an alias: the jump host's HostName, Port, User, key and known_hosts come from its own Host block", async () => {
    const spec = behindGate('root').inv.hosts[0]!;
    assert.equal(spec.ssh.jumpHosts?.[0]?.ssh.hostName, '127.0.0.1');
    const conn = await connect(spec);
    try {
      assert.equal((await conn.exec('echo ok')).stdout, 'ok\n');
    } finally {
      conn.close();
    }
  });

  test('a jump host that refuses the key: the error names it and the ssh_config line of the ProxyJump', async () => {
    const { inv, config } = behindGate('nobody');
    const err = await expectTskvError(connect(inv.hosts[0]!));
    assert.match(
      err.message,
      new RegExp(
        `^jump host gate:${sshd.port} refused user nobody.*\\(ProxyJump gate from ssh_config ${config}:13\\)$`,
        's',
      ),
    );
  });

  test('several IdentityFile lines: a missing one skipped, a key the server refuses, then the one it accepts', async () => {
    writeFileSync(join(sshd.dir, 'kh-keys'), sshd.knownHostsLine());
    const refused = join(sshd.dir, 'refused_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', refused]);
    const spec = aliasInventory(
      'ssh_config_keys',
      `Host etcd-keys
  HostName 127.0.0.1
  Port ${sshd.port}
  User root
  IdentitiesOnly yes
  IdentityFile ${join(sshd.dir, 'absent_key')}
  IdentityFile ${refused}
  IdentityFile ${sshd.clientKey}
  UserKnownHostsFile ${join(sshd.dir, 'kh-keys')}
`,
      'etcd-keys',
    ).inv.hosts[0]!;
    assert.equal(spec.ssh.identityFile, refused);
    assert.deepEqual(spec.ssh.moreIdentityFiles, [sshd.clientKey]);
    assert.equal(spec.ssh.identitiesOnly, true);
    const conn = await connect(spec);
    try {
      assert.equal((await conn.exec('echo ok')).stdout, 'ok\n');
    } finally {
      conn.close();
    }
  });

  test('the key is verified: an alias with no entry is refused', async () => {
    const spec = inventory('other-alias').hosts[0]!;
    const err = await expectTskvError(connect(spec));
    assert.equal(err.code, 'E_HOST_KEY_UNKNOWN');
    assert.match(err.message, /host key of other-alias:22 is not in .*kh-alias/);
  });
});
