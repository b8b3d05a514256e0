import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { resolveAuth } from '../../../../controller/connect/auth.ts';
import type { HostSpec } from '../../../../controller/inventory/model.ts';
import { expectTskvError } from '../../../fixtures/expect-tskv-error.ts';

const dir = mkdtempSync(join(tmpdir(), 'tskv-auth-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function spec(identityFile: string): HostSpec {
  return {
    name: 'h1',
    address: '10.0.0.1',
    dataDir: '/var/lib/etcd/h1.etcd',
    dataDirTemplate: '/var/lib/etcd/{name}.etcd',
    ssh: {
      user: 'root',
      port: 22,
      identityFile,
      knownHosts: join(dir, 'known_hosts'),
      hostKeyPolicy: 'strict',
      proxyCommand: undefined,
      connectTimeoutMs: 1000,
    },
  };
}

describe('resolveAuth: ssh.identityFile', { timeout: 5000 }, () => {
  test('a FIFO, /dev/zero, a file over 1 MiB or a missing file: a clear E_SSH_KEY_FILE, exit 2, at once', async () => {
    const fifo = join(dir, 'fifo_key');
    execFileSync('mkfifo', [fifo]);
    const big = join(dir, 'big_key');
    writeFileSync(big, '');
    truncateSync(big, 1024 * 1024 + 1);
    for (const [file, reason] of [
      [fifo, 'it is a named pipe (FIFO), not a regular file'],
      ['/dev/zero', 'it is a character device (like /dev/zero), not a regular file'],
      [big, 'it is larger than 1 MiB, the most allowed'],
      [join(dir, 'nope'), 'no such file'],
    ]) {
      const err = await expectTskvError(resolveAuth(spec(file!), {}));
      assert.equal(err.code, 'E_SSH_KEY_FILE');
      assert.equal(err.exitCode, 2);
      assert.equal(err.host, 'h1');
      assert.equal(err.message, `cannot read ssh.identityFile ${file}: ${reason}`);
      assert.match(err.fix ?? '', /a regular file of at most 1 MiB/);
    }
  });
});

describe('resolveAuth: ssh_config IdentityAgent', () => {
  test('another socket replaces SSH_AUTH_SOCK; none offers no agent', async () => {
    const key = join(dir, 'agent_case_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const env = { SSH_AUTH_SOCK: '/run/env.sock' };
    const base = spec(key);
    assert.equal((await resolveAuth(base, env)).agent, '/run/env.sock');
    const other = { ...base, ssh: { ...base.ssh, identityAgent: '/run/config.sock' } };
    assert.equal((await resolveAuth(other, env)).agent, '/run/config.sock');
    const none = { ...base, ssh: { ...base.ssh, identityAgent: 'none' } };
    assert.equal((await resolveAuth(none, env)).agent, undefined);
  });
});

describe('resolveAuth: ssh_config IdentitiesOnly and several IdentityFiles', () => {
  const env = { SSH_AUTH_SOCK: '/run/env.sock' };
  const keygen = (name: string, passphrase = ''): string => {
    const key = join(dir, name);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-f', key]);
    return key;
  };

  test("IdentitiesOnly: a usable key file, and the agent's keys are not offered", async () => {
    const base = spec(keygen('only_key'));
    assert.equal(
      (await resolveAuth(base, env)).agent,
      '/run/env.sock',
      'without it the agent is offered too',
    );
    const only = await resolveAuth({ ...base, ssh: { ...base.ssh, identitiesOnly: true } }, env);
    assert.equal(only.agent, undefined);
    assert.deepEqual(only.offered, [base.ssh.identityFile]);
  });

  test('IdentitiesOnly with an encrypted key file: the agent still serves (it may hold that key)', async () => {
    const base = spec(keygen('only_encrypted_key', 'secret phrase'));
    const only = await resolveAuth({ ...base, ssh: { ...base.ssh, identitiesOnly: true } }, env);
    assert.equal(only.agent, '/run/env.sock');
    assert.equal(only.privateKeys.length, 0);
  });

  test('a further key file that cannot be used (encrypted without an agent, not a key) is skipped, as OpenSSH does', async () => {
    const first = keygen('usable_key');
    const locked = keygen('locked_key', 'a phrase');
    const junk = join(dir, 'junk_key');
    writeFileSync(junk, 'not a key\n');
    const base = spec(first);
    const auth = await resolveAuth({ ...base, ssh: { ...base.ssh, moreIdentityFiles: [locked, junk] } }, {});
    assert.equal(auth.privateKeys.length, 1);
    assert.equal(auth.offered[0], first);
    assert.match(auth.offered[1]!, /locked_key \(skipped: .*encrypted with a passphrase\)/);
    assert.match(auth.offered[2]!, /junk_key \(skipped: .*not a usable private key/);
  });

  test('several key files: each is read, in order, to be offered in turn', async () => {
    const first = keygen('first_key');
    const second = keygen('second_key');
    const base = spec(first);
    const auth = await resolveAuth({ ...base, ssh: { ...base.ssh, moreIdentityFiles: [second] } }, {});
    assert.equal(auth.privateKeys.length, 2);
    assert.deepEqual(auth.offered, [first, second]);
  });
});
