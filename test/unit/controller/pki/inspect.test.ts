import assert from 'node:assert/strict';
import { X509Certificate as NodeX509 } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  coversAddress,
  daysLeft,
  inspectCert,
  isSignedBy,
  issueClientCert,
  issueMemberCert,
  keyMatchesCert,
  parseCertPem,
  validateMemberCert,
} from '../../../../controller/pki/index.ts';
import * as x509 from '../../../../controller/pki/x509.ts';
import { DAY_MS, H1, H2, HOUR_MS, newAuthority } from './pki-fixture.ts';

const now = new Date();
const { pair: ca, authority } = await newAuthority(now);
const { pair: otherCa, authority: other } = await newAuthority(now);
const server = await issueMemberCert(authority, 'server', H1, now);

describe('inspectCert', () => {
  test('subject, issuer, validity, SANs, CA flag, usages and the SHA-256 fingerprint', () => {
    const info = inspectCert(server.certPem);
    assert.equal(info.subject, 'CN=h1');
    assert.equal(info.issuer, authority.cert.subject);
    assert.match(info.issuer, /^CN=tskv etcd CA [0-9a-f]{8}$/);
    assert.equal(info.isCa, false);
    assert.deepEqual(info.sans, { ips: ['192.0.2.11', '127.0.0.1'], dns: ['h1', 'localhost'] });
    assert.deepEqual(info.extKeyUsage, ['serverAuth', 'clientAuth']);
    assert.equal(info.fingerprintSha256, new NodeX509(server.certPem).fingerprint256);
    assert.equal(info.notAfter.getTime(), new Date(new NodeX509(server.certPem).validTo).getTime());
    assert.ok(info.notBefore < now);
  });

  test('daysLeft counts whole days to notAfter, negative once expired', () => {
    const info = inspectCert(server.certPem);
    assert.equal(daysLeft(info, now), 364); // 365 days less the seconds since issuing
    assert.equal(daysLeft(info, new Date(now.getTime() + 335 * DAY_MS)), 29);
    assert.equal(daysLeft(info, new Date(now.getTime() + 365.5 * DAY_MS)), -1);
  });

  test('a text with no certificate, or a broken one, is refused with a reason', () => {
    assert.throws(() => parseCertPem('hello'), /holds no PEM certificate/);
    const broken = server.certPem.replace(/\n[A-Za-z0-9+/]{20}/, '\nAAAAAAAAAAAAAAAAAAAA');
    assert.throws(() => parseCertPem(broken), /cannot be parsed|no PEM/);
  });

  test('the first certificate of a bundle is the one read', () => {
    assert.equal(inspectCert(`${server.certPem}${ca.certPem}`).subject, 'CN=h1');
  });
});

describe('chains and keys', () => {
  test('isSignedBy: the issuing CA, not another one', async () => {
    assert.equal(await isSignedBy(server.certPem, ca.certPem), true);
    assert.equal(await isSignedBy(server.certPem, otherCa.certPem), false);
  });

  test('isSignedBy: a certificate whose issuer names the CA but another key signed it is refused', async () => {
    // Same subject as the CA, another key: what a forged CA certificate would look like.
    const forged = await issueMemberCert({ cert: authority.cert, keys: other.keys }, 'server', H1, now);
    assert.equal(parseCertPem(forged.certPem).issuer, authority.cert.subject);
    assert.equal(await isSignedBy(forged.certPem, ca.certPem), false);
  });

  test('keyMatchesCert: its own key, not another certificate’s', () => {
    assert.equal(keyMatchesCert(server.keyPem, server.certPem), true);
    assert.equal(keyMatchesCert(ca.keyPem, server.certPem), false);
    assert.throws(() => keyMatchesCert('not a key', server.certPem));
  });
});

describe('validateMemberCert', () => {
  const kinds = async (...args: Parameters<typeof validateMemberCert>) =>
    (await validateMemberCert(...args)).map((p) => p.kind);

  test('a certificate tskv issued for the member has no problem', async () => {
    assert.deepEqual(await validateMemberCert(server.certPem, server.keyPem, ca.certPem, H1, now), []);
    const peer = await issueMemberCert(authority, 'peer', H1, now);
    assert.deepEqual(await validateMemberCert(peer.certPem, peer.keyPem, ca.certPem, H1, now), []);
  });

  test('another CA: the chain', async () => {
    const problems = await validateMemberCert(server.certPem, server.keyPem, otherCa.certPem, H1, now);
    assert.deepEqual(
      problems.map((p) => p.kind),
      ['chain'],
    );
    assert.match(problems[0]!.message, /not issued by the CA/);
  });

  test('another member’s address: the SANs, naming the address', async () => {
    const problems = await validateMemberCert(server.certPem, server.keyPem, ca.certPem, H2, now);
    assert.deepEqual(
      problems.map((p) => p.kind),
      ['san'],
    );
    assert.match(problems[0]!.message, /do not name h2's address 192\.0\.2\.12/);
    assert.match(problems[0]!.message, /IP 192\.0\.2\.11/);
  });

  test('a key of another certificate, or no key at all', async () => {
    assert.deepEqual(await kinds(server.certPem, ca.keyPem, ca.certPem, H1, now), ['key']);
    const problems = await validateMemberCert(server.certPem, 'garbage', ca.certPem, H1, now);
    assert.deepEqual(
      problems.map((p) => p.kind),
      ['key'],
    );
    assert.match(problems[0]!.message, /cannot be read/);
  });

  test('expired, and not yet valid (more than the hour of backdating early)', async () => {
    const later = new Date(now.getTime() + 366 * DAY_MS);
    assert.deepEqual(await kinds(server.certPem, server.keyPem, ca.certPem, H1, later), ['expired']);
    const earlier = new Date(now.getTime() - 2 * HOUR_MS);
    assert.deepEqual(await kinds(server.certPem, server.keyPem, ca.certPem, H1, earlier), [
      'not-yet-valid',
      'not-yet-valid',
    ]);
    // Within the backdating: a host whose clock is 59 minutes behind takes it.
    const behind = new Date(now.getTime() - 59 * 60 * 1000);
    assert.deepEqual(await kinds(server.certPem, server.keyPem, ca.certPem, H1, behind), []);
  });

  test('a client certificate is no member certificate: usage and SANs', async () => {
    const client = await issueClientCert(authority, now);
    const problems = await validateMemberCert(client.certPem, client.keyPem, ca.certPem, H1, now);
    assert.deepEqual(
      problems.map((p) => p.kind),
      ['usage', 'san'],
    );
    assert.match(problems[0]!.message, /lacks serverAuth/);
  });

  test('a member certificate as the CA: not a CA, not the issuer', async () => {
    assert.deepEqual(await kinds(server.certPem, server.keyPem, server.certPem, H1, now), ['chain', 'chain']);
  });

  test('unreadable certificate or CA', async () => {
    assert.deepEqual(await kinds('nope', server.keyPem, ca.certPem, H1, now), ['unreadable']);
    const problems = await validateMemberCert(server.certPem, server.keyPem, '', H1, now);
    assert.match(problems[0]!.message, /^the CA certificate holds no PEM certificate/);
  });
});

describe('coversAddress', () => {
  test('IP SANs by value (any IPv6 spelling), DNS SANs case-insensitively, one-label wildcards', async () => {
    const cert = parseCertPem(server.certPem);
    assert.ok(coversAddress(cert, '192.0.2.11'));
    assert.ok(coversAddress(cert, 'H1'));
    assert.ok(!coversAddress(cert, '192.0.2.1'));
    const v6 = await issueMemberCert(authority, 'peer', { name: 'h6', address: 'fd00::6' }, now);
    assert.ok(coversAddress(parseCertPem(v6.certPem), 'FD00:0:0::6'));
    const dnsCert = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=wildcard',
      keys: await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
        'sign',
        'verify',
      ]),
      extensions: [
        new x509.SubjectAlternativeNameExtension([
          { type: 'dns', value: 'etcd1.example.com' },
          { type: 'dns', value: '*.Example.com' },
        ]),
      ],
    });
    assert.ok(coversAddress(dnsCert, 'etcd1.example.com'));
    assert.ok(coversAddress(dnsCert, 'etcd2.example.com'), 'the wildcard name');
    assert.ok(!coversAddress(dnsCert, 'a.b.example.com'), 'a wildcard is one label');
    assert.ok(!coversAddress(dnsCert, 'example.com'));
  });
});
