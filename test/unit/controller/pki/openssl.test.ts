/**
 * A second opinion from the openssl command line where it is installed: the tests use it, the
 * PKI never does.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import {
  crlDerBase64,
  ensurePki,
  revokeReplaced,
  startCertRotation,
} from '../../../../controller/pki/index.ts';
import { H1, H2, tempDir } from './pki-fixture.ts';

const run = promisify(execFile);
const probe = spawnSync('openssl', ['version'], { encoding: 'utf8' });
const skip = probe.error || probe.status !== 0 ? 'openssl is not installed on this machine' : false;

describe('openssl verifies the PKI’s certificates', { skip }, async () => {
  const dir = await tempDir();
  if (!skip) await ensurePki(dir, [H1, H2]);
  const verify = (purpose: string, ...certs: string[]) =>
    run('openssl', [
      'verify',
      '-CAfile',
      join(dir, 'ca.crt'),
      '-purpose',
      purpose,
      ...certs.map((c) => join(dir, c)),
    ]);

  test('member server and peer certificates for TLS servers', async () => {
    const certs = [
      'members/h1/server.crt',
      'members/h1/peer.crt',
      'members/h2/server.crt',
      'members/h2/peer.crt',
    ];
    const { stdout } = await verify('sslserver', ...certs);
    assert.equal(stdout.match(/: OK$/gm)?.length, 4, stdout);
  });

  test('the client certificate and every member certificate for TLS clients', async () => {
    const certs = ['client.crt', 'members/h1/server.crt', 'members/h1/peer.crt'];
    const { stdout } = await verify('sslclient', ...certs);
    assert.equal(stdout.match(/: OK$/gm)?.length, 3, stdout);
  });

  test('but not the client certificate for a server', async () => {
    await assert.rejects(verify('sslserver', 'client.crt'), /unsuitable certificate purpose/);
  });

  test('the key files are PKCS#8 EC keys openssl reads', async () => {
    const { stdout } = await run('openssl', [
      'pkey',
      '-in',
      join(dir, 'members/h1/server.key'),
      '-noout',
      '-text',
    ]);
    assert.match(stdout, /prime256v1|P-256/);
  });

  test("the CA's revocation list: the certificates a rotation replaced are revoked, the new ones are not", async () => {
    const crlCheck = (cert: string) =>
      run('openssl', [
        'verify',
        '-crl_check',
        '-CAfile',
        join(dir, 'ca.crt'),
        '-CRLfile',
        join(dir, 'ca.crl'),
        cert,
      ]);
    const old = join(dir, 'client-before-rotation.crt');
    await writeFile(old, await readFile(join(dir, 'client.crt')));
    await crlCheck(old);
    await startCertRotation(dir, [H1, H2]);
    await revokeReplaced(dir);
    await assert.rejects(crlCheck(old), /certificate revoked/);
    const { stdout } = await crlCheck(join(dir, 'client.crt'));
    assert.match(stdout, /: OK$/m);
    const der = join(dir, 'crl.der');
    await writeFile(der, Buffer.from(crlDerBase64(await readFile(join(dir, 'ca.crl'), 'utf8')), 'base64'));
    const listed = await run('openssl', ['crl', '-inform', 'DER', '-in', der, '-noout', '-text']);
    assert.match(listed.stdout, /X509v3 CRL Number: *\n *2\n/);
    assert.match(listed.stdout, /X509v3 Authority Key Identifier/);
  });
});
