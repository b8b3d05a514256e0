/**
 * An inventory host reached only through ssh_config (alias → HostName, Port, User, IdentityFile,
 * UserKnownHostsFile, HostKeyAlias) against a real OpenSSH server on 127.0.0.1.
 */
import assert from 'node:assert/strict';
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

  function inventory(hostKeyAlias: string): ReturnType<typeof parseInventory> {
    const config = join(sshd.dir, 'ssh_config');
    writeFileSync(
      config,
      `Host etcd-loop
  HostName 127.0.0.1
  Port ${sshd.port}
  User root
  IdentityFile ${sshd.clientKey}
  UserKnownHostsFile ${join(sshd.dir, 'kh-alias')}
  HostKeyAlias ${hostKeyAlias}
`,
    );
    const text = `cluster: { token: t }
etcd: { version: 3.5.17 }
ssh: { configFile: ${config} }
hosts:
  a: { address: etcd-a.invalid, ssh: { host: etcd-loop } }
`;
    return parseInventory(text, join(sshd.dir, 'inv.yaml'));
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

  test('the key is verified: an alias with no entry is refused', async () => {
    const spec = inventory('other-alias').hosts[0]!;
    const err = await expectTskvError(connect(spec));
    assert.equal(err.code, 'E_HOST_KEY_UNKNOWN');
    assert.match(err.message, /host key of other-alias:22 is not in .*kh-alias/);
  });
});
