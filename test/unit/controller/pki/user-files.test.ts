/**
 * tls.mode files: the operator's CA, client and member certificates checked before anything is
 * pushed. Each problem found with its message and fix, all of them at once; a good set accepted.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { TskvError } from '../../../../controller/errors.ts';
import { parseInventory } from '../../../../controller/inventory/load.ts';
import type { Inventory } from '../../../../controller/inventory/model.ts';
import {
  type Authority,
  checkUserTls,
  type IssuedPair,
  issueClientCert,
  issueMemberCert,
  type TlsFileProblem,
  userTlsProblems,
} from '../../../../controller/pki/index.ts';
import { generateKeyPair, privateKeyToPem } from '../../../../controller/pki/keys.ts';
import * as x509 from '../../../../controller/pki/x509.ts';
import { DAY_MS, H1, H2, newAuthority, tempDir } from './pki-fixture.ts';

const now = new Date();
const { pair: ca, authority } = await newAuthority(now);

/** Writes a pair as an operator would (key 0600, certificate 0644); returns the two paths. */
async function put(dir: string, stem: string, pair: IssuedPair): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${stem}.crt`);
  const key = join(dir, `${stem}.key`);
  await writeFile(cert, pair.certPem, { mode: 0o644 });
  await writeFile(key, pair.keyPem, { mode: 0o600 });
  return { cert, key };
}

interface Layout {
  dir: string;
  ca: string;
  client: { cert: string; key: string };
  /** Per member: its server pair, and its peer pair when it has its own. */
  members: Record<string, { server: { cert: string; key: string }; peer?: { cert: string; key: string } }>;
}

/** A good set: the CA, the client, and for h1 and h2 one shared server-and-peer certificate. */
async function goodSet(): Promise<Layout> {
  const dir = await tempDir('tskv-user-tls-');
  const caPath = join(dir, 'ca.crt');
  await writeFile(caPath, ca.certPem, { mode: 0o644 });
  const client = await put(dir, 'client', await issueClientCert(authority, now));
  const members: Layout['members'] = {};
  for (const m of [H1, H2]) {
    members[m.name] = { server: await put(dir, m.name, await issueMemberCert(authority, 'server', m, now)) };
  }
  return { dir, ca: caPath, client, members };
}

function inventoryOf(l: Layout): Inventory {
  const host = (name: string, address: string) => {
    const own = l.members[name]!;
    const peer = own.peer ? `, peerCert: ${own.peer.cert}, peerKey: ${own.peer.key}` : '';
    return `  ${name}: { address: ${address}, tls: { cert: ${own.server.cert}, key: ${own.server.key}${peer} } }\n`;
  };
  return parseInventory(
    `cluster: { token: t }\netcd: { version: 3.5.17, source: ./etcd.tar.gz }\nhosts:\n${host('h1', H1.address)}${host('h2', H2.address)}` +
      `tls:\n  mode: files\n  ca: ${l.ca}\n  client: { cert: ${l.client.cert}, key: ${l.client.key} }\n`,
    join(l.dir, 'inventory.yaml'),
  );
}

const problemsOf = async (l: Layout, at = now) => userTlsProblems(inventoryOf(l), at);

/** The one problem there is, checked for its host and file. */
function only(problems: TlsFileProblem[], where: string, file: string): TlsFileProblem {
  assert.equal(problems.length, 1, JSON.stringify(problems, null, 2));
  const [p] = problems;
  assert.equal(p!.where, where);
  assert.equal(p!.file, file);
  assert.ok(p!.message.includes(file), `the message names the file: ${p!.message}`);
  return p!;
}

/** A leaf of `ca` with exactly the extended key usages given. */
async function leafWithUsages(issuer: Authority, usages: x509.ExtendedKeyUsage[]): Promise<IssuedPair> {
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '0a',
    subject: 'CN=narrow',
    issuer: issuer.cert.subjectName,
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    notBefore: new Date(now.getTime() - DAY_MS),
    notAfter: new Date(now.getTime() + 30 * DAY_MS),
    extensions: [
      new x509.ExtendedKeyUsageExtension(usages),
      new x509.SubjectAlternativeNameExtension([
        { type: 'ip', value: H1.address },
        { type: 'ip', value: '127.0.0.1' },
      ]),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: privateKeyToPem(keys.privateKey) };
}

describe('tls.mode files: the operator’s certificates', () => {
  test('a good set has no problem: one certificate serving as server and peer', async () => {
    const l = await goodSet();
    assert.deepEqual(await problemsOf(l), []);
    await checkUserTls(inventoryOf(l), now);
  });

  test('separate peer certificates need only the address; a CA bundle takes certificates of any of its CAs', async () => {
    const l = await goodSet();
    // tskv's own peer certificates carry the address and name, not 127.0.0.1.
    l.members['h1']!.peer = await put(l.dir, 'h1-peer', await issueMemberCert(authority, 'peer', H1, now));
    const { pair: second, authority: secondAuthority } = await newAuthority(now);
    await writeFile(l.ca, `${ca.certPem}${second.certPem}`);
    l.members['h2'] = {
      server: await put(l.dir, 'h2-second', await issueMemberCert(secondAuthority, 'server', H2, now)),
    };
    assert.deepEqual(await problemsOf(l), []);
  });

  test('a certificate of another CA: the chain, with the CA to issue it from', async () => {
    const l = await goodSet();
    const { authority: other } = await newAuthority(now);
    const h2 = await put(l.dir, 'h2-other', await issueMemberCert(other, 'server', H2, now));
    l.members['h2'] = { server: h2 };
    const p = only(await problemsOf(l), 'h2', h2.cert);
    assert.equal(p.host, 'h2');
    assert.match(
      p.message,
      /^server and peer certificate .*h2-other\.crt: the certificate was not issued by the CA/,
    );
    assert.match(p.fix, new RegExp(`issue it from the CA in tls\\.ca \\(${l.ca}\\)`));
  });

  test("SANs that miss the host's address: named, with the subjectAltName to issue", async () => {
    const l = await goodSet();
    // h2's certificate given to h1.
    l.members['h1'] = { server: l.members['h2']!.server };
    const p = only(await problemsOf(l), 'h1', l.members['h1'].server.cert);
    assert.match(p.message, /do not name h1's address 192\.0\.2\.11/);
    assert.match(p.message, /IP 192\.0\.2\.12/);
    assert.equal(
      p.fix,
      'issue it again with every one of these in its subjectAltName: IP:192.0.2.11, IP:127.0.0.1',
    );
  });

  test('a server certificate without 127.0.0.1: tskv and etcd reach the member there', async () => {
    const l = await goodSet();
    const h1 = await put(l.dir, 'h1-peer-only', await issueMemberCert(authority, 'peer', H1, now));
    l.members['h1'] = { server: h1 };
    const p = only(await problemsOf(l), 'h1', h1.cert);
    assert.match(p.message, /do not name the loopback address .* 127\.0\.0\.1/);
  });

  test("a key that is not the certificate's: the key file, and which key to name", async () => {
    const l = await goodSet();
    l.members['h1']!.server.key = l.members['h2']!.server.key;
    const p = only(await problemsOf(l), 'h1', l.members['h2']!.server.key);
    assert.match(
      p.message,
      /^the key .*h2\.key of server and peer certificate .*h1\.crt: the private key is not the certificate's/,
    );
    assert.equal(p.fix, 'hosts.h1.tls.key must name the private key hosts.h1.tls.cert was issued for');
  });

  test('expired, and not yet valid', async () => {
    const l = await goodSet();
    const old = await put(
      l.dir,
      'h1-old',
      await issueMemberCert(authority, 'server', H1, new Date(now.getTime() - 400 * DAY_MS)),
    );
    l.members['h1'] = { server: old };
    let p = only(await problemsOf(l), 'h1', old.cert);
    assert.match(p.message, /the certificate expired on /);
    assert.match(p.fix, /issue a new server and peer certificate/);
    const early = await put(
      l.dir,
      'h1-early',
      await issueMemberCert(authority, 'server', H1, new Date(now.getTime() + 2 * DAY_MS)),
    );
    l.members['h1'] = { server: early };
    p = only(await problemsOf(l), 'h1', early.cert);
    assert.match(p.message, /the certificate is not valid before /);
  });

  test('extended key usage: members need serverAuth and clientAuth, the client clientAuth', async () => {
    const l = await goodSet();
    const serverOnly = await put(
      l.dir,
      'h1-server-only',
      await leafWithUsages(authority, [x509.ExtendedKeyUsage.serverAuth]),
    );
    l.members['h1'] = { server: serverOnly };
    let p = only(await problemsOf(l), 'h1', serverOnly.cert);
    assert.match(p.message, /extended key usage lacks clientAuth/);
    assert.match(p.fix, /extendedKeyUsage serverAuth, clientAuth/);
    // The same certificate as the client's: it lacks clientAuth.
    const fresh = await goodSet();
    fresh.client = serverOnly;
    p = only(await problemsOf(fresh), 'tls.client', fresh.client.cert);
    assert.equal(p.host, undefined);
    assert.equal(p.fix, 'issue it with extendedKeyUsage clientAuth');
  });

  test('tls.ca that is no CA: said once for the CA, and no certificate chains to it', async () => {
    const l = await goodSet();
    l.ca = l.members['h1']!.server.cert;
    const problems = await problemsOf(l);
    assert.equal(problems[0]!.where, 'tls.ca');
    assert.match(problems[0]!.message, /is not a CA \(basicConstraints CA:FALSE\)/);
    assert.match(problems[0]!.fix, /CA:TRUE/);
    // No certificate was issued by h1's (h1's own neither: its issuer is the real CA).
    assert.deepEqual(
      problems.slice(1).map((p) => p.where),
      ['tls.client', 'h1', 'h2'],
    );
  });

  test('files: missing, a key others can read, a symlink; each with its fix', async () => {
    const l = await goodSet();
    await chmod(l.members['h1']!.server.key, 0o644);
    const link = join(l.dir, 'h2-link.crt');
    await symlink(l.members['h2']!.server.cert, link);
    l.members['h2']!.server.cert = link;
    l.client.cert = join(l.dir, 'nowhere.crt');
    const problems = await problemsOf(l);
    const [client, key, linked] = problems;
    assert.equal(problems.length, 3, JSON.stringify(problems, null, 2));
    assert.equal(client!.message, `${l.client.cert} does not exist (tls.client.cert)`);
    assert.match(client!.fix, /correct tls\.client\.cert in the inventory/);
    assert.equal(key!.where, 'h1');
    assert.match(key!.message, /is a private key readable by group or others \(mode 0644\)/);
    assert.equal(key!.fix, `chmod 600 ${l.members['h1']!.server.key} (and consider the key exposed)`);
    assert.equal(linked!.where, 'h2');
    assert.match(linked!.message, /it is a symlink/);
    assert.match(linked!.fix, /name the file itself, not a symlink to it/);
  });

  test('every problem at once, as one E_TLS_FILES (exit 2) naming host, file and fix', async () => {
    const l = await goodSet();
    l.members['h1'] = { server: l.members['h2']!.server }; // the SANs
    await chmod(l.client.key, 0o640); // the mode
    const err = await checkUserTls(inventoryOf(l), now).then(
      () => assert.fail('accepted'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof TskvError);
    assert.equal(err.code, 'E_TLS_FILES');
    assert.equal(err.exitCode, 2);
    assert.match(err.message, /have 2 problems; nothing was changed on any host:/);
    assert.match(
      err.message,
      /\n {2}tls\.client: .*client\.key is a private key readable .*\n {4}fix: chmod 600 /,
    );
    assert.match(
      err.message,
      /\n {2}h1: server and peer certificate .*h2\.crt: .*do not name h1's address .*\n {4}fix: issue it again/,
    );
  });

  test('other modes have nothing to check', async () => {
    const auto = parseInventory(
      'cluster: { token: t }\netcd: { version: 3.5.17, source: ./e.tgz }\nhosts: { h1: { address: 10.0.0.1 } }\ntls: { mode: auto }\n',
      '/nowhere/i.yaml',
    );
    assert.deepEqual(await userTlsProblems(auto), []);
    await checkUserTls(auto);
  });
});

const openssl = spawnSync('openssl', ['version'], { encoding: 'utf8' });
const noOpenssl = openssl.error || openssl.status !== 0 ? 'openssl is not installed on this machine' : false;

describe('tls.mode files: certificates made with openssl (RSA), as an operator would', {
  skip: noOpenssl,
}, () => {
  test('a good RSA set is accepted; a server certificate without the address is not', async () => {
    const dir = await tempDir('tskv-user-tls-openssl-');
    const run = (args: string) => {
      const r = spawnSync('sh', ['-c', args], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    };
    run(
      'openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 30 -subj /CN=my-ca 2>/dev/null',
    );
    const issue = (name: string, ext: string) =>
      run(
        `openssl req -newkey rsa:2048 -nodes -keyout ${name}.key -out ${name}.csr -subj /CN=${name} 2>/dev/null && ` +
          `printf '%s\\n' '${ext}' >${name}.ext && ` +
          `openssl x509 -req -in ${name}.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 10 -extfile ${name}.ext -out ${name}.crt 2>/dev/null && chmod 600 ${name}.key`,
      );
    const member = (address: string) =>
      `subjectAltName=IP:${address},IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth`;
    issue('client', 'extendedKeyUsage=clientAuth');
    issue('h1', member(H1.address));
    issue('h2', member('192.0.2.99'));
    const inv = parseInventory(
      `cluster: { token: t }\netcd: { version: 3.5.17, source: ./e.tgz }\nhosts:\n` +
        `  h1: { address: ${H1.address}, tls: { cert: h1.crt, key: h1.key } }\n` +
        `  h2: { address: ${H2.address}, tls: { cert: h2.crt, key: h2.key } }\n` +
        'tls: { mode: files, ca: ca.crt, client: { cert: client.crt, key: client.key } }\n',
      join(dir, 'inventory.yaml'),
    );
    const problems = await userTlsProblems(inv);
    assert.deepEqual(
      problems.map((p) => [p.where, p.file]),
      [['h2', join(dir, 'h2.crt')]],
    );
    assert.match(problems[0]!.message, /do not name h2's address 192\.0\.2\.12/);
  });
});
