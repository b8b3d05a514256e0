import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { verifyHostKey } from '../../../../controller/connect/host-key-check.ts';
import type { HostSpec } from '../../../../controller/inventory/model.ts';
import { expectTskvError } from '../../../fixtures/expect-tskv-error.ts';

const K1 = 'AAAAC3NzaC1lZDI1NTE5AAAAILzNBV8yBlTDFXad2yHYdHsBsF5HNLy96mgRMU3HyTjg';
const K1_FP = 'SHA256:gI9tmdAFmk7FVb+RlooN//6fnomlcJz38GrhH/KPWMg';
const K2 = 'AAAAC3NzaC1lZDI1NTE5AAAAIK0ZFkFkKXT+GOyMg6L+LR/zWmeeaLxJrFKCTtL9vXfG';
const K2_FP = 'SHA256:0JXn+Sg+uHUbYRVlVbRq0o1Jj7vmZeVsYLMpezpMQyA';
const blob = (b64: string): Buffer => Buffer.from(b64, 'base64');

const dir = mkdtempSync(join(tmpdir(), 'tskv-kh-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function spec(knownHosts: string, hostKeyPolicy: 'strict' | 'accept-new', port = 2222): HostSpec {
  return {
    name: 'h1',
    address: '10.0.0.1',
    dataDir: '/var/lib/etcd',
    dataDirTemplate: '/var/lib/etcd',
    ssh: {
      user: 'root',
      port,
      identityFile: undefined,
      knownHosts,
      hostKeyPolicy,
      proxyCommand: undefined,
      connectTimeoutMs: 1000,
    },
  };
}

describe('verifyHostKey', () => {
  test('strict: unknown key names host, fingerprint and the fixes', async () => {
    const err = await expectTskvError(verifyHostKey(spec(join(dir, 'none'), 'strict'), blob(K1)));
    assert.equal(err.code, 'E_HOST_KEY_UNKNOWN');
    assert.equal(err.host, 'h1');
    assert.match(err.message, new RegExp(K1_FP.replace(/[+/]/g, '\\$&')));
    assert.match(err.fix ?? '', /ssh-keyscan -p 2222 10\.0\.0\.1/);
    assert.match(err.fix ?? '', /accept-new/);
  });

  test('strict, a host behind a jump host (ssh-keyscan from here cannot reach it): the fix is the line to record', async () => {
    const behind = spec(join(dir, 'none'), 'strict');
    behind.ssh.proxyJump = 'bastion';
    const err = await expectTskvError(verifyHostKey(behind, blob(K1)));
    assert.equal(err.code, 'E_HOST_KEY_UNKNOWN');
    assert.doesNotMatch(err.fix ?? '', /ssh-keyscan/);
    assert.ok(err.fix?.includes(`echo '[10.0.0.1]:2222 ssh-ed25519 ${K1}' >> ${join(dir, 'none')}`), err.fix);
  });

  test('accept-new: records once under concurrency, creating dir 0700 and file 0600', async () => {
    const file = join(dir, 'new', 'sub', 'known_hosts');
    const recorded: string[] = [];
    const s = spec(file, 'accept-new');
    await Promise.all(
      Array.from({ length: 5 }, () => verifyHostKey(s, blob(K1), (info) => recorded.push(info.fingerprint))),
    );
    assert.deepEqual(recorded, [K1_FP]);
    assert.equal(readFileSync(file, 'utf8'), `[10.0.0.1]:2222 ssh-ed25519 ${K1}\n`);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'new', 'sub')).mode & 0o777, 0o700);
    await verifyHostKey(spec(file, 'strict'), blob(K1));
  });

  test('accept-new: appends after a last line without newline; a changed key still fails with both fingerprints', async () => {
    const file = join(dir, 'kh2');
    writeFileSync(file, `other ssh-ed25519 ${K2}`);
    await verifyHostKey(spec(file, 'accept-new', 22), blob(K1));
    assert.equal(readFileSync(file, 'utf8'), `other ssh-ed25519 ${K2}\n10.0.0.1 ssh-ed25519 ${K1}\n`);
    const err = await expectTskvError(verifyHostKey(spec(file, 'accept-new', 22), blob(K2)));
    assert.equal(err.code, 'E_HOST_KEY_CHANGED');
    assert.match(err.message, /REMOTE HOST IDENTIFICATION HAS CHANGED/);
    assert.ok(err.message.includes(K1_FP) && err.message.includes(K2_FP));
    assert.match(err.fix ?? '', /ssh-keygen -f .* -R '10\.0\.0\.1'/);
  });

  test('a revoked key is refused', async () => {
    const file = join(dir, 'kh3');
    writeFileSync(file, `@revoked * ssh-ed25519 ${K2}\n`);
    const err = await expectTskvError(verifyHostKey(spec(file, 'accept-new'), blob(K2)));
    assert.equal(err.code, 'E_HOST_KEY_REVOKED');
  });
});
